"""DuckDB macros that normalise identity and dose fields set-based, mirroring `vaxlink.identity`.

Each macro is the bulk twin of a pure Python function; tests check that both agree.
"""

from __future__ import annotations

import duckdb

MACROS = r"""
CREATE OR REPLACE MACRO vx_fold(s) AS
    lower(strip_accents(replace(replace(nfc_normalize(s), 'đ', 'd'), 'Đ', 'D')));

CREATE OR REPLACE MACRO vx_space(s) AS
    nullif(trim(regexp_replace(nfc_normalize(s), '[\s\x{00a0}]+', ' ', 'g')), '');

CREATE OR REPLACE MACRO vx_name(s) AS
    array_to_string(list_transform(string_split(lower(vx_space(s)), ' '),
                    lambda w: upper(w[1]) || w[2:]), ' ');

CREATE OR REPLACE MACRO vx_digits(s) AS
    regexp_replace(s, '[\s\x{00a0}.\-_/]', '', 'g');

CREATE OR REPLACE MACRO vx_id(s) AS nullif(vx_digits(s), '');

CREATE OR REPLACE MACRO vx_id_kind(i) AS CASE
    WHEN i IS NULL THEN 'empty'
    WHEN NOT regexp_full_match(i, '[0-9]+') THEN 'other'
    WHEN length(i) = 12 THEN 'cccd12'
    WHEN length(i) = 9 THEN 'cmnd9'
    WHEN length(i) IN (10, 11) THEN 'cccd_lost_zeros'
    WHEN length(i) = 8 THEN 'cmnd_lost_zero'
    WHEN length(i) > 12 THEN 'too_long'
    ELSE 'other' END;

CREATE OR REPLACE MACRO vx_sex(s) AS CASE vx_fold(trim(s))
    WHEN 'm' THEN 'M' WHEN 'nam' THEN 'M' WHEN 'male' THEN 'M'
    WHEN 'f' THEN 'F' WHEN 'nu' THEN 'F' WHEN 'female' THEN 'F'
    ELSE NULL END;

CREATE OR REPLACE MACRO vx_phone(s) AS (
    WITH d AS (SELECT regexp_replace(s, '[^0-9]', '', 'g') AS x)
    SELECT CASE
        WHEN x = '' THEN NULL
        WHEN x LIKE '84%' AND length(x) = 11 THEN '0' || x[3:]
        WHEN length(x) = 9 AND x[1] <> '0' THEN '0' || x
        WHEN length(x) = 10 AND x[1] = '0' THEN x
        ELSE NULL END FROM d);

CREATE OR REPLACE MACRO vx_code(s, width) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN regexp_full_match(trim(s), '[0-9]{1,' || width || '}(\.0+)?')
        THEN lpad(regexp_extract(trim(s), '^[0-9]+'), width, '0')
    ELSE NULL END;

-- A date as (iso, precision, error). Day first, as Vietnamese write dates; a year alone stays a year.
CREATE OR REPLACE MACRO vx_date(s) AS (
    WITH t AS (SELECT trim(s) AS v),
    p AS (SELECT v,
        regexp_extract(v, '^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$',
                       ['y', 'm', 'd']) AS ymd,
        regexp_extract(v, '^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$', ['d', 'm', 'y']) AS dmy,
        regexp_extract(v, '^(\d{4})-(\d{1,2})$', ['y', 'm']) AS ym,
        regexp_full_match(v, '\d{4}') AS y_only,
        regexp_full_match(v, '\d{5}(\.0+)?') AS serial
        FROM t),
    q AS (SELECT v, serial, y_only, ym,
        CASE WHEN ymd.y <> '' THEN ymd.y WHEN dmy.y <> '' THEN dmy.y END AS y,
        CASE WHEN ymd.y <> '' THEN ymd.m WHEN dmy.y <> '' THEN dmy.m END AS m,
        CASE WHEN ymd.y <> '' THEN ymd.d WHEN dmy.y <> '' THEN dmy.d END AS d
        FROM p)
    SELECT CASE
        WHEN v IS NULL THEN NULL
        WHEN y IS NOT NULL THEN CASE
            WHEN try_strptime(y || '-' || m || '-' || d, '%Y-%m-%d') IS NULL
                THEN {'iso': NULL, 'precision': NULL, 'error': 'does_not_exist'}
            ELSE {'iso': strftime(try_strptime(y || '-' || m || '-' || d, '%Y-%m-%d'), '%Y-%m-%d'),
                  'precision': 'day', 'error': NULL} END
        WHEN ym.y <> '' THEN CASE
            WHEN TRY_CAST(ym.m AS INTEGER) BETWEEN 1 AND 12
                THEN {'iso': ym.y || '-' || lpad(ym.m, 2, '0'), 'precision': 'month', 'error': NULL}
            ELSE {'iso': NULL, 'precision': NULL, 'error': 'does_not_exist'} END
        WHEN y_only THEN {'iso': v, 'precision': 'year', 'error': NULL}
        WHEN serial THEN {'iso': strftime(DATE '1899-12-30'
                              + COALESCE(TRY_CAST(TRY_CAST(v AS DOUBLE) AS INTEGER), 0), '%Y-%m-%d'),
                          'precision': 'day', 'error': NULL}
        ELSE {'iso': NULL, 'precision': NULL, 'error': 'not_a_date'} END
    FROM q);
"""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the vx_* macros on a DuckDB connection."""
    con.execute(MACROS)

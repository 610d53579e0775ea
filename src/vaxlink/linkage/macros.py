"""DuckDB macros of the linkage (the vx_* ones of `ingest.sqlnorm` are installed beside them).

A Spark adapter registers functions of the same names; each is small enough to port.
"""

from __future__ import annotations

import duckdb

MACROS = r"""
-- Canonical family name (folded): the South's Huỳnh and Võ are the North's Hoàng and Vũ.
CREATE OR REPLACE MACRO lk_family(f) AS CASE f WHEN 'huynh' THEN 'hoang' WHEN 'vo' THEN 'vu' ELSE f END;

-- Every word of a (space-separated) is also a word of b: a dropped middle name.
CREATE OR REPLACE MACRO lk_words_in(a, b) AS
    list_has_all(string_split(coalesce(b, ''), ' '), list_filter(string_split(coalesce(a, ''), ' '), lambda w: w <> ''));

-- Two equal-length digit strings that differ by one swap of neighbouring digits.
CREATE OR REPLACE MACRO lk_transposed(a, b) AS
    length(a) = length(b) AND hamming(a, b) = 2 AND damerau_levenshtein(a, b) = 1;

-- Birth year, sex and birth province a 12-digit ID number encodes (NULL for anything else).
CREATE OR REPLACE MACRO lk_id_year(i) AS CASE WHEN length(i) = 12 AND i[4] IN ('0','1','2','3')
    THEN CASE WHEN i[4] IN ('0','1') THEN 1900 ELSE 2000 END + CAST(i[5:6] AS INTEGER) END;
CREATE OR REPLACE MACRO lk_id_sex(i) AS CASE WHEN length(i) = 12
    THEN CASE WHEN CAST(i[4] AS INTEGER) % 2 = 0 THEN 'M' ELSE 'F' END END;

-- A full date's Julian day number, integer arithmetic only (every engine computes the same
-- number; differences are distances in days). NULL when a part is unknown.
CREATE OR REPLACE MACRO lk_dday(y, m, d) AS CASE WHEN y IS NOT NULL AND m IS NOT NULL AND d IS NOT NULL
    THEN d + (153 * (m + 12 * ((14 - m) // 12) - 3) + 2) // 5 + 365 * (y + 4800 - (14 - m) // 12)
        + (y + 4800 - (14 - m) // 12) // 4 - (y + 4800 - (14 - m) // 12) // 100
        + (y + 4800 - (14 - m) // 12) // 400 - 32045 END;
-- A full date as its eight digits yyyymmdd (for one-digit slips in day, month or year).
CREATE OR REPLACE MACRO lk_dob8(y, m, d) AS CASE WHEN y IS NOT NULL AND m IS NOT NULL AND d IS NOT NULL
    THEN printf('%04d%02d%02d', y, m, d) END;

-- vx_phone without its sub-query (a sub-query macro costs a join per use on millions of rows).
CREATE OR REPLACE MACRO lk_phone_digits(x) AS CASE
    WHEN x = '' THEN NULL
    WHEN x LIKE '84%' AND length(x) = 11 THEN '0' || x[3:]
    WHEN length(x) = 9 AND x[1] <> '0' THEN '0' || x
    WHEN length(x) = 10 AND x[1] = '0' THEN x
    ELSE NULL END;
CREATE OR REPLACE MACRO lk_phone(s) AS lk_phone_digits(regexp_replace(s, '[^0-9]', '', 'g'));
"""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the lk_* macros on a DuckDB connection."""
    con.execute(MACROS)

"""DuckDB macros for the fields that are too many-valued to map one by one (IDs, phones, codes).

`vx_id` and `vx_id_kind` are the set-based twins of `vaxlink.identity.normalise_id` and
`classify_id`; tests check that both agree. Names, dates and sexes are not ported to SQL: they go
through `ingest.dictmap`, which applies the identity functions once per distinct value.
`vx_fold` is a fast approximation of `fold_name` for ad-hoc SQL (search, blocking keys).
"""

from __future__ import annotations

import duckdb

from vaxlink.identity import BIRTH_PROVINCES
from vaxlink.ingest.dictmap import PY_WHITESPACE


def _cls(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):04x}}}" for c in chars)


_WS = _cls(PY_WHITESPACE)
_PROVINCES = ", ".join(f"'{c}'" for c in sorted(BIRTH_PROVINCES))

MACROS = rf"""
CREATE OR REPLACE MACRO vx_fold(s) AS
    nullif(trim(regexp_replace(
        lower(strip_accents(replace(replace(nfc_normalize(s), 'đ', 'd'), 'Đ', 'D'))),
        '[^0-9a-z]+', ' ', 'g')), '');

CREATE OR REPLACE MACRO vx_space(s) AS
    nullif(trim(regexp_replace(nfc_normalize(s), '[{_WS}]+', ' ', 'g')), '');

CREATE OR REPLACE MACRO vx_id_text(s) AS regexp_replace(
    translate(regexp_replace(nfc_normalize(s), '[\x{{00ad}}\x{{200b}}-\x{{200f}}\x{{2060}}\x{{feff}}]', '', 'g'),
              '０１２３４５６７８９', '0123456789'), '^[{_WS}]+|[{_WS}]+$', '', 'g');

CREATE OR REPLACE MACRO vx_id_compact(t) AS
    regexp_replace(t, '[{_WS}.,\-_/''\x{{2010}}-\x{{2015}}\x{{2212}}\x{{00b7}}]+', '', 'g');

CREATE OR REPLACE MACRO vx_id_slow(s) AS CASE
    WHEN regexp_full_match(vx_id_text(s), '[0-9]+\.(0|00|0000+)') THEN regexp_extract(vx_id_text(s), '^[0-9]+')
    WHEN vx_id_compact(vx_id_text(s)) = '' OR regexp_full_match(vx_id_compact(vx_id_text(s)), '[0-9]+')
        THEN nullif(vx_id_compact(vx_id_text(s)), '')
    ELSE regexp_replace(vx_id_text(s), '[{_WS}]+', ' ', 'g') END;

-- Plain ASCII digits with spaces, dots or dashes (nearly every row) take the fast path.
CREATE OR REPLACE MACRO vx_id(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN regexp_full_match(s, '[0-9]+') THEN s
    WHEN regexp_full_match(s, '[0-9][0-9 \-]*[0-9]') THEN regexp_replace(s, '[ \-]', '', 'g')
    ELSE vx_id_slow(s) END;

CREATE OR REPLACE MACRO vx_id_kind(i) AS CASE
    WHEN i IS NULL OR i = '' THEN 'empty'
    WHEN NOT regexp_full_match(i, '[0-9]+') THEN 'invalid'
    WHEN length(i) = 12 THEN 'cccd12'
    WHEN length(i) = 9 THEN 'cmnd9'
    WHEN length(i) > 12 THEN 'too_long'
    WHEN i[1] <> '0' AND length(i) IN (10, 11) AND lpad(i, 12, '0')[1:3] IN ({_PROVINCES})
        THEN 'cccd12_lost_zeros'
    WHEN i[1] <> '0' AND length(i) = 8 THEN 'cmnd9_lost_zeros'
    ELSE 'invalid' END;

CREATE OR REPLACE MACRO vx_phone_digits(x) AS CASE
        WHEN x = '' THEN NULL
        WHEN x LIKE '84%' AND length(x) = 11 THEN '0' || x[3:]
        WHEN length(x) = 9 AND x[1] <> '0' THEN '0' || x
        WHEN length(x) = 10 AND x[1] = '0' THEN x
        ELSE NULL END;

CREATE OR REPLACE MACRO vx_phone(s) AS (
    vx_phone_digits(regexp_replace(s, '[^0-9]', '', 'g')));

CREATE OR REPLACE MACRO vx_code(s, width) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN regexp_full_match(trim(s), '[0-9]{{1,' || width || '}}(\.0+)?')
        THEN lpad(regexp_extract(trim(s), '^[0-9]+'), width, '0')
    ELSE NULL END;
"""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the vx_* macros on a DuckDB connection."""
    con.execute(MACROS)

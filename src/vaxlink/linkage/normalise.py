"""Normalise the registry and the dose records once into the linkage's comparison features.

Names, dates and sexes repeat heavily, so each distinct word, date text and sex text goes through
the pure `vaxlink.identity` functions once (by the import's one distinct-value mapper,
`ingest.dictmap.map_distinct`, run on the linkage engine) and the results are joined back
set-based. IDs, phones and codes use the `vx_*` macros of the import. Both sides get the same
feature columns, so a pair can be compared column by column.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from typing import Any

import pyarrow as pa

from vaxlink.identity import (
    DateParseError,
    fold_name,
    normalise_name,
    parse_date,
)
from vaxlink.ingest.dictmap import (
    PY_WHITESPACE,
    SUSPECT_LEGACY,
    legacy_text,
    map_distinct,
    sex_value,
)
from vaxlink.linkage.engine import Engine

__all__ = [
    "FEATURES",
    "NAME_FEATURES",
    "date_parts",
    "map_dates",
    "map_names",
    "map_sexes",
    "name_features",
    "sex_value",
    "word_forms",
]

_WS = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in PY_WHITESPACE) + "]+"
_NOT_WORD = re.compile(r"[\W_]+")

#: Feature columns both sides share (registry: `_r`, dose: `_l` in a pair).
NAME_FEATURES = ("nm", "nf", "fam", "giv", "giva", "mid", "mida", "ssort")
FEATURES = (*NAME_FEATURES, "dy", "dm", "dd", "sex", "id12", "id9", "ph", "prov", "dist", "ward")


def word_forms(word: str) -> tuple[str, str]:
    """(canonical lower-case tokens, folded tokens) of one written word, aligned token by token."""
    canon: list[str] = []
    folded: list[str] = []
    for token in _NOT_WORD.sub(" ", normalise_name(word).lower()).split():
        f = fold_name(token)
        if f and " " not in f:
            canon.append(token)
            folded.append(f)
    return " ".join(canon), " ".join(folded)


def name_features(raw: str | None) -> dict[str, str | None]:
    """The name features of one written name (the single-row twin of the SQL below)."""
    if raw is None or not raw.strip():
        return dict.fromkeys(NAME_FEATURES)
    nfc = unicodedata.normalize("NFC", raw)
    text = unicodedata.normalize(
        "NFC", legacy_text(raw)[0] if re.search(SUSPECT_LEGACY, nfc) else raw
    )
    canon: list[str] = []
    folded: list[str] = []
    for w in text.split():
        c, f = word_forms(w)
        canon += c.split()
        folded += f.split()
    if not folded:
        return dict.fromkeys(NAME_FEATURES)
    return _parts(canon, folded)


def _family(f: str) -> str:
    return {"huynh": "hoang", "vo": "vu"}.get(f, f)


def _parts(a: list[str], f: list[str]) -> dict[str, str | None]:
    return {
        "nm": " ".join(a),
        "nf": " ".join(f),
        "fam": _family(f[0]) if len(f) >= 2 else None,
        "giv": f[-1],
        "giva": a[-1] if a else None,
        "mid": " ".join(f[1:-1]),
        "mida": " ".join(a[1:-1]),
        "ssort": " ".join(sorted(_family(x) for x in f)),
    }


# array_length, not len (which a Spark translation would take for a string's length), and
# list_element for a subscript (1-based in DuckDB, translated to Spark's element_at).
_NAME_PARTS_SQL = """
    CASE WHEN array_length(f) >= 2 THEN lk_family(list_element(f, 1)) END AS fam,
    list_element(f, array_length(f)) AS giv, list_element(a, array_length(a)) AS giva,
    array_to_string(f[2:array_length(f) - 1], ' ') AS mid,
    array_to_string(a[2:array_length(a) - 1], ' ') AS mida,
    array_to_string(list_sort(list_transform(f, lambda x: lk_family(x))), ' ') AS ssort
"""


def date_parts(raw: str, century_pivot: dt.date | None = None) -> tuple[Any, ...]:
    """(year, month, day, precision, error code) of a written date; error is not_a_date or
    does_not_exist, as the import's checks name them. With `century_pivot`, a two-digit year is
    read as `parse_date` reads it."""
    try:
        d = parse_date(raw, what="date", century_pivot=century_pivot)
    except DateParseError as exc:
        code = "does_not_exist" if "does not exist" in str(exc) else "not_a_date"
        return (None, None, None, None, code)
    return (d.year, d.month, d.day, d.precision, None)


def map_names(engine: Engine, values_sql: str) -> None:
    """Table lk_name(raw, nm, nf, fam, giv, giva, mid, mida, ssort) for each distinct name."""
    engine.execute(
        f"CREATE OR REPLACE TABLE lk_name_raw AS SELECT DISTINCT v AS raw FROM ({values_sql}) t(v) WHERE v IS NOT NULL"
    )
    map_distinct(
        engine,
        "SELECT raw FROM lk_name_raw WHERE regexp_matches(nfc_normalize(raw), $suspect)",
        "lk_name_legacy",
        legacy_text,
        [("text", pa.string()), ("encoding", pa.string())],
        {"suspect": SUSPECT_LEGACY},
    )
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE lk_name_words AS
        SELECT raw, list_element(s, pos) AS word, pos
        FROM (SELECT raw, s, unnest(range(1, array_length(s) + 1)) AS pos
              FROM (SELECT n.raw, list_filter(string_split_regex(
                               nfc_normalize(coalesce(l.text, n.raw)), '{_WS}'),
                           lambda x: x <> '') AS s
                    FROM lk_name_raw n LEFT JOIN lk_name_legacy l ON l.raw = n.raw))
        """
    )
    map_distinct(engine, "SELECT word FROM lk_name_words", "lk_word", word_forms,
                 [("canon", pa.string()), ("folded", pa.string())])  # fmt: skip
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE lk_name AS
        WITH j AS (
            SELECT w.raw,
                   string_agg(m.canon, ' ' ORDER BY w.pos) FILTER (WHERE m.canon <> '') AS nm,
                   string_agg(m.folded, ' ' ORDER BY w.pos) FILTER (WHERE m.folded <> '') AS nf
            FROM lk_name_words w JOIN lk_word m ON m.raw = w.word GROUP BY w.raw),
        s AS (SELECT raw, nm, nf, string_split(nm, ' ') AS a, string_split(nf, ' ') AS f
              FROM j WHERE nf IS NOT NULL)
        SELECT raw, nm, nf, {_NAME_PARTS_SQL} FROM s
        """
    )
    engine.execute(
        "DROP TABLE lk_name_raw; DROP TABLE lk_name_legacy; DROP TABLE lk_name_words; DROP TABLE lk_word"
    )


def map_dates(
    engine: Engine, values_sql: str, out: str, *, century_pivot: dt.date | None = None
) -> None:
    """Table `out`(raw, y, m, d, precision, error) for each distinct date text."""
    parts = date_parts if century_pivot is None else functools.partial(
        date_parts, century_pivot=century_pivot)  # fmt: skip
    map_distinct(engine, values_sql, out, parts,
                 [("y", pa.int32()), ("m", pa.int32()), ("d", pa.int32()),
                  ("precision", pa.string()), ("error", pa.string())])  # fmt: skip


def map_sexes(engine: Engine, values_sql: str) -> None:
    """Table lk_sex(raw, sex) for each distinct sex text."""
    map_distinct(engine, values_sql, "lk_sex", sex_value, [("sex", pa.string())])

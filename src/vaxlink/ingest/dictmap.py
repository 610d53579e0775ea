"""Apply the pure identity functions in bulk by mapping each DISTINCT value once.

Names, dates and sexes repeat heavily (a million dose rows hold a few thousand syllables and a
few tens of thousands of date strings), so the work is proportional to the distinct values, and
the bulk path uses exactly the same rules as the single-row path in `vaxlink.identity`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from vaxlink.identity import (
    DateParseError,
    SexParseError,
    detect_legacy_encoding,
    fold_name,
    legacy_to_unicode,
    normalise_name,
    parse_date,
    parse_sex,
)

#: The characters Python's str.split() treats as white space, for splitting names the same way.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_VIETNAMESE = (
    "a-zA-Z0-9àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)
#: A name with a character outside Vietnamese letters, digits, spaces and '-.' may be TCVN3/VNI.
SUSPECT_LEGACY = f"[^{_VIETNAMESE}\\s'.\\-]"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while hundreds of thousands of values are made.

    They are strings, tuples and lists that form no cycles, so nothing waits for the collector;
    left on, it walks them again and again as they pile up (a fifth of the time of the names).
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _sql(text: str) -> str:
    return text.replace("'", "''")


def map_distinct(
    con: duckdb.DuckDBPyConnection,
    values_sql: str,
    out: str,
    fn: Callable[[str], tuple[Any, ...]],
    schema: list[tuple[str, pa.DataType]],
) -> None:
    """Create table `out` (raw, *schema) holding fn(raw) for each distinct non-null raw value."""
    with _collector_paused():
        raws = [
            r[0]
            for r in con.sql(
                f"SELECT DISTINCT v FROM ({values_sql}) t(v) WHERE v IS NOT NULL"
            ).fetchall()
        ]
        results = [fn(r) for r in raws]
        cols = {"raw": pa.array(raws, pa.string())}
        for i, (name, typ) in enumerate(schema):
            cols[name] = pa.array([res[i] for res in results], typ)
    con.register(f"{out}_in", pa.table(cols))
    con.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT * FROM {out}_in")
    con.unregister(f"{out}_in")


def _date(what: str) -> Callable[[str], tuple[Any, ...]]:
    def parse(raw: str) -> tuple[Any, ...]:
        try:
            d = parse_date(raw, what=what)
        except DateParseError as exc:
            return (None, None, str(exc))
        return (d.iso(), d.precision, None)

    return parse


def map_dates(con: duckdb.DuckDBPyConnection, values_sql: str, out: str, what: str) -> None:
    """Table `out`(raw, iso, precision, error) from `vaxlink.identity.parse_date`."""
    map_distinct(con, values_sql, out, _date(what),
                 [("iso", pa.string()), ("precision", pa.string()), ("error", pa.string())])  # fmt: skip


def _sex(raw: str) -> tuple[Any, ...]:
    try:
        return (parse_sex(raw),)
    except SexParseError:
        return (None,)


def map_sexes(con: duckdb.DuckDBPyConnection, values_sql: str, out: str) -> None:
    """Table `out`(raw, sex) from `vaxlink.identity.parse_sex` (unrecognised → NULL)."""
    map_distinct(con, values_sql, out, _sex, [("sex", pa.string())])


def _legacy(raw: str) -> tuple[Any, ...]:
    enc = detect_legacy_encoding(raw)
    return (legacy_to_unicode(raw, enc) if enc else raw, enc)


def _syllable(raw: str) -> tuple[Any, ...]:
    return (normalise_name(raw), fold_name(raw))


def map_names(con: duckdb.DuckDBPyConnection, values_sql: str, out: str) -> None:
    """Table `out`(raw, full_name, name_folded, legacy) with identity's normalise/fold rules.

    Legacy TCVN3/VNI text is converted first (only names with a character no Vietnamese name has
    are examined); then each distinct syllable is normalised and folded once and names are
    reassembled in order, which equals applying the functions to the whole name. The names are
    distinct values (a few hundred thousand in a million rows), reassembled in one Python loop:
    cheaper than an ordered string aggregate over every syllable in SQL.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {out}_raw AS "
        f"SELECT DISTINCT v AS raw FROM ({values_sql}) t(v) WHERE v IS NOT NULL"
    )
    suspects = con.sql(
        f"SELECT raw FROM {out}_raw WHERE regexp_matches(nfc_normalize(raw), '{_sql(SUSPECT_LEGACY)}')"
    ).fetchall()
    legacy = {raw: _legacy(raw) for (raw,) in suspects}
    with _collector_paused():
        raws = [r[0] for r in con.sql(f"SELECT raw FROM {out}_raw").fetchall()]
        con.execute(f"DROP TABLE {out}_raw")
        syllables: dict[str, tuple[str, str]] = {}
        shown: list[str | None] = []
        folded: list[str | None] = []
        encodings: list[str | None] = []
        for raw in raws:
            text, encoding = legacy.get(raw, (raw, None))
            display_parts, folded_parts = [], []
            # str.split() splits at exactly the PY_WHITESPACE characters, as the identity functions do.
            for word in text.split():
                pair = syllables.get(word)
                if pair is None:
                    pair = syllables[word] = _syllable(word)
                if pair[0]:
                    display_parts.append(pair[0])
                if pair[1]:
                    folded_parts.append(pair[1])
            shown.append(" ".join(display_parts) or None)
            folded.append(" ".join(folded_parts) or None)
            encodings.append(encoding)
        table = pa.table(
            {
                "raw": pa.array(raws, pa.string()),
                "full_name": pa.array(shown, pa.string()),
                "name_folded": pa.array(folded, pa.string()),
                "legacy": pa.array(encodings, pa.string()),
            }
        )
    con.register(f"{out}_in", table)
    con.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT * FROM {out}_in")
    con.unregister(f"{out}_in")

"""Apply the pure identity functions in bulk by mapping each DISTINCT value once.

Names, dates and sexes repeat heavily (a million dose rows hold a few thousand syllables and a
few tens of thousands of date strings), so the work is proportional to the distinct values, and
the bulk path uses exactly the same rules as the single-row path in `vaxlink.identity`.

`map_distinct` is the one distinct-value mapper: the import runs it on its DuckDB connection,
the linkage (`linkage.normalise`) on its engine (DuckDB or Spark); both give it SQL that yields
the values, and get back a table keyed by the raw value to join on, set-based.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

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


class ArrowTables(Protocol):
    """Where the mapper reads the values and writes its table: a linkage engine has these two."""

    def to_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a query and return its whole result as Arrow."""

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as a (materialised) table `name`."""


class _DuckTables:
    """A plain DuckDB connection (the import's) seen as `ArrowTables`."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def to_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        rel = self.con.sql(sql, params=dict(params)) if params else self.con.sql(sql)
        return rel.to_arrow_table()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(f"{name}_in", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_in")
        finally:
            self.con.unregister(f"{name}_in")


def map_distinct(
    target: duckdb.DuckDBPyConnection | ArrowTables,
    values_sql: str,
    out: str,
    fn: Callable[[str], tuple[Any, ...]],
    schema: list[tuple[str, pa.DataType]],
    params: Mapping[str, Any] | None = None,
) -> None:
    """Create table `out` (raw, *schema) holding fn(raw) once per distinct non-null value that
    `values_sql` (one column, bound `params`) yields; callers join it back on `raw`."""
    tables = _DuckTables(target) if isinstance(target, duckdb.DuckDBPyConnection) else target
    distinct = f"SELECT DISTINCT v FROM ({values_sql}) t(v) WHERE v IS NOT NULL"
    column = tables.to_arrow(distinct, params).column(0)
    with _collector_paused():
        results = [fn(r) for r in column.to_pylist()]
        cols = {"raw": column.combine_chunks().cast(pa.string())}
        for i, (name, typ) in enumerate(schema):
            cols[name] = pa.array([res[i] for res in results], typ)
    tables.register_arrow(out, pa.table(cols))


def _date(what: str, century_pivot: dt.date | None = None) -> Callable[[str], tuple[Any, ...]]:
    def parse(raw: str) -> tuple[Any, ...]:
        try:
            d = parse_date(raw, what=what, century_pivot=century_pivot)
        except DateParseError as exc:
            return (None, None, str(exc))
        return (d.iso(), d.precision, None)

    return parse


def map_dates(
    con: duckdb.DuckDBPyConnection, values_sql: str, out: str, what: str, *,
    century_pivot: dt.date | None = None,
) -> None:  # fmt: skip
    """Table `out`(raw, iso, precision, error) from `vaxlink.identity.parse_date` (a two-digit
    year read with `century_pivot` when given, refused otherwise)."""
    map_distinct(con, values_sql, out, _date(what, century_pivot),
                 [("iso", pa.string()), ("precision", pa.string()), ("error", pa.string())])  # fmt: skip


def sex_value(raw: str) -> tuple[Any, ...]:
    """('M'|'F'|None,) of a written sex, by `vaxlink.identity.parse_sex`."""
    try:
        return (parse_sex(raw),)
    except SexParseError:
        return (None,)


def map_sexes(con: duckdb.DuckDBPyConnection, values_sql: str, out: str) -> None:
    """Table `out`(raw, sex) from `vaxlink.identity.parse_sex` (unrecognised → NULL)."""
    map_distinct(con, values_sql, out, sex_value, [("sex", pa.string())])


def legacy_text(raw: str) -> tuple[Any, ...]:
    """(Unicode text, legacy encoding or None) of a name that may be written in TCVN3/VNI."""
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
    legacy = {raw: legacy_text(raw) for (raw,) in suspects}
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

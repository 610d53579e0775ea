"""The one distinct-value mapper: each distinct value once, the same table on the import's DuckDB
connection and on a linkage engine."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pyarrow as pa

from vaxlink.ingest import dictmap
from vaxlink.linkage.engine import DuckDBEngine

SCHEMA = [("upper", pa.string()), ("size", pa.int32())]


def _values(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE src AS SELECT * FROM (VALUES ('a'), ('b'), ('a'), (NULL), ('ç'), "
                "('b'), ('a')) t(v)")  # fmt: skip


def _counting() -> tuple[Counter[str], Any]:
    calls: Counter[str] = Counter()

    def fn(raw: str) -> tuple[Any, ...]:
        calls[raw] += 1
        return (raw.upper(), len(raw))

    return calls, fn


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.sql(f"SELECT raw, upper, size FROM {table} ORDER BY raw").fetchall()


def test_each_distinct_value_is_mapped_once_on_either_target() -> None:
    con = duckdb.connect()
    _values(con)
    calls, fn = _counting()
    dictmap.map_distinct(con, "SELECT v FROM src", "m_import", fn, SCHEMA)
    assert calls == Counter({"a": 1, "b": 1, "ç": 1})
    engine = DuckDBEngine(con)
    calls2, fn2 = _counting()
    dictmap.map_distinct(engine, "SELECT v FROM src WHERE v <> $skip", "m_link", fn2, SCHEMA,
                         {"skip": "b"})  # fmt: skip
    assert calls2 == Counter({"a": 1, "ç": 1})
    assert _rows(con, "m_import") == [("a", "A", 1), ("b", "B", 1), ("ç", "Ç", 1)]
    assert _rows(con, "m_link") == [("a", "A", 1), ("ç", "Ç", 1)]


def test_no_values_give_an_empty_table_with_the_columns() -> None:
    con = duckdb.connect()
    _values(con)
    dictmap.map_distinct(con, "SELECT v FROM src WHERE false", "m", _counting()[1], SCHEMA)
    assert [d[0] for d in con.sql("SELECT * FROM m").description] == ["raw", "upper", "size"]
    assert con.sql("SELECT count(*) FROM m").fetchall() == [(0,)]

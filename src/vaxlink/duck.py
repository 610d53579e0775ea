"""DuckDB connections for bulk work, with the memory cap and thread count from Settings."""

from __future__ import annotations

import tempfile
from typing import Any

import duckdb

from vaxlink.settings import Settings


def connect(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to a temporary directory instead of exceeding its cap."""
    settings = settings or Settings()
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{settings.duckdb_memory_limit}'")
    con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/vaxlink-duckdb'")
    con.execute("SET preserve_insertion_order = true")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The single value a query returns (the whole result is consumed, as DuckDB 2 requires)."""
    rows = con.sql(sql, params=params).fetchall() if params else con.sql(sql).fetchall()
    return rows[0][0] if rows else None

"""Rows for store tests: fill the NOT NULL columns a test does not care about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, Integer, String, Text, event

from vaxlink.db import Base


def _placeholder(column: Any, now: dt.datetime) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, DateTime):
        return now
    if isinstance(kind, Date):
        return dt.date(2021, 1, 1)
    if isinstance(kind, String | Text):
        return "x"
    raise TypeError(f"no placeholder for {column}")


def complete(model: type[Base], values: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    """`values` plus a placeholder for every other NOT NULL column without a default."""
    out = dict(values)
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        if column.name in out or column.nullable or column.default is not None:
            continue
        if column.primary_key and isinstance(column.type, Integer):
            continue
        out[column.name] = _placeholder(column, now)
    return out


@contextmanager
def captured_queries(target: Any, keep: Callable[[str], bool]) -> Iterator[list[tuple[str, Any]]]:
    """(statement, parameters) of each query sent through `target` (an engine or a connection)
    that `keep` accepts, while the block runs."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if keep(statement):
            sent.append((statement, parameters))

    event.listen(target, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", capture)


def plan(conn: Connection, statement: str, parameters: Any) -> str:
    """The plan the store chooses for a query exactly as it was sent, as one line of text.

    On PostgreSQL sequential scans are priced out (inside the caller's transaction), so that a
    test's few rows still show which index the planner can use.
    """
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return " ".join(str(r[-1]) for r in rows)
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return " ".join(str(r[0]) for r in rows)

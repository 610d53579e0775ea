"""Rows for store tests: fill the NOT NULL columns a test does not care about."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, Text

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

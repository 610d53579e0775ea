"""Focal points inside and outside a commune for the access-matrix test (tests/auth)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.facilities import directory


def _point(s: Session, ward: str) -> int:
    row = directory.add(s, directory.FocalPointInput(
        unit=f"ward:{ward}", full_name="Nguyễn Thị Đầu Mối", organisation="Trạm y tế xã",
    ), now=dt.datetime.now(dt.UTC))  # fmt: skip
    return row.id


def _edit(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    form = {"full_name": "Trần Văn Sửa", "organisation": "Công an xã"}
    return ({"fp_id": _point(s, inside), "data": {**form, "unit": f"ward:{inside}"}},
            {"fp_id": _point(s, outside), "data": {**form, "unit": f"ward:{outside}"}})  # fmt: skip


def _action(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"fp_id": _point(s, inside), "action": "deactivate"},
            {"fp_id": _point(s, outside), "action": "deactivate"})  # fmt: skip


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "POST /admin/focal-points/{fp_id}": _edit,
    "POST /admin/focal-points/{fp_id}/{action}": _action,
}
SKIP: dict[str, str] = {}

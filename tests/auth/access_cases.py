"""Objects inside and outside a commune for the access-matrix test: staff accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.auth.models import User

_N = count(1)


def _user(s: Session, ward: str) -> int:
    now = dt.datetime.now(dt.UTC)
    user = User(username=f"matrix.{next(_N)}.{ward}", password_hash="x", role="health_station",
                unit_level="ward", unit_code=ward, active=True, created_at=now,
                password_changed_at=now)  # fmt: skip
    s.add(user)
    s.flush()
    return user.id


def _action(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"user_id": _user(s, inside), "action": "enable"},
            {"user_id": _user(s, outside), "action": "enable"})  # fmt: skip


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "POST /admin/accounts/{user_id}/{action}": _action,
}

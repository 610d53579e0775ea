"""Objects inside and outside a commune for the access-matrix test (tests/auth)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.feedback.models import Ticket
from vaxlink.geo.index import UnitIndex


def _ticket(s: Session, ward: str, kind: str = "dose_details") -> int:
    _, province, district, _ = (k.code for k in UnitIndex.for_version().path(f"ward:{ward}"))
    now = dt.datetime.now(dt.UTC)
    ticket = Ticket(citizen_id="001085012345", kind=kind, status="new",
                    description="Ngày tiêm mũi 2 bị sai.", created_at=now,
                    due_at=now + dt.timedelta(days=7), province_code=province,
                    district_code=district, ward_code=ward)  # fmt: skip
    s.add(ticket)
    s.flush()
    return ticket.id


def _view(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"ticket_id": _ticket(s, inside)}, {"ticket_id": _ticket(s, outside)}


def _move(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"to": "assigned"}
    return ({"ticket_id": _ticket(s, inside), "data": data},
            {"ticket_id": _ticket(s, outside), "data": data})  # fmt: skip


def _police_view(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"ticket_id": _ticket(s, inside, "personal_info")},
            {"ticket_id": _ticket(s, outside, "personal_info")})  # fmt: skip


def _police_move(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"to": "assigned"}
    return ({"ticket_id": _ticket(s, inside, "personal_info"), "data": data},
            {"ticket_id": _ticket(s, outside, "personal_info"), "data": data})  # fmt: skip


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "/staff/tickets/{ticket_id}": _view,
    "POST /staff/tickets/{ticket_id}/move": _move,
    "/police/tickets/{ticket_id}": _police_view,
    "POST /police/tickets/{ticket_id}/move": _police_move,
}
SKIP: dict[str, str] = {
    "POST /staff/tickets/{ticket_id}/resolve": "inside needs signing keys and an approvable "
    "record; same scope check as the move route (_scoped_ticket); the outside refusal is tested "
    "in tests/feedback/test_pages.py",
    "/staff/tickets/{ticket_id}/attachments/{attachment_id}": "inside needs a stored file under "
    "the app's data_dir; same scope check (_scoped_ticket); refusal tested in "
    "tests/feedback/test_pages.py",
    "POST /police/tickets/{ticket_id}/resolve": "same scope and queue check as the police move "
    "route (_scoped_ticket); the police resolve is tested in tests/feedback/test_queues.py",
    "/police/tickets/{ticket_id}/attachments/{attachment_id}": "same scope and queue check "
    "(_scoped_ticket) as the police view route",
}

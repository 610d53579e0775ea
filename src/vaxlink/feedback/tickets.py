"""The life cycle of a citizen's report: kinds, statuses, ONE transition table, deadlines, escalation.

new → assigned → in_progress → resolved | rejected. Every move writes an event (who, when, from,
to, why), goes through the audit log, and queues an SMS to the phone on record telling the citizen
the new status (the message carries the ticket number and status only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Principal
from vaxlink.feedback.errors import TicketInvalid, TicketNotFound, TicketTransitionInvalid
from vaxlink.feedback.models import Ticket, TicketEvent


class TicketKind(StrEnum):
    """What the citizen says is wrong."""

    PERSONAL_INFO = "personal_info"  # sai thông tin cá nhân
    MISSING_DOSE = "missing_dose"  # thiếu mũi tiêm
    DOSE_DETAILS = "dose_details"  # sai thông tin mũi tiêm
    CERTIFICATE = "certificate"  # vấn đề chứng nhận


class TicketStatus(StrEnum):
    """Where a report stands; moves only along `TRANSITIONS`."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"


S = TicketStatus
#: The one transition table.
TRANSITIONS: Final[dict[TicketStatus, frozenset[TicketStatus]]] = {
    S.NEW: frozenset({S.ASSIGNED, S.REJECTED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN: Final = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS})


class RejectReason(StrEnum):
    """The fixed reasons a station may give for not acting on a report."""

    DUPLICATE = "duplicate"  # trùng phản ánh khác
    NOT_OUR_AREA = "not_our_area"  # không thuộc địa bàn
    RECORD_CORRECT = "record_correct"  # dữ liệu đã đúng
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"  # không đủ căn cứ
    NOT_VACCINATED_HERE = "not_vaccinated_here"  # không tiêm tại đây


@dataclass
class Notice:
    """An SMS to send once the transaction has committed."""

    phone: str
    text: str


@dataclass
class Outbox:
    """SMS queued during a unit of work, sent by the caller after commit."""

    notices: list[Notice] = field(default_factory=list)

    def add(self, phone: str | None, text: str) -> None:
        """Queue a message (people without a phone on record get none)."""
        if phone:
            self.notices.append(Notice(phone, text))


STATUS_SMS: Final[dict[TicketStatus, str]] = {
    S.NEW: "da tiep nhan",
    S.ASSIGNED: "da giao can bo xu ly",
    S.IN_PROGRESS: "dang xu ly",
    S.RESOLVED: "da giai quyet",
    S.REJECTED: "khong duoc chap nhan",
}


def status_sms(ticket_id: int, status: TicketStatus, *, escalated: bool = False) -> str:
    """The text sent on a status change (ASCII: one SMS segment; no personal data)."""
    what = "da chuyen len Trung tam Y te huyen" if escalated else STATUS_SMS[status]
    return (
        f"VAXLINK: Phan anh #{ticket_id} {what}. Tra cuu tai cong thong tin tiem chung. "
        f"Report #{ticket_id}: {'escalated' if escalated else status.value.replace('_', ' ')}."
    )


def _event(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    *,
    at: datetime,
    principal: Principal | None,
    actor: str,
    note: str | None,
    from_status: str | None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=at,
            from_status=from_status,
            to_status=to.value,
            actor_user_id=principal.user_id if principal else None,
            actor=actor,
            note=note,
        )
    )


def open_ticket(
    session: Session,
    *,
    citizen_id: str,
    kind: TicketKind,
    description: str,
    province_code: str,
    district_code: str | None,
    ward_code: str | None,
    facility_code: str | None,
    dose_id: int | None,
    now: datetime,
    due_in: timedelta,
    phone: str | None,
    outbox: Outbox,
) -> Ticket:
    """File a report from the citizen; it starts `new` with its deadline."""
    text = description.strip()
    if not 10 <= len(text) <= 2000:
        raise TicketInvalid(
            "describe the problem in 10 to 2000 characters", key="feedback.err.description"
        )
    if not ward_code and not district_code:
        raise TicketInvalid(
            "choose the health station that should handle the report", key="feedback.err.station"
        )
    ticket = Ticket(
        citizen_id=citizen_id,
        kind=kind.value,
        status=S.NEW.value,
        description=text,
        dose_id=dose_id,
        created_at=now,
        due_at=now + due_in,
        province_code=province_code,
        district_code=district_code,
        ward_code=ward_code,
        facility_code=facility_code,
    )
    session.add(ticket)
    session.flush()
    _event(session, ticket, S.NEW, at=now, principal=None, actor="citizen", note=None,
           from_status=None)  # fmt: skip
    auth.append(
        session,
        actor=None,
        action="feedback.ticket.create",
        object_type="feedback_ticket",
        object_id=str(ticket.id),
        unit=ward_code or district_code,
        detail={"kind": kind.value, "citizen_ticket": True, "dose_id": dose_id}, at=now
    )
    outbox.add(phone, status_sms(ticket.id, S.NEW))
    return ticket


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """One ticket by id."""
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    ticket = session.scalar(stmt.with_for_update() if for_update else stmt)
    if ticket is None:
        raise TicketNotFound(f"there is no report #{ticket_id}")
    return ticket


def move(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    to: TicketStatus,
    *,
    now: datetime,
    phone: str | None,
    outbox: Outbox,
    note: str | None = None,
    reason: RejectReason | None = None,
    answer: str | None = None,
) -> Ticket:
    """Move a ticket along the transition table (the caller has checked role and scope)."""
    current = TicketStatus(ticket.status)
    if to not in TRANSITIONS[current]:
        raise TicketTransitionInvalid(
            f"report #{ticket.id} is {current.value}; it cannot become {to.value}"
        )
    if to is S.REJECTED and reason is None:
        raise TicketInvalid("choose why the report is rejected")
    if to in (S.RESOLVED, S.REJECTED) and not (answer or "").strip():
        raise TicketInvalid("write the answer the citizen will read")
    ticket.status = to.value
    if to is S.ASSIGNED:
        ticket.assigned_at, ticket.assigned_to = now, principal.user_id
    elif to is S.IN_PROGRESS:
        ticket.started_at = now
    else:
        ticket.resolved_at = now
        ticket.answer = (answer or "").strip()
        ticket.reject_reason = reason.value if reason else None
    session.flush()
    _event(session, ticket, to, at=now, principal=principal, actor=principal.role.value,
           note=note, from_status=current.value)  # fmt: skip
    auth.append(
        session,
        actor=principal,
        action=f"feedback.ticket.{to.value}",
        object_type="feedback_ticket",
        object_id=str(ticket.id),
        unit=ticket.ward_code or ticket.district_code,
        detail={"from": current.value, "to": to.value, "reason": reason.value if reason else None}, at=now
    )
    outbox.add(phone, status_sms(ticket.id, to))
    return ticket


@dataclass(frozen=True)
class Escalated:
    """A ticket the escalation job handed to the district health centre."""

    ticket_id: int
    citizen_id: str
    district_code: str | None


def escalate_overdue(session: Session, *, now: datetime) -> list[Escalated]:
    """Mark every open ticket past its deadline and not yet escalated as escalated (set-based)."""
    stmt = (
        update(Ticket)
        .where(
            Ticket.status.in_([s.value for s in OPEN]),
            Ticket.due_at < now,
            Ticket.escalated_at.is_(None),
        )
        .values(escalated_at=now, version=Ticket.version + 1)
        .returning(Ticket.id, Ticket.citizen_id, Ticket.district_code)
        .execution_options(synchronize_session=False)
    )
    rows = [Escalated(i, c, d) for i, c, d in session.execute(stmt)]
    if rows:
        session.add_all(
            TicketEvent(
                ticket_id=r.ticket_id,
                at=now,
                from_status=None,
                to_status="escalated",
                actor_user_id=None,
                actor="system",
                note="overdue",
            )
            for r in rows
        )
        for r in rows:
            auth.append(session, actor=None, action="feedback.ticket.escalate",
                         object_type="feedback_ticket", object_id=str(r.ticket_id),
                         unit=r.district_code, detail={"reason": "overdue"}, at=now)  # fmt: skip
        session.flush()
    return rows

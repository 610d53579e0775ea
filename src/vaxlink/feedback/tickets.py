"""The life cycle of a citizen's report: kinds, statuses, ONE transition table, deadlines, escalation.

new → assigned → in_progress → resolved | rejected; a fix whose certificate waits for a site's
signature goes in_progress → awaiting_certificate → resolved once the new certificate exists (or
back to in_progress when the site refuses the correction). Every move writes an event (who, when,
from, to, why), goes through the audit log, and queues an SMS to the phone on record telling the
citizen the new status (the message carries the ticket number and status only).
"""

from __future__ import annotations

from collections.abc import Collection
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


#: Whose queue a report joins (the seeds, 2665/SYT-NVY: personal data is verified and corrected
#: by the commune police; vaccination facts by the health station). Deadlines and escalation are
#: the same for both queues.
POLICE_KINDS: Final = (TicketKind.PERSONAL_INFO.value,)
STATION_KINDS: Final = tuple(k.value for k in TicketKind if k.value not in POLICE_KINDS)


class TicketStatus(StrEnum):
    """Where a report stands; moves only along `TRANSITIONS`."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    #: The record is fixed; the new certificate waits for a vaccination site's signature.
    AWAITING_CERTIFICATE = "awaiting_certificate"
    RESOLVED = "resolved"
    REJECTED = "rejected"


S = TicketStatus
#: The one transition table.
TRANSITIONS: Final[dict[TicketStatus, frozenset[TicketStatus]]] = {
    S.NEW: frozenset({S.ASSIGNED, S.REJECTED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.REJECTED, S.AWAITING_CERTIFICATE}),
    S.AWAITING_CERTIFICATE: frozenset({S.RESOLVED, S.IN_PROGRESS}),
    S.RESOLVED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN: Final = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_CERTIFICATE})


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


def status_sms(
    ticket_id: int, status: TicketStatus, *, escalated: bool = False, new_certificate: bool = False
) -> str:
    """The text sent on a status change (ASCII: one SMS segment; no personal data), from the
    catalogue's `feedback.sms.status*` texts; a new certificate is said on resolving only when
    one was issued for the report."""
    from vaxlink.catalogue import text_in
    from vaxlink.feedback.sms import bilingual
    from vaxlink.feedback.sms_strings import STRINGS

    values: dict[str, dict[str, object]] = {}
    for lang in ("vi", "en"):
        what = text_in(STRINGS, lang, f"feedback.sms.status.{'escalated' if escalated else status}")
        if new_certificate and status is S.RESOLVED and not escalated:
            what = text_in(STRINGS, lang, "feedback.sms.status.new_certificate", what=what)
        values[lang] = {"id": ticket_id, "what": what}
    return bilingual("feedback.sms.status", values)


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
    principal: Principal | None,
    ticket: Ticket,
    to: TicketStatus,
    *,
    now: datetime,
    phone: str | None,
    outbox: Outbox,
    note: str | None = None,
    reason: RejectReason | None = None,
    answer: str | None = None,
    by: str | None = None,
    new_certificate: bool = False,
) -> Ticket:
    """Move a ticket along the transition table (the caller has checked role and scope).

    `principal` None is a job (`by` names it, e.g. "job:certificates.settle"); `new_certificate`
    says in the resolving SMS that a new certificate was issued (only when one was). The answer
    is written when the station gives it (resolving, rejecting, awaiting a certificate); a ticket
    sent back to work forgets the answer it was waiting with."""
    current = TicketStatus(ticket.status)
    if to not in TRANSITIONS[current]:
        raise TicketTransitionInvalid(
            f"report #{ticket.id} is {current.value}; it cannot become {to.value}"
        )
    if to is S.REJECTED and reason is None:
        raise TicketInvalid("choose why the report is rejected")
    if to in (S.RESOLVED, S.REJECTED, S.AWAITING_CERTIFICATE) and not (answer or "").strip():
        raise TicketInvalid("write the answer the citizen will read")
    if to is S.ASSIGNED and principal is None:
        raise TicketInvalid("only a staff account can take a report")
    ticket.status = to.value
    if to is S.ASSIGNED and principal is not None:
        ticket.assigned_at, ticket.assigned_to = now, principal.user_id
    elif to is S.IN_PROGRESS:
        ticket.started_at = now
        ticket.answer = None
    elif to is S.AWAITING_CERTIFICATE:
        ticket.answer = (answer or "").strip()
    else:
        ticket.resolved_at = now
        ticket.answer = (answer or "").strip()
        ticket.reject_reason = reason.value if reason else None
    session.flush()
    actor = principal.role.value if principal is not None else "system"
    _event(session, ticket, to, at=now, principal=principal, actor=actor,
           note=note, from_status=current.value)  # fmt: skip
    detail: dict[str, object] = {"from": current.value, "to": to.value,
                                 "reason": reason.value if reason else None}  # fmt: skip
    if by:
        detail["by"] = by
    auth.append(
        session,
        actor=principal,
        action=f"feedback.ticket.{to.value}",
        object_type="feedback_ticket",
        object_id=str(ticket.id),
        unit=ticket.ward_code or ticket.district_code,
        detail=detail, at=now
    )
    outbox.add(phone, status_sms(ticket.id, to, new_certificate=new_certificate))
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


def awaiting_certificate(
    session: Session, *, citizen_ids: Collection[str] | None = None, limit: int = 500
) -> list[Ticket]:
    """Tickets waiting for a certificate (of `citizen_ids` only, when given), oldest first, locked
    for the caller's transaction (a settling job and a station do not both move one)."""
    stmt = select(Ticket).where(Ticket.status == S.AWAITING_CERTIFICATE.value)
    if citizen_ids is not None:
        if not citizen_ids:
            return []
        stmt = stmt.where(Ticket.citizen_id.in_(sorted(set(citizen_ids))))
    return list(session.scalars(stmt.order_by(Ticket.id).limit(limit).with_for_update()))

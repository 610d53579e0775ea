"""The ticket pages: a report beside the person's record, and closing the loop
(`vaxlink.flows.citizen_report`: correct, re-issue when the site has signed, else wait for the
certificate) in one transaction.

Two queues, as the seeds route reports: the health station's (`/staff/tickets...`: vaccination
facts, missing doses, certificates; a district sees its communes' reports of every kind) and the
commune police's (`/police/tickets...`: personal data, corrected as identity). A report of the
other queue is refused (403) and the refusal audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import (
    APIRouter,
    Depends,
    Form,
    Request,
)
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.deps import ensure_in_scope, require
from vaxlink.auth.service import AuthError, Permission, Principal
from vaxlink.certificates.service import CertificateKind, active_of, freshness
from vaxlink.errors import InvalidInput, VaxlinkError
from vaxlink.feedback import service, tickets
from vaxlink.feedback.attachments import read_attachment
from vaxlink.feedback.errors import TicketElsewhere, TicketNotFound
from vaxlink.feedback.models import Attachment, Ticket, TicketEvent
from vaxlink.feedback.tickets import (
    POLICE_KINDS,
    STATION_KINDS,
    Outbox,
    RejectReason,
    TicketStatus,
)
from vaxlink.feedback.webutil import (
    DB,
    after_commit,
    send_all,
    settings_of,
    sms_port,
)
from vaxlink.flows.citizen_report import resolve_report
from vaxlink.geo.codes import Level
from vaxlink.records.service import person_ref
from vaxlink.web import deps, i18n
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render

router = APIRouter(include_in_schema=False)
TicketWorker = Annotated[Principal, Depends(require(Permission.TICKET_WORK))]
PoliceWorker = Annotated[Principal, Depends(require(Permission.IDENTITY_CORRECT))]
STATION: Final = "/staff/tickets"
POLICE: Final = "/police/tickets"


def _open_in(base: str) -> Callable[[Session, Principal, dt.datetime], int]:
    def waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
        """Open reports of the queue at `base` in the account's unit (up to the cap)."""
        c = Ticket.__table__.c
        stmt = select(Ticket.id).where(
            principal.scope_filter(c.province_code, c.district_code, c.ward_code),
            Ticket.status.in_(service.open_statuses()),
        )
        kinds = _kinds(principal, base)
        if kinds is not None:
            stmt = stmt.where(Ticket.kind.in_(kinds))
        inner = stmt.limit(WAITING_CAP).subquery()
        return int(db.scalar(select(func.count()).select_from(inner)) or 0)

    return waiting


NAV: Final = (
    NavItem(STATION, "feedback.nav", Permission.TICKET_WORK, order=40, waiting=_open_in(STATION)),
    NavItem(POLICE, "feedback.nav_police", Permission.IDENTITY_CORRECT, order=41,
            waiting=_open_in(POLICE)),
)


def _kinds(principal: Principal, base: str) -> tuple[str, ...] | None:
    """The kinds of report the queue at `base` shows this principal (None: every kind, for the
    district's and province's oversight of the station queue)."""
    if base == POLICE:
        return POLICE_KINDS
    return STATION_KINDS if principal.unit.level is Level.WARD else None


# ---- staff: the station's tickets -------------------------------------------------------------


def _scoped_ticket(db: Session, principal: Principal, ticket_id: int, now: datetime, *,
                   base: str = STATION, lock: bool = False) -> Ticket:  # fmt: skip
    ticket = tickets.get_ticket(db, ticket_id, for_update=lock)
    ensure_in_scope(db, principal, province=ticket.province_code, district=ticket.district_code,
                    ward=ticket.ward_code, object_type="feedback_ticket", object_id=ticket.id,
                    now=now)  # fmt: skip
    kinds = _kinds(principal, base)
    if kinds is not None and ticket.kind not in kinds:
        # audited in a transaction of its own: the refusal rolls the request's back
        auth.append_after_transaction(
            db, actor=principal, action="access.denied", object_type="feedback_ticket",
            object_id=str(ticket.id), unit=ticket.ward_code,
            detail={"reason": "other_queue", "kind": ticket.kind}, at=now)  # fmt: skip
        who = "the commune police" if ticket.kind in POLICE_KINDS else "the health station"
        raise TicketElsewhere(f"report #{ticket.id} is handled by {who}",
                              key="feedback.err.elsewhere")  # fmt: skip
    return ticket


@router.get("/staff/tickets")
def ticket_list(request: Request, db: DB, principal: TicketWorker, show: str = "open") -> Response:
    """The station's (or district's) reports, oldest deadline first."""
    return _list(request, db, principal, show, STATION)


@router.get("/police/tickets")
def police_ticket_list(
    request: Request, db: DB, principal: PoliceWorker, show: str = "open"
) -> Response:
    """The commune police's reports (personal data), oldest deadline first."""
    return _list(request, db, principal, show, POLICE)


def _list(request: Request, db: Session, principal: Principal, show: str, base: str) -> Response:
    scope = principal.scope_filter(
        Ticket.__table__.c.province_code,
        Ticket.__table__.c.district_code,
        Ticket.__table__.c.ward_code,
    )
    stmt = select(Ticket).where(scope)
    kinds = _kinds(principal, base)
    if kinds is not None:
        stmt = stmt.where(Ticket.kind.in_(kinds))
    now = deps.now(request)
    if show == "open":
        stmt = stmt.where(Ticket.status.in_(service.open_statuses()))
    elif show == "overdue":
        stmt = stmt.where(Ticket.status.in_(service.open_statuses()), Ticket.due_at < now)
    elif show == "escalated":
        stmt = stmt.where(Ticket.escalated_at.is_not(None))
    rows = list(db.scalars(stmt.order_by(Ticket.due_at, Ticket.id).limit(200)))
    return render(request, "feedback/staff_list.html",
                  {"tickets": rows, "show": show, "now": now, "base": base})  # fmt: skip


@router.get("/staff/tickets/{ticket_id}")
def ticket_detail(request: Request, db: DB, principal: TicketWorker, ticket_id: int) -> Response:
    """One report beside the person's record, with the actions its status allows."""
    return _detail(request, db, principal, ticket_id, STATION)


@router.get("/police/tickets/{ticket_id}")
def police_ticket_detail(
    request: Request, db: DB, principal: PoliceWorker, ticket_id: int
) -> Response:
    """One report about personal data beside the person's record, for the commune police."""
    return _detail(request, db, principal, ticket_id, POLICE)


def _detail(request: Request, db: Session, principal: Principal, ticket_id: int,
            base: str) -> Response:  # fmt: skip
    ticket = _scoped_ticket(db, principal, ticket_id, deps.now(request), base=base)
    done = request.query_params.get("done")  # the step just taken, confirmed on the page
    context = _ticket_context(db, principal, ticket, deps.now(request), base=base,
                              done=done if done in ("resolved", "moved") else None,
                              anchors=deps.container(request).trust_anchors)  # fmt: skip
    return render(request, "feedback/staff_ticket.html", context)


def _ticket_context(db: Session, principal: Principal, ticket: Ticket, now: datetime,
                    error: str | None = None, done: str | None = None,
                    anchors: tuple[Any, ...] = (), base: str = STATION) -> dict[str, Any]:  # fmt: skip
    from vaxlink.registry.service import Citizen

    auth.append(db, actor=principal, action="feedback.ticket.view", object_type="citizen",
                 object_id=person_ref(db, ticket.citizen_id), unit=ticket.ward_code,
                 detail={"ticket_id": ticket.id}, at=now)  # fmt: skip
    events = list(db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                             .order_by(TicketEvent.id)))  # fmt: skip
    files = list(db.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)))
    pending: tuple[Any, ...] = ()
    if ticket.status == TicketStatus.AWAITING_CERTIFICATE.value:
        pending = freshness(db, ticket.citizen_id, anchors=anchors).pending
    return {
        "ticket": ticket, "citizen": db.get(Citizen, ticket.citizen_id),
        "doses": service.citizen_doses(db, ticket.citizen_id), "events": events,
        "attachments": files, "allowed": sorted(tickets.TRANSITIONS[TicketStatus(ticket.status)]),
        "reasons": list(RejectReason), "error": error, "done": done, "now": now,
        "pending": pending, "base": base, "identity_form": base == POLICE,
        "certificate": active_of(db, CertificateKind.VACCINATION,
                                 [ticket.citizen_id]).get(ticket.citizen_id),
    }  # fmt: skip


def _refused(request: Request, db: Session, principal: Principal, ticket_id: int,
             exc: VaxlinkError, base: str = STATION,
             typed: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The ticket page again, saying why the step was not done (nothing of it was saved), the
    resolve form holding what was `typed`."""
    if isinstance(exc, AuthError):
        raise exc
    ticket = tickets.get_ticket(db, ticket_id)
    error = i18n.error_text(i18n.language(request), exc)
    context = _ticket_context(db, principal, ticket, deps.now(request), error=error,
                              anchors=deps.container(request).trust_anchors, base=base)  # fmt: skip
    context["typed"] = typed or {}
    return render(request, "feedback/staff_ticket.html", context, status=exc.http_status)


@router.post("/staff/tickets/{ticket_id}/move")
def ticket_move(
    request: Request, db: DB, principal: TicketWorker,
    ticket_id: int, to: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Assign, start or reject (resolving goes through the correction form)."""
    return _move(request, db, principal, ticket_id, to, reason, answer, STATION)


@router.post("/police/tickets/{ticket_id}/move")
def police_ticket_move(
    request: Request, db: DB, principal: PoliceWorker,
    ticket_id: int, to: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Assign, start or reject a report about personal data."""
    return _move(request, db, principal, ticket_id, to, reason, answer, POLICE)


def _move(request: Request, db: Session, principal: Principal, ticket_id: int, to: str,
          reason: str, answer: str, base: str) -> Response:  # fmt: skip
    ticket = _scoped_ticket(db, principal, ticket_id, deps.now(request), base=base, lock=True)
    outbox = Outbox()
    try:
        with db.begin_nested():
            try:
                target = TicketStatus(to)
                why = RejectReason(reason) if target is TicketStatus.REJECTED and reason else None
            except ValueError as exc:
                raise InvalidInput("unknown status or reason") from exc
            if target in (TicketStatus.RESOLVED, TicketStatus.AWAITING_CERTIFICATE):
                raise InvalidInput("resolve a report with the correction form")
            tickets.move(db, principal, ticket, target, now=deps.now(request), outbox=outbox,
                         phone=service.phone_of(db, ticket.citizen_id), reason=why,
                         answer=answer)  # fmt: skip
    except VaxlinkError as exc:
        return _refused(request, db, principal, ticket_id, exc, base)
    after_commit(db, send_all, sms_port(request), outbox.notices)
    return RedirectResponse(f"{base}/{ticket.id}?done=moved", status_code=303)


def _dose_choice(raw: str) -> tuple[int | None, int | None]:
    """(dose id, version) from a `<id>@<version>` choice of the resolve form."""
    dose, _, version = raw.partition("@")
    if not dose.isdigit():
        return None, None
    return int(dose), int(version) if version.isdigit() else None


@router.post("/staff/tickets/{ticket_id}/resolve")
def ticket_resolve(
    request: Request, db: DB, principal: TicketWorker,
    ticket_id: int, answer: Annotated[str, Form(max_length=2000)],
    reason: Annotated[str, Form(max_length=500)] = "",
    dose: Annotated[str, Form(max_length=40)] = "",
    vaccination_date: Annotated[str, Form(max_length=32)] = "",
    lot_number: Annotated[str, Form(max_length=64)] = "",
    vaccine: Annotated[str, Form(max_length=64)] = "",
    dose_number: Annotated[str, Form(max_length=4)] = "",
) -> Response:  # fmt: skip
    """Correct the dose, re-issue the certificate when the site has signed, and resolve the
    report, or leave it awaiting the certificate: all of it or none."""
    changes = {"vaccination_date": vaccination_date, "lot_number": lot_number,
               "vaccine": vaccine, "dose_number": dose_number}  # fmt: skip
    return _resolve(request, db, principal, ticket_id, answer, reason, dose, changes, STATION)


@router.post("/police/tickets/{ticket_id}/resolve")
def police_ticket_resolve(
    request: Request, db: DB, principal: PoliceWorker,
    ticket_id: int, answer: Annotated[str, Form(max_length=2000)],
    reason: Annotated[str, Form(max_length=500)] = "",
    dose: Annotated[str, Form(max_length=40)] = "",
    full_name: Annotated[str, Form(max_length=120)] = "",
    date_of_birth: Annotated[str, Form(max_length=32)] = "",
    sex: Annotated[str, Form(max_length=8)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
) -> Response:  # fmt: skip
    """Correct the personal data on the person's dose record (as identity: checked, versioned,
    linked again), and resolve the report, or leave it awaiting the certificate."""
    changes = {"full_name": full_name, "date_of_birth": date_of_birth, "sex": sex,
               "id_number": id_number}  # fmt: skip
    return _resolve(request, db, principal, ticket_id, answer, reason, dose, changes, POLICE)


def _resolve(request: Request, db: Session, principal: Principal, ticket_id: int, answer: str,
             reason: str, dose: str, typed: dict[str, str], base: str) -> Response:  # fmt: skip
    ticket = _scoped_ticket(db, principal, ticket_id, deps.now(request), base=base, lock=True)
    changes: dict[str, Any] = {k: v.strip() for k, v in typed.items() if v.strip()}
    target, version = _dose_choice(dose)
    outbox = Outbox()
    try:
        with db.begin_nested():
            resolve_report(db, principal, ticket, dose_id=target, expected_version=version,
                           changes=changes, reason=reason, answer=answer,
                           ports=deps.container(request), now=deps.now(request),
                           outbox=outbox)  # fmt: skip
    except VaxlinkError as exc:
        return _refused(request, db, principal, ticket_id, exc, base,
                        {"dose": dose, "reason": reason, "answer": answer, **typed})
    after_commit(db, send_all, sms_port(request), outbox.notices)
    return RedirectResponse(f"{base}/{ticket.id}?done=resolved", status_code=303)


@router.get("/staff/tickets/{ticket_id}/attachments/{attachment_id}")
def ticket_attachment(
    request: Request, db: DB, principal: TicketWorker, ticket_id: int, attachment_id: int
) -> Response:
    """An attachment, to the station handling the report only (never inline as HTML)."""
    return _attachment(request, db, principal, ticket_id, attachment_id, STATION)


@router.get("/police/tickets/{ticket_id}/attachments/{attachment_id}")
def police_ticket_attachment(
    request: Request, db: DB, principal: PoliceWorker, ticket_id: int, attachment_id: int
) -> Response:
    """An attachment (e.g. a photo of the ID card), to the commune police handling the report."""
    return _attachment(request, db, principal, ticket_id, attachment_id, POLICE)


def _attachment(request: Request, db: Session, principal: Principal, ticket_id: int,
                attachment_id: int, base: str) -> Response:  # fmt: skip
    ticket = _scoped_ticket(db, principal, ticket_id, deps.now(request), base=base)
    row = db.get(Attachment, attachment_id)
    if row is None or row.ticket_id != ticket.id:
        raise TicketNotFound("no such attachment on this report")
    auth.append(db, actor=principal, action="feedback.attachment.view", object_type="citizen",
                 object_id=person_ref(db, ticket.citizen_id), unit=ticket.ward_code,
                 detail={"ticket_id": ticket.id, "attachment_id": row.id},
                 at=deps.now(request))  # fmt: skip
    data = read_attachment(row, data_dir=settings_of(request).data_dir)
    headers = {"Content-Disposition": f'attachment; filename="attachment-{row.id}"',
               "X-Content-Type-Options": "nosniff"}  # fmt: skip
    return Response(data, media_type=row.content_type, headers=headers)

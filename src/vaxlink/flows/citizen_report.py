"""A station resolves a citizen report: correct the record, relink, re-approve, re-issue, and
tell the citizen. All of it or none: the caller owns the transaction (the ticket page runs it in
a savepoint and shows why a step could not be done).

Each step is a call to a domain's front door:

    feedback.ensure_own_dose ─> feedback.move (assigned, in progress)
    ─> cleaning.correct_dose (a new version, audited; an identity change relinks the dose online
       with the composition root's registry port and linkage model)
    ─> reissue_after_change.reapprove_and_reissue (site approval of the dose, certificate re-issue)
    ─> auth.append ("feedback.ticket.close_loop")
    ─> feedback.move (resolved: the answer, and the SMS to the citizen in the outbox)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Principal
from vaxlink.cleaning import service as cleaning
from vaxlink.feedback import service as feedback
from vaxlink.feedback.service import Outbox, Ticket, TicketStatus
from vaxlink.flows.reissue_after_change import ApprovalError, reapprove_and_reissue

if TYPE_CHECKING:
    from vaxlink.flows.ports import Ports


@dataclass(frozen=True)
class LoopResult:
    """What closing the loop did."""

    dose_id: int | None
    dose_status: str | None
    approval_id: int | None
    certificate_uvci: str | None
    revoked_uvci: str | None


def close_loop(
    session: Session,
    principal: Principal,
    *,
    ticket_id: int,
    citizen_id: str,
    dose_id: int | None,
    expected_version: int | None,
    changes: dict[str, Any],
    reason: str,
    ports: Ports,
    now: datetime,
) -> LoopResult:
    """Correct (when `changes`), re-approve and re-issue; raises, rolling everything back, when a
    step cannot be done, with a message saying which step and why. The registry port, linkage
    model, keys and signer come from `ports` (the composition root's)."""
    status = None
    if dose_id is not None and changes:
        if expected_version is None:
            raise ApprovalError("the dose version is missing; reload the report")
        dose = cleaning.correct_dose(session, principal, dose_id,
                                     expected_version=expected_version, changes=changes,
                                     reason=reason, ticket_id=ticket_id,
                                     registry=ports.registry,
                                     model=ports.link_model, clock=ports.clock)  # fmt: skip
        status = dose.status
        if dose.citizen_id != citizen_id:
            raise ApprovalError(
                "after the correction the dose no longer links to this person; "
                "leave it to the worklist (police check) before resolving"
            )
    by = f"{principal.username} (report #{ticket_id})"
    done = reapprove_and_reissue(session, citizen_id=citizen_id, dose_id=dose_id, by=by,
                                 ports=ports, now=now)  # fmt: skip
    auth.append(
        session,
        actor=principal,
        action="feedback.ticket.close_loop",
        object_type="feedback_ticket",
        object_id=str(ticket_id),
        detail={"dose_id": dose_id, "approval_id": done.approval_id, "fields": sorted(changes),
                "reissued": done.reissued}, at=now
    )  # fmt: skip
    return LoopResult(dose_id, status, done.approval_id, done.certificate_uvci, done.revoked_uvci)


def resolve_report(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    *,
    dose_id: int | None,
    expected_version: int | None,
    changes: dict[str, Any],
    reason: str,
    answer: str,
    ports: Ports,
    now: datetime,
    outbox: Outbox,
) -> LoopResult:
    """Take the report through to resolved: the dose must be the person's own; the ticket is
    assigned and started if it was not, the loop closed, and the citizen told (in `outbox`)."""
    feedback.ensure_own_dose(session, ticket.citizen_id, dose_id)
    for step in (TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS):
        if step in feedback.TRANSITIONS[TicketStatus(ticket.status)]:
            feedback.move(session, principal, ticket, step, now=now, phone=None, outbox=outbox)
    result = close_loop(
        session, principal, ticket_id=ticket.id, citizen_id=ticket.citizen_id, dose_id=dose_id,
        expected_version=expected_version, changes=changes,
        reason=reason or f"citizen report #{ticket.id}", ports=ports, now=now,
    )  # fmt: skip
    feedback.move(session, principal, ticket, TicketStatus.RESOLVED, now=now,
                  phone=feedback.phone_of(session, ticket.citizen_id), outbox=outbox,
                  answer=answer, note=f"certificate {result.certificate_uvci}")  # fmt: skip
    return result

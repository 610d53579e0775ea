"""A station resolves a citizen report: correct the record, relink, re-issue the certificate when
it can be, and tell the citizen. All of it or none: the caller owns the transaction (the ticket
page runs it in a savepoint and shows why a step could not be done).

Each step is a call to a domain's front door:

    feedback.ensure_own_dose ─> feedback.move (assigned, in progress)
    ─> cleaning.correct_dose (a new version, audited; an identity change relinks the dose online
       with the composition root's registry port and linkage model). The station never signs for
       the site: the corrected dose is no longer approved and is back in its site's queue.
    ─> reissue_after_change.reissue_if_ready (keep a certificate that still agrees, re-issue one
       whose doses are all approved as they stand, else say which dose waits for which site)
    ─> auth.append ("feedback.ticket.close_loop")
    ─> feedback.move: resolved when the certificate agrees with the records (the SMS says a new
       certificate was issued only when one was); otherwise awaiting_certificate with the
       station's answer kept, resolved later by `reissue_after_change.settle_waiting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Principal
from vaxlink.certificates.service import PendingDose
from vaxlink.cleaning import service as cleaning
from vaxlink.feedback import service as feedback
from vaxlink.feedback.service import Outbox, Ticket, TicketStatus
from vaxlink.flows.reissue_after_change import ApprovalError, reissue_if_ready

if TYPE_CHECKING:
    from vaxlink.flows.ports import Ports


@dataclass(frozen=True)
class LoopResult:
    """What closing the loop did."""

    dose_id: int | None
    dose_status: str | None
    certificate_uvci: str | None
    revoked_uvci: str | None
    #: A new certificate was issued now.
    reissued: bool
    #: The certificate attests what the records say: the report is resolved.
    current: bool
    #: What the new certificate waits for (which dose, which site), when not `current`.
    pending: tuple[PendingDose, ...] = ()
    note: str = ""


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
    """Correct (when `changes`) and re-issue the certificate when every dose it rests on is
    approved as it stands; raises, rolling everything back, when a step cannot be done, with a
    message saying which step and why. Nothing is signed on a site's behalf. The registry port,
    linkage model, trust anchors and signer come from `ports` (the composition root's)."""
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
    done = reissue_if_ready(session, citizen_id=citizen_id, by=by, ports=ports, now=now)
    auth.append(
        session,
        actor=principal,
        action="feedback.ticket.close_loop",
        object_type="feedback_ticket",
        object_id=str(ticket_id),
        detail={"dose_id": dose_id, "fields": sorted(changes), "reissued": done.reissued,
                "current": done.current, "waiting_for": [p.dose_id for p in done.pending]}, at=now
    )  # fmt: skip
    note = f"certificate {done.certificate_uvci}" if done.current else done.waiting_note()
    return LoopResult(dose_id, status, done.certificate_uvci, done.revoked_uvci, done.reissued,
                      done.current, done.pending, note)  # fmt: skip


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
    """Take the report through: the dose must be the person's own; the ticket is assigned and
    started if it was not, the loop closed, and the citizen told (in `outbox`). It is resolved
    when the person's certificate agrees with the corrected records, else it awaits the
    certificate (the answer kept, the SMS saying the fix is made and the site's signature
    awaited)."""
    feedback.ensure_own_dose(session, ticket.citizen_id, dose_id)
    for step in (TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS):
        if step in feedback.TRANSITIONS[TicketStatus(ticket.status)]:
            feedback.move(session, principal, ticket, step, now=now, phone=None, outbox=outbox)
    result = close_loop(
        session, principal, ticket_id=ticket.id, citizen_id=ticket.citizen_id, dose_id=dose_id,
        expected_version=expected_version, changes=changes,
        reason=reason or f"citizen report #{ticket.id}", ports=ports, now=now,
    )  # fmt: skip
    to = TicketStatus.RESOLVED if result.current else TicketStatus.AWAITING_CERTIFICATE
    feedback.move(session, principal, ticket, to, now=now,
                  phone=feedback.phone_of(session, ticket.citizen_id), outbox=outbox,
                  answer=answer, note=result.note, new_certificate=result.reissued)  # fmt: skip
    return result

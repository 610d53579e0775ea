"""After a change to a person's records: bring their certificate in line, and settle the reports
that wait for it.

A correction never signs: the corrected dose (its version bumped) is simply no longer approved, so
it is back in its site's approval queue, and only that site's approver signs it. The person's
certificate is re-issued as soon as every dose it rests on is approved as it stands
(`reissue_if_ready`); until then a report whose fix needs the new certificate waits
(`awaiting_certificate`), and `settle_waiting` resolves it once the certificate exists. It runs
right after a site signs (`settle_after_approval`, from the approval page and `certificates
approve` through the composition root), as a scheduled step (`vaxlink report scheduler`, the web
app's background thread) and after the `certificates reissue-changed` sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Principal
from vaxlink.certificates import service as certificates
from vaxlink.certificates.service import ApprovalError, PendingDose
from vaxlink.errors import VaxlinkError
from vaxlink.feedback import service as feedback
from vaxlink.feedback.service import Notice, Outbox, TicketStatus

if TYPE_CHECKING:
    from vaxlink.flows.ports import Ports

__all__ = [
    "ApprovalError",
    "Outcome",
    "Settled",
    "reissue_if_ready",
    "settle_after_approval",
    "settle_waiting",
]

log = logging.getLogger(__name__)
#: Who settles when no person does (audit `detail.by`, ticket events).
SETTLE_JOB = "job:certificates.settle"


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where the person's certificate stands after `reissue_if_ready`."""

    #: The person's active certificate now (None: they hold none).
    certificate_uvci: str | None
    revoked_uvci: str | None
    #: A new certificate was issued now.
    reissued: bool
    #: The certificate attests what the records say: a report about them may be resolved.
    current: bool
    #: What the new certificate waits for (empty when `current`).
    pending: tuple[PendingDose, ...] = ()

    def waiting_note(self) -> str:
        """The ticket event's note, in no language (the event's translated status says what it
        means): which dose, by its date, waits for which site, e.g. "31/08/2021 → Trạm Y tế (F001)"."""
        return "; ".join(f"{p.vaccination_date:%d/%m/%Y} → {p.site or p.facility_code or '?'}"
                         for p in self.pending)  # fmt: skip


def reissue_if_ready(
    session: Session, *, citizen_id: str, by: str, ports: Ports, now: datetime
) -> Outcome:
    """Bring the person's certificate in line with their records if that can be done now: kept
    when it already agrees, re-issued when every dose it rests on is approved as it stands, else
    left as it is with what it waits for. Never signs an approval. Raises IssuanceInvalid when the
    records give no certificate at all (not in the registry, no dose, invalid data)."""
    fresh = certificates.freshness(session, citizen_id, anchors=ports.trust_anchors)
    before = fresh.certificate.uvci if fresh.certificate is not None else None
    if fresh.agrees:
        return Outcome(before, None, False, True)
    if fresh.pending:
        return Outcome(before, None, False, False, fresh.pending)
    issuer = ports.issuer(by=by, now=now)
    certificate = certificates.reissue_person(
        session, issuer, citizen_id, certificates.CertificateKind.VACCINATION
    )
    revoked = before if before and before != certificate.uvci else None
    return Outcome(certificate.uvci, revoked, certificate.uvci != before, True)


@dataclass
class Settled:
    """What one settling run did."""

    checked: int = 0
    resolved: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    #: Tickets whose person's certificate could not be issued, with why (they keep waiting).
    failed: dict[int, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    #: Certificates re-issued after a signature for people with no waiting report.
    reissued: int = 0


def settle_waiting(
    session: Session,
    ports: Ports,
    *,
    now: datetime,
    by: str = SETTLE_JOB,
    actor: Principal | None = None,
    citizen_ids: Collection[str] | None = None,
    outbox: Outbox | None = None,
) -> Settled:
    """Resolve each report awaiting a certificate (of `citizen_ids` only, when given) whose
    person's certificate now agrees with the records, re-issuing it first when every dose it rests
    on is approved as it stands: the station's answer stays, the SMS (in `outbox`) says a new
    certificate was issued, the audit names `actor` (the approver whose signature settled it) or
    `by` (the job). One person's failure leaves their reports waiting and the others settle."""
    outbox = outbox if outbox is not None else Outbox()
    done = Settled()
    waiting = feedback.awaiting_certificate(session, citizen_ids=citizen_ids)
    people: dict[str, list[feedback.Ticket]] = {}
    for ticket in waiting:
        people.setdefault(ticket.citizen_id, []).append(ticket)
    for citizen_id, tickets in people.items():
        done.checked += len(tickets)
        mine = Outbox()
        try:
            with session.begin_nested():
                outcome = reissue_if_ready(session, citizen_id=citizen_id, by=by, ports=ports,
                                           now=now)  # fmt: skip
                if outcome.current:
                    _resolve(session, tickets, outcome, actor=actor, by=by, now=now,
                             outbox=mine)  # fmt: skip
        except VaxlinkError as exc:
            done.failed.update((t.id, str(exc)) for t in tickets)
            continue
        outbox.notices.extend(mine.notices)
        (done.resolved if outcome.current else done.waiting).extend(t.id for t in tickets)
    done.notices = list(outbox.notices)
    return done


def _resolve(
    session: Session,
    tickets: list[feedback.Ticket],
    outcome: Outcome,
    *,
    actor: Principal | None,
    by: str,
    now: datetime,
    outbox: Outbox,
) -> None:
    phone = feedback.phone_of(session, tickets[0].citizen_id)
    for ticket in tickets:
        auth.append(session, actor=actor, action="feedback.ticket.certificate_settled",
                    object_type="feedback_ticket", object_id=str(ticket.id),
                    unit=ticket.ward_code or ticket.district_code,
                    detail={"by": by, "reissued": outcome.reissued}, at=now)  # fmt: skip
        # the ticket waited because its certificate disagreed: the one it rests on now is new
        feedback.move(session, actor, ticket, TicketStatus.RESOLVED, now=now, phone=phone,
                      outbox=outbox, answer=ticket.answer or "", by=by, new_certificate=True,
                      note=f"certificate {outcome.certificate_uvci}")  # fmt: skip


def settle_after_approval(
    session: Session,
    ports: Ports,
    *,
    approval_id: int | None,
    actor: Principal | None,
    by: str,
    now: datetime,
) -> Settled:
    """Right after a site signed (in the signing transaction): settle the reports waiting for a
    certificate of the people whose doses the approval covers, and bring in line the certificate
    of everyone else whose corrected dose it signs again (a worklist correction, no report); the
    SMS leave once the transaction commits (through the ports' SMS adapter)."""
    if approval_id is None:
        return Settled()
    people = certificates.approved_people(session, approval_id)
    if not people:
        return Settled()
    settled = settle_waiting(session, ports, now=now, by=by, actor=actor,
                             citizen_ids=people)  # fmt: skip
    reissued = 0  # (people settled above already agree: reissue_if_ready keeps theirs)
    for citizen_id in sorted(certificates.reapproved_people(session, approval_id)):
        try:
            with session.begin_nested():
                reissued += reissue_if_ready(session, citizen_id=citizen_id, by=by, ports=ports,
                                             now=now).reissued  # fmt: skip
        except VaxlinkError:
            continue  # left to `reissue-changed`, which reports why
    if reissued:
        auth.append(session, actor=actor, action="certificates.reissue_after_approval",
                    object_type="approval", object_id=approval_id,
                    detail={"reissued": reissued, "by": by}, at=now)  # fmt: skip
    settled.reissued = reissued
    send_after_commit(session, ports, settled.notices)
    return settled


def send_after_commit(session: Session, ports: Ports, notices: list[Notice]) -> None:
    """Send `notices` once `session`'s transaction commits (never if it rolls back); a failed SMS
    does not undo what was saved."""
    if not notices:
        return

    def deliver(_session: Session) -> None:
        send(ports, notices)

    event.listen(session, "after_commit", deliver, once=True)


def send(ports: Ports, notices: list[Notice]) -> int:
    """Deliver `notices` now; returns how many failed (logged without the phone or text)."""
    failed = 0
    for notice in notices:
        try:
            ports.sms.send(notice.phone, notice.text)
        except Exception:  # a gateway failure must not undo the settled reports
            failed += 1
            log.warning("an SMS about a settled report could not be sent")
    return failed

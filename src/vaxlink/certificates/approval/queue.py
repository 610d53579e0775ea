"""The site approver's queue: the facility's verified doses not approved in their current form,
signing a selection of them, and the signed manifests (for the approval pages).

Signing goes through `approval.approve_records` with the site's key unlocked for the signed-in
approver (`unlock_site_key`: their own wrap of it, their signing passphrase); this module adds
the approver's scope (their own facility only), the page-by-page view of the queue and the
audit entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Forbidden, OutOfScope, Permission, Principal
from vaxlink.certificates.approval.check import ApprovalCheck, verify_approval
from vaxlink.certificates.approval.signing import (
    RECORD_COLUMNS,
    ApprovalResult,
    SigningCredential,
    approve_records,
    approved_digests,
    record_digest,
    unlock_site_key,
)
from vaxlink.certificates.errors import (
    ApprovalError,
    CertificateNotFound,
    SigningLocked,
    SigningRefused,
)
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.models import ApprovalRecord, FacilityApproval, approvable
from vaxlink.records.service import DoseRecord, vaccines

PAGE_SIZE: Final = 50
#: Records examined at most per page view, so a facility with a long approved history still
#: answers quickly; the page then offers to continue from where the scan stopped.
SCAN_LIMIT: Final = 20_000
_SCAN_CHUNK: Final = 500
#: Doses one signing may cover when chosen one by one (a page holds PAGE_SIZE).
MAX_SELECTED: Final = 1_000


class QueueState(StrEnum):
    """Why a dose is in the queue."""

    NEVER = "never_approved"
    CHANGED = "changed_since_approval"


@dataclass(frozen=True, slots=True)
class QueuedDose:
    """One dose awaiting the approver's signature, with what the approver checks."""

    id: int
    record_id: str
    full_name: str
    date_of_birth: str | None
    citizen_id: str | None
    vaccine: str
    lot_number: str | None
    vaccination_date: dt.date
    dose_number: int
    dose_category: str
    dose_sequence: int
    state: QueueState


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue; `next_after` continues it (None at the end)."""

    facility_code: str
    rows: tuple[QueuedDose, ...]
    next_after: int | None
    #: True when the page stopped at SCAN_LIMIT before filling up.
    scan_stopped: bool


@dataclass(frozen=True, slots=True)
class ManifestSummary:
    """A signed approval as the manifest list shows it."""

    id: int
    approved_at: dt.datetime
    approver: str
    record_count: int
    manifest_digest: str
    signer_kid: str
    note: str | None


def approver_facility(principal: Principal) -> str:
    """The facility the approver signs for (refused without the permission or a facility)."""
    if not principal.can(Permission.APPROVE):
        raise Forbidden("this account may not sign approvals")
    if not principal.facility_code:
        raise ApprovalError(
            "this account is not attached to a vaccination site; ask an administrator to set "
            "its facility code"
        )
    return principal.facility_code


def waiting_count(session: Session, principal: Principal, *, cap: int) -> int:
    """How many of the facility's doses await signature (never signed, or changed since), up
    to `cap`: the home page's count, read only (no audit entry, no row shown). An account
    without a site has nothing waiting (its approval page says why)."""
    if not principal.facility_code or not principal.can(Permission.APPROVE):
        return 0
    facility = principal.facility_code
    count, cursor = 0, 0
    while count < cap:
        chunk = session.execute(
            select(*RECORD_COLUMNS)
            .where(DoseRecord.facility_code == facility, approvable(),
                   DoseRecord.citizen_id.is_not(None), DoseRecord.id > cursor)
            .order_by(DoseRecord.id)
            .limit(_SCAN_CHUNK)
        ).all()  # fmt: skip
        if not chunk:
            break
        digests = approved_digests(session, [r.id for r in chunk])
        count += sum(record_digest(r) not in digests[r.id] for r in chunk)
        cursor = chunk[-1].id
        if len(chunk) < _SCAN_CHUNK:
            break
    return min(count, cap)


def pending_page(
    session: Session,
    principal: Principal,
    *,
    after: int = 0,
    limit: int = PAGE_SIZE,
    scan_limit: int = SCAN_LIMIT,
    now: dt.datetime,
) -> QueuePage:
    """The facility's doses awaiting signature with id > `after`, in id order (keyset)."""
    facility = approver_facility(principal)
    limit = max(1, min(limit, 200))
    rows: list[QueuedDose] = []
    scanned, cursor, exhausted = 0, after, False
    while not exhausted and len(rows) < limit and scanned < scan_limit:
        chunk = session.execute(
            select(*RECORD_COLUMNS)
            .where(
                DoseRecord.facility_code == facility,
                approvable(),
                DoseRecord.citizen_id.is_not(None),
                DoseRecord.id > cursor,
            )
            .order_by(DoseRecord.id)
            .limit(_SCAN_CHUNK)
        ).all()
        if not chunk:
            exhausted = True
            break
        digests = approved_digests(session, [r.id for r in chunk])
        for r in chunk:
            if len(rows) == limit or scanned >= scan_limit:
                break
            cursor = r.id
            scanned += 1
            known = digests[r.id]
            if record_digest(r) not in known:
                rows.append(_queued(r, QueueState.CHANGED if known else QueueState.NEVER))
        else:
            if len(chunk) < _SCAN_CHUNK:
                exhausted = True
    auth.append(
        session,
        actor=principal,
        action="approval.queue_view",
        object_type="facility",
        object_id=facility,
        at=now,
        detail={"dose_ids": [r.id for r in rows], "after": after},
    )
    return QueuePage(
        facility, tuple(rows), None if exhausted else cursor, not exhausted and len(rows) < limit
    )


def _queued(r: Any, state: QueueState) -> QueuedDose:
    v = vaccines.catalogue().get(r.vaccine_key)
    return QueuedDose(
        id=r.id,
        record_id=r.record_id,
        full_name=r.full_name,
        date_of_birth=r.date_of_birth,
        citizen_id=r.citizen_id,
        vaccine=v.display if v else r.vaccine_key,
        lot_number=r.lot_number,
        vaccination_date=r.vaccination_date,
        dose_number=r.dose_number,
        dose_category=r.dose_category,
        dose_sequence=r.dose_sequence,
        state=state,
    )


def sign(
    session: Session,
    principal: Principal,
    keys: KeyStore,
    *,
    passphrase: str,
    dose_ids: Collection[int] | None,
    now: dt.datetime,
    secret: bytes,
    note: str | None = None,
) -> ApprovalResult:
    """Sign the chosen doses (None: every dose awaiting signature) with the facility's key,
    unlocked with the signed-in approver's own signing passphrase (wrong ones counted per account
    with `secret`, the rate limiter's key). A refusal is audited ("certificates.approve_refused")
    in `session`, which the caller commits with the failure count before showing the error."""
    facility = approver_facility(principal)
    if dose_ids is not None:
        if not dose_ids:
            raise ApprovalError("choose at least one dose to sign").keyed("error.choose_a_dose")
        if len(dose_ids) > MAX_SELECTED:
            raise ApprovalError(
                f"sign at most {MAX_SELECTED} doses chosen one by one at a time"
            ).keyed("error.too_many_chosen", n=MAX_SELECTED)
    credential = SigningCredential(principal.username, passphrase)
    try:
        signer = unlock_site_key(session, keys, facility, credential, now=now, secret=secret)
    except (SigningRefused, SigningLocked) as exc:
        auth.append(
            session, actor=principal, action="certificates.approve_refused",
            object_type="facility", object_id=facility, detail={"reason": exc.code}, at=now,
        )  # fmt: skip
        raise
    result = approve_records(
        session,
        signer,
        facility_code=facility,
        approver=principal.username,
        now=now,
        note=(note or "").strip() or None,
        dose_ids=dose_ids,
    )
    auth.append(
        session,
        actor=principal,
        action="certificates.approve",
        object_type="facility_approval",
        object_id=str(result.approval_id) if result.approval_id else "none",
        detail={
            "facility": facility,
            "records": result.record_count,
            "selected": len(dose_ids) if dose_ids is not None else "all",
        }, at=now
    )
    return result


def manifests(
    session: Session, principal: Principal, *, before: int | None = None, limit: int = 20
) -> tuple[list[ManifestSummary], int | None]:
    """The facility's signed approvals, newest first (keyset on id); and the next cursor."""
    facility = approver_facility(principal)
    stmt = select(FacilityApproval).where(FacilityApproval.facility_code == facility)
    if before is not None:
        stmt = stmt.where(FacilityApproval.id < before)
    found = list(session.scalars(stmt.order_by(FacilityApproval.id.desc()).limit(limit + 1)))
    out = [
        ManifestSummary(
            a.id, a.approved_at, a.approver, a.record_count, a.manifest_digest, a.signer_kid, a.note
        )
        for a in found[:limit]
    ]
    return out, (out[-1].id if len(found) > limit else None)


@dataclass(frozen=True, slots=True)
class ManifestDetail:
    """One approval: its summary, the signature check and the records it covers."""

    summary: ManifestSummary
    check: ApprovalCheck
    record_ids: tuple[str, ...]


def manifest(
    session: Session, principal: Principal, approval_id: int, *, now: dt.datetime
) -> ManifestDetail:
    """A facility approval, re-verified now (signature, key, records changed since)."""
    facility = approver_facility(principal)
    a = session.get(FacilityApproval, approval_id)
    if a is None:
        raise CertificateNotFound(f"there is no facility approval #{approval_id}")
    if a.facility_code != facility:
        auth.append_after_transaction(
            session,
            actor=principal,
            action="access.denied",
            object_type="facility_approval",
            object_id=str(approval_id),
            detail={"facility": facility, "reason": "other_site"},
            at=now,
        )
        raise OutOfScope(f"approval #{approval_id} belongs to another vaccination site")
    check = verify_approval(session, approval_id)
    ids = session.scalars(
        select(ApprovalRecord.record_id)
        .where(ApprovalRecord.approval_id == approval_id)
        .order_by(ApprovalRecord.record_id)
    ).all()
    auth.append(
        session,
        actor=principal,
        action="approval.manifest_view",
        object_type="facility_approval",
        object_id=str(approval_id),
        detail={"facility": facility, "valid": check.valid},
        at=now,
    )
    summary = ManifestSummary(
        a.id, a.approved_at, a.approver, a.record_count, a.manifest_digest, a.signer_kid, a.note
    )
    return ManifestDetail(summary, check, tuple(ids))

"""Checking a facility approval at any time: rebuild the signed manifest, check its signature and
key, and list the records changed since; and whether one dose is approved as it stands now."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.certificates.approval.signing import (
    CHUNK,
    RECORD_COLUMNS,
    approved_digests,
    certificate_problems,
    fingerprint,
    manifest_bytes,
    record_digest,
)
from vaxlink.certificates.errors import CertificateNotFound
from vaxlink.certificates.keys.hierarchy import is_issued_by
from vaxlink.certificates.models import ApprovalRecord, FacilityApproval
from vaxlink.records.service import DoseRecord

if TYPE_CHECKING:
    from vaxlink.certificates.approval.district import DistrictVerdicts


class ApprovalState(StrEnum):
    """Whether a dose record is covered by a facility approval in its current form."""

    APPROVED = "approved"
    CHANGED = "changed_since_approval"
    NEVER = "never_approved"


@dataclass(frozen=True, slots=True)
class ApprovalCheck:
    """The outcome of `verify_approval`: the signature holds, and which records moved since."""

    approval_id: int
    valid: bool
    problems: tuple[str, ...]
    record_count: int
    changed_records: tuple[str, ...]


def _signature_holds(certificate: x509.Certificate, signature: bytes, data: bytes) -> bool:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _changed(session: Session, links: Mapping[int, str]) -> list[str]:
    """Record ids whose current digest differs from the approved one (or that are gone)."""
    ids = sorted(links)
    changed: list[str] = []
    seen: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for row in session.execute(select(*RECORD_COLUMNS).where(DoseRecord.id.in_(part))):
            seen.add(row.id)
            if record_digest(row) != links[row.id]:
                changed.append(row.record_id)
    return changed + [f"dose #{i}" for i in ids if i not in seen]


def _links(session: Session, approval_id: int) -> list[Any]:
    return list(session.execute(
        select(ApprovalRecord.dose_id, ApprovalRecord.record_id, ApprovalRecord.record_digest)
        .where(ApprovalRecord.approval_id == approval_id)
    ).all())  # fmt: skip


def approval_problems(
    session: Session,
    approval: FacilityApproval,
    anchors: Sequence[x509.Certificate] = (),
    links: Sequence[Any] | None = None,
) -> list[str]:
    """Why a stored approval does not hold as signed (empty: it holds): the manifest rebuilt from
    its record links must match the signed digest, the stored certificate must be the signer's,
    the signature must verify, the certificate must be a facility-approval certificate of this
    site valid when it signed, and (with `anchors`) issued by one of them."""
    rows = _links(session, approval.id) if links is None else links
    problems: list[str] = []
    manifest = manifest_bytes(
        facility_code=approval.facility_code,
        approver=approval.approver,
        approved_at=approval.approved_at,
        signer_fingerprint=approval.signer_fingerprint,
        records=((r, d) for _, r, d in rows),
    )
    if hashlib.sha256(manifest).hexdigest() != approval.manifest_digest:
        problems.append("the stored records do not match the signed manifest")
    if fingerprint(approval.signer_certificate) != approval.signer_fingerprint:
        problems.append("the stored certificate is not the one that signed")
    try:
        certificate = x509.load_der_x509_certificate(approval.signer_certificate)
    except ValueError:
        return [*problems, "the stored signing certificate cannot be read"]
    if not _signature_holds(certificate, approval.signature, manifest):
        problems.append("the signature does not verify")
    problems += certificate_problems(certificate, approval.facility_code, approval.approved_at)
    if anchors and not any(is_issued_by(certificate, ca) for ca in anchors):
        problems.append("the facility certificate was not issued by a trusted CA")
    return problems


def verify_approval(
    session: Session, approval_id: int, *, cscas: Iterable[x509.Certificate] = ()
) -> ApprovalCheck:
    """Rebuild the signed manifest, check digest, signature and key, and list records changed since.

    With `cscas`, the facility certificate must also have been issued by one of them.
    """
    approval = session.get(FacilityApproval, approval_id)
    if approval is None:
        raise CertificateNotFound(f"there is no facility approval #{approval_id}")
    links = _links(session, approval_id)
    problems = approval_problems(session, approval, list(cscas), links)
    changed = _changed(session, {i: d for i, _, d in links})
    return ApprovalCheck(
        approval_id, not problems, tuple(problems), len(links), tuple(sorted(changed))
    )


class ApprovalVerdicts:
    """Whether each approval a certificate would rest on holds, checked once per issuance run.

    Issuance asks, for the doses of a chunk of people, which are approved as they stand now by a
    sound approval of their own site (`sound_approvals`); each approval is re-verified the first
    time it is met (manifest, signature, certificate, chain to `anchors`) and remembered, so a run
    pays one check per approval, not per dose. Approvals found broken are kept for the run's
    report and audit (`failed`, `take_unreported`).
    """

    def __init__(
        self, anchors: Iterable[x509.Certificate] = (), *, district: DistrictVerdicts | None = None
    ) -> None:
        self.anchors: tuple[x509.Certificate, ...] = tuple(anchors)
        #: When set, doses must also be on a sound approval of their resident's district.
        self.district = district
        self._verdicts: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._unreported: list[int] = []

    def _check(self, session: Session, approval_ids: Iterable[int]) -> None:
        todo = sorted(set(approval_ids) - self._verdicts.keys())
        for approval_id in todo:
            approval = session.get(FacilityApproval, approval_id)
            if approval is None:  # pragma: no cover - linked rows reference it
                self._verdicts[approval_id] = ("", ("the approval is gone",))
                continue
            problems = tuple(approval_problems(session, approval, self.anchors))
            self._verdicts[approval_id] = (approval.facility_code, problems)
            if problems:
                self._unreported.append(approval_id)

    def sound_approvals(
        self, session: Session, rows: Sequence[Any]
    ) -> tuple[set[int], dict[int, tuple[int, ...]]]:
        """Of dose rows (with `RECORD_COLUMNS`): the ids approved in their current form by a sound
        approval of the dose's own site, and, for the others approved in their current form only
        by approvals that fail, those approvals' ids."""
        covering, broken = self.covering_approvals(session, rows)
        return set(covering), broken

    def covering_approvals(
        self, session: Session, rows: Sequence[Any], digests: Mapping[int, str] | None = None
    ) -> tuple[dict[int, int], dict[int, tuple[int, ...]]]:
        """As `sound_approvals`, with the (lowest) id of the sound approval that covers each dose.
        `digests` (dose id to its current record digest) saves recomputing them."""
        links: dict[int, list[tuple[int, str]]] = {r.id: [] for r in rows}
        ids = sorted(links)
        for start in range(0, len(ids), CHUNK):
            stmt = select(
                ApprovalRecord.dose_id, ApprovalRecord.approval_id, ApprovalRecord.record_digest
            ).where(ApprovalRecord.dose_id.in_(ids[start : start + CHUNK]))
            for dose_id, approval_id, digest in session.execute(stmt):
                links[dose_id].append((approval_id, digest))
        sound: dict[int, int] = {}
        broken: dict[int, tuple[int, ...]] = {}
        for row in rows:
            current = digests[row.id] if digests is not None else record_digest(row)
            matching = [a for a, d in links[row.id] if d == current]
            if not matching:
                continue
            self._check(session, matching)
            good = [a for a in matching if self._holds(a, row.facility_code)]
            if good:
                sound[row.id] = min(good)
            else:
                broken[row.id] = tuple(sorted(matching))
        return sound, broken

    def _holds(self, approval_id: int, facility_code: str | None) -> bool:
        site, problems = self._verdicts[approval_id]
        return not problems and site == facility_code

    def failed(self) -> dict[int, tuple[str, ...]]:
        """Every approval found broken so far, with its problems."""
        return {a: p for a, (_, p) in sorted(self._verdicts.items()) if p}

    def take_unreported(self) -> dict[int, tuple[str, ...]]:
        """The approvals found broken since the last call (for the audit log), once each."""
        out = {a: self._verdicts[a][1] for a in self._unreported}
        self._unreported = []
        return out


def approval_state(session: Session, dose_id: int) -> ApprovalState:
    """Approved, changed since approval, or never approved: the record as it is now."""
    row = session.execute(select(*RECORD_COLUMNS).where(DoseRecord.id == dose_id)).first()
    if row is None:
        raise CertificateNotFound(f"there is no dose record #{dose_id}")
    digests = approved_digests(session, [dose_id])[dose_id]
    if not digests:
        return ApprovalState.NEVER
    return ApprovalState.APPROVED if record_digest(row) in digests else ApprovalState.CHANGED


@dataclass(frozen=True, slots=True)
class StoredApprovalCheck:
    """One stored approval re-verified by `check_all_approvals`."""

    approval_id: int
    facility_code: str
    record_count: int
    problems: tuple[str, ...]


def check_all_approvals(
    session: Session, anchors: Sequence[x509.Certificate] = (), *, chunk: int = 500
) -> Iterator[StoredApprovalCheck]:
    """Re-verify every stored approval (manifest, signature, certificate, chain to `anchors`), in
    id order, a chunk of approvals at a time."""
    after = 0
    while True:
        batch = session.scalars(
            select(FacilityApproval)
            .where(FacilityApproval.id > after)
            .order_by(FacilityApproval.id)
            .limit(chunk)
        ).all()
        if not batch:
            return
        for approval in batch:
            links = _links(session, approval.id)
            problems = approval_problems(session, approval, anchors, links)
            yield StoredApprovalCheck(
                approval.id, approval.facility_code, len(links), tuple(problems)
            )
        after = batch[-1].id

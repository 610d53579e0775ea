"""Checking a facility approval at any time: rebuild the signed manifest, check its signature and
key, and list the records changed since; and whether one dose is approved as it stands now."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

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


def verify_approval(
    session: Session, approval_id: int, *, cscas: Iterable[x509.Certificate] = ()
) -> ApprovalCheck:
    """Rebuild the signed manifest, check digest, signature and key, and list records changed since.

    With `cscas`, the facility certificate must also have been issued by one of them.
    """
    approval = session.get(FacilityApproval, approval_id)
    if approval is None:
        raise CertificateNotFound(f"there is no facility approval #{approval_id}")
    links = session.execute(
        select(ApprovalRecord.dose_id, ApprovalRecord.record_id, ApprovalRecord.record_digest)
        .where(ApprovalRecord.approval_id == approval_id)
    ).all()  # fmt: skip
    problems: list[str] = []
    manifest = manifest_bytes(
        facility_code=approval.facility_code,
        approver=approval.approver,
        approved_at=approval.approved_at,
        signer_fingerprint=approval.signer_fingerprint,
        records=((r, d) for _, r, d in links),
    )
    if hashlib.sha256(manifest).hexdigest() != approval.manifest_digest:
        problems.append("the stored records do not match the signed manifest")
    if fingerprint(approval.signer_certificate) != approval.signer_fingerprint:
        problems.append("the stored certificate is not the one that signed")
    certificate = x509.load_der_x509_certificate(approval.signer_certificate)
    if not _signature_holds(certificate, approval.signature, manifest):
        problems.append("the signature does not verify")
    problems += certificate_problems(certificate, approval.facility_code, approval.approved_at)
    anchors = list(cscas)
    if anchors and not any(is_issued_by(certificate, ca) for ca in anchors):
        problems.append("the facility certificate was not issued by a trusted CA")
    changed = _changed(session, {i: d for i, _, d in links})
    return ApprovalCheck(
        approval_id, not problems, tuple(problems), len(links), tuple(sorted(changed))
    )


def approval_state(session: Session, dose_id: int) -> ApprovalState:
    """Approved, changed since approval, or never approved: the record as it is now."""
    row = session.execute(select(*RECORD_COLUMNS).where(DoseRecord.id == dose_id)).first()
    if row is None:
        raise CertificateNotFound(f"there is no dose record #{dose_id}")
    digests = approved_digests(session, [dose_id])[dose_id]
    if not digests:
        return ApprovalState.NEVER
    return ApprovalState.APPROVED if record_digest(row) in digests else ApprovalState.CHANGED

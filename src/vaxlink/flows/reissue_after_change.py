"""After a change to a person's records: re-approve the changed dose, re-issue the certificate.

The re-approval signs just that dose with its site's approval key (the same manifest format as
`certificates.approval`); the re-issue revokes a certificate whose facts changed and issues the
new one through the certificate life cycle's own decision rules.

certificates has no front door yet: the calls below into its modules (including the private
`lifecycle._Chunk` / `_signable` and a hand-built `FacilityApproval`) are kept here, in one
place, until `vaxlink.certificates.service` offers them as public operations.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vaxlink.certificates.approval import (
    APPROVABLE,
    MANIFEST_VERSION,
    RECORD_COLUMNS,
    approved_digests,
    facility_signer,
    manifest_bytes,
    record_digest,
)
from vaxlink.certificates.content import contents
from vaxlink.certificates.errors import ApprovalError
from vaxlink.certificates.issuance import (
    Issuer,
    active_of,
    generations,
    issue_for,
    uvci_key_from_secret,
    write_rows,
)
from vaxlink.certificates.keys import KeyStore, Role
from vaxlink.certificates.lifecycle import LifecycleReport, Mode, _Chunk, _signable
from vaxlink.certificates.models import (
    ApprovalRecord,
    Certificate,
    CertificateKind,
    FacilityApproval,
)
from vaxlink.records.service import DoseRecord
from vaxlink.settings import Settings

__all__ = ["ApprovalError", "Reissued", "reapprove_and_reissue"]


def approve_dose(
    session: Session, keys: KeyStore, dose_id: int, *, approver: str, now: datetime
) -> int | None:
    """Sign one verified dose with its site's key, unless it is approved as it stands now."""
    row = session.execute(
        select(*RECORD_COLUMNS, DoseRecord.status).where(DoseRecord.id == dose_id)
    ).first()
    if row is None or row.status not in APPROVABLE or row.citizen_id is None:
        return None
    digest = record_digest(row)
    if digest in approved_digests(session, [dose_id])[dose_id]:
        return None
    if not row.facility_code:
        raise ApprovalError("the dose has no vaccination site, so no site can approve it")
    signer = facility_signer(keys, row.facility_code, now)
    fingerprint = hashlib.sha256(signer.certificate_der).hexdigest()
    approved_at = now.astimezone(UTC).replace(microsecond=0)
    manifest = manifest_bytes(
        facility_code=row.facility_code,
        approver=approver,
        approved_at=approved_at,
        signer_fingerprint=fingerprint,
        records=[(row.record_id, digest)],
    )
    approval = FacilityApproval(
        facility_code=row.facility_code,
        manifest_version=MANIFEST_VERSION,
        manifest_digest=hashlib.sha256(manifest).hexdigest(),
        record_count=1,
        signature=signer.sign(manifest),
        signer_kid=signer.kid.hex(),
        signer_fingerprint=fingerprint,
        signer_certificate=signer.certificate_der,
        approver=approver,
        approved_at=approved_at,
        note="re-approved after a citizen report",
    )
    session.add(approval)
    session.flush()
    session.execute(
        insert(ApprovalRecord),
        [{"approval_id": approval.id, "dose_id": dose_id, "record_id": row.record_id,
          "record_digest": digest}],
    )  # fmt: skip
    return approval.id


def issuer_from(settings: Settings, keys: KeyStore, *, by: str, now: datetime) -> Issuer:
    """The certificate issuer with the active DSC (its key may be encrypted:
    VAXLINK_DSC_PASSPHRASE)."""
    passphrase = os.environ.get("VAXLINK_DSC_PASSPHRASE")
    signer = keys.load(
        Role.DSC, keys.active_dsc_kid(), passphrase=passphrase.encode() if passphrase else None
    )
    secret = settings.uvci_secret.get_secret_value() if settings.uvci_secret else None
    return Issuer(signer, settings.certificate_issuer, now, by, uvci_key_from_secret(secret))


def active_certificate(session: Session, citizen_id: str) -> Certificate | None:
    """The person's active vaccination certificate, if any."""
    return active_of(session, CertificateKind.VACCINATION, [citizen_id]).get(citizen_id)


def reissue_person(session: Session, issuer: Issuer, citizen_id: str) -> Certificate:
    """Bring one person's vaccination certificate in line with their records now.

    Without an active certificate, one is issued; with one whose facts changed, the life cycle's
    rules apply (a correction revokes it and issues the new one); unchanged, it is kept.
    """
    kind = CertificateKind.VACCINATION
    old = active_of(session, kind, [citizen_id]).get(citizen_id)
    if old is None:
        return issue_for(session, issuer, citizen_id, kind)
    content = contents(session, kind, [citizen_id], today=issuer.today)[citizen_id]
    gens = {kind: generations(session, kind, [citizen_id])}
    chunk = _Chunk(session, issuer, Mode.CHANGED, LifecycleReport(Mode.CHANGED), gens,
                   _signable(issuer))  # fmt: skip
    chunk.handle(old, content)
    session.flush()
    write_rows(session, chunk.rows)
    current = active_of(session, kind, [citizen_id]).get(citizen_id)
    if current is None:
        skipped: Counter[str] = chunk.report.skipped
        why = next(iter(skipped), "the records no longer support a certificate")
        raise ApprovalError(f"the certificate was withdrawn and none can be issued now: {why}")
    return current


@dataclass(frozen=True, slots=True)
class Reissued:
    """What re-approving and re-issuing did."""

    approval_id: int | None
    certificate_uvci: str
    revoked_uvci: str | None
    #: True when the person had no certificate before or theirs was replaced.
    reissued: bool


def reapprove_and_reissue(
    session: Session, *, citizen_id: str, dose_id: int | None, by: str, settings: Settings,
    now: datetime,
) -> Reissued:  # fmt: skip
    """Re-approve `dose_id` (when given) as it stands now, then bring the person's certificate
    in line with their records; raises ApprovalError saying which step cannot be done."""
    keys = KeyStore(settings.data_dir / "keys")
    approval_id = None
    if dose_id is not None:
        approval_id = approve_dose(session, keys, dose_id, approver=by, now=now)
    before = active_certificate(session, citizen_id)
    before_uvci = before.uvci if before is not None else None
    certificate = reissue_person(session, issuer_from(settings, keys, by=by, now=now), citizen_id)
    revoked = before_uvci if before_uvci and before_uvci != certificate.uvci else None
    return Reissued(approval_id, certificate.uvci, revoked,
                    revoked is not None or before_uvci is None)  # fmt: skip

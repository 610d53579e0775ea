"""The front door of certificates: the operations other domains call, and what they may read.

Other domains import `vaxlink.certificates` through this module only. Store operations take a
`Session` (the caller owns the transaction: they flush, never commit) or, for the batch sweeps
that commit chunk by chunk, an `Engine`. Failures raise `CertificateError` subclasses.

- Approval by a site: `approve_records` (a site's doses with its signer), `approve_doses` and
  `approve_dose` (given doses, each site's newest valid key unlocked for a `SigningCredential`:
  an approver account of that site and its signing passphrase), `approval_state`,
  `verify_approval`.
- Issuance: `Issuer`, `issue_batch` (everyone ready), `issue_for` (one person online),
  `active_of` / `current_certificate`; recoveries: `record_recovery`.
- After a site signed: `approved_people` (whose doses an approval covers), `reapproved_people`
  (whose corrected doses it signs again, so whose certificate may be behind).
- Freshness: `freshness` (does a person's certificate attest what their records say now, and
  which dose waits for which site's signature).
- Life cycle: `revoke`, `reissue_person` (one person after a change, in the caller's
  transaction), the sweeps `reissue_changed`, `renew_expiring`, `reissue_for_dsc`, `dsc_report`;
  the renewal job that runs by itself (`RenewalJob`, as `RENEWAL_JOB`).
- Verification: `verify` (raises a typed error) and `verification_result` (the structured result
  the verifier page shows), trust and revocation sources, the published lists.
- Documents: `certificate_view` (JSON), `certificate_pdf`, `certificate_fhir`,
  `smart_health_card_file`, `qr_svg`, `read_qr`.
- Keys: `KeyStore` (the signer itself comes from the composition root), the certificate hierarchy (`create_csca`, `create_dsc`, …).
- Client applications: `add_client`, `authenticate_client` and their scopes.

Documents and QR images load Pillow, zxing-cpp and WeasyPrint only when first used.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxlink.certificates.approval.check import (
    ApprovalCheck,
    ApprovalState,
    ApprovalVerdicts,
    StoredApprovalCheck,
    approval_state,
    check_all_approvals,
    verify_approval,
)
from vaxlink.certificates.approval.signing import (
    ApprovalResult,
    SigningCredential,
    approve_dose,
    approve_doses,
    approve_records,
    facility_signer,
    unlock_site_key,
)
from vaxlink.certificates.clients import (
    READ_CERTIFICATES,
    VERIFY_IDENTITY,
    ClientQuota,
    ClientQuotaExceeded,
    add_client,
)
from vaxlink.certificates.clients import authenticate as authenticate_client
from vaxlink.certificates.core.display import DisplayField, display_fields
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.core.trust import (
    InMemoryRevocationList,
    InMemoryTrustList,
    RevocationSource,
    TrustSource,
)
from vaxlink.certificates.core.verify import Step, Verified, verify
from vaxlink.certificates.errors import (
    ApprovalError,
    CertificateError,
    CertificateNotFound,
    IssuanceInvalid,
    KeyManagementError,
    QrNotFound,
    TransitionInvalid,
    VerifierFault,
)
from vaxlink.certificates.issuance.batch import BatchReport, active_of, issue_batch, issue_for
from vaxlink.certificates.issuance.content import Freshness, PendingDose, Waiting
from vaxlink.certificates.issuance.content import freshness as _freshness
from vaxlink.certificates.issuance.issuer import Issuer, uvci_key_from_secret
from vaxlink.certificates.issuance.lifecycle import DscReport, dsc_report, expire_lapsed, revoke
from vaxlink.certificates.issuance.recovery import record_recovery
from vaxlink.certificates.issuance.sweep import (
    LifecycleReport,
    Mode,
    reissue_changed,
    reissue_for_dsc,
    reissue_person,
    renew_expiring,
)
from vaxlink.certificates.keys.hierarchy import (
    DccType,
    KeyPair,
    create_csca,
    create_district_signer,
    create_dsc,
    create_facility_signer,
    create_trust_list_signer,
)
from vaxlink.certificates.keys.store import (
    DscPlan,
    KeyStore,
    Role,
    dsc_plan,
    rotate_dsc,
    signing_dsc_kid,
)
from vaxlink.certificates.models import (
    APPROVABLE,
    TABLES,
    Certificate,
    CertificateKind,
    CertificateStatus,
)
from vaxlink.certificates.push import Pusher, PushReport
from vaxlink.certificates.renewal import RENEWAL_JOB, RenewalJob
from vaxlink.certificates.verification.result import VerificationResult, verification_result
from vaxlink.certificates.verification.store import (
    KeyStoreTrust,
    StoreRevocationList,
    published_trust_list,
    revocation_document,
)
from vaxlink.certificates.verification.submission import UPLOAD_LIMIT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cryptography import x509
    from sqlalchemy.orm import Session

__all__ = [
    "APPROVABLE",
    "READ_CERTIFICATES",
    "RENEWAL_JOB",
    "TABLES",
    "UPLOAD_LIMIT",
    "VERIFY_IDENTITY",
    "ApprovalCheck",
    "ApprovalError",
    "ApprovalResult",
    "ApprovalState",
    "ApprovalVerdicts",
    "BatchReport",
    "Certificate",
    "CertificateError",
    "CertificateKind",
    "CertificateNotFound",
    "CertificateStatus",
    "ClientQuota",
    "ClientQuotaExceeded",
    "DccType",
    "DisplayField",
    "DscPlan",
    "DscReport",
    "Freshness",
    "InMemoryRevocationList",
    "InMemoryTrustList",
    "IssuanceInvalid",
    "Issuer",
    "KeyManagementError",
    "KeyPair",
    "KeyStore",
    "KeyStoreTrust",
    "LifecycleReport",
    "Mode",
    "PendingDose",
    "PushReport",
    "Pusher",
    "QrNotFound",
    "RenewalJob",
    "RevocationSource",
    "Role",
    "Signer",
    "SigningCredential",
    "Step",
    "StoreRevocationList",
    "StoredApprovalCheck",
    "TransitionInvalid",
    "TrustSource",
    "VerificationResult",
    "Verified",
    "VerifierFault",
    "Waiting",
    "active_of",
    "add_client",
    "approval_state",
    "approve_dose",
    "approve_doses",
    "approve_records",
    "approved_people",
    "authenticate_client",
    "certificate_fhir",
    "certificate_pdf",
    "certificate_view",
    "check_all_approvals",
    "create_csca",
    "create_district_signer",
    "create_dsc",
    "create_facility_signer",
    "create_trust_list_signer",
    "current_certificate",
    "display_fields",
    "dsc_plan",
    "dsc_report",
    "expire_lapsed",
    "facility_signer",
    "freshness",
    "issue_batch",
    "issue_for",
    "published_trust_list",
    "qr_svg",
    "read_qr",
    "reapproved_people",
    "record_recovery",
    "reissue_changed",
    "reissue_for_dsc",
    "reissue_person",
    "renew_expiring",
    "revocation_document",
    "revoke",
    "rotate_dsc",
    "signing_dsc_kid",
    "smart_health_card_file",
    "unlock_site_key",
    "uvci_key_from_secret",
    "verification_result",
    "verify",
    "verify_approval",
]


def freshness(
    session: Session,
    citizen_id: str,
    *,
    anchors: Sequence[x509.Certificate] = (),
    approvals: ApprovalVerdicts | None = None,
) -> Freshness:
    """The person's active vaccination certificate beside their records now: whether it agrees
    (`agrees`), attests facts no record holds any more (`disagrees`), and which doses wait for
    which site's signature (`pending`); approvals are re-verified (chained to `anchors`), or
    through the run's `approvals` (an issuer's)."""
    return _freshness(session, citizen_id, approvals or ApprovalVerdicts(anchors))


def approved_people(session: Session, approval_id: int) -> set[str]:
    """The people whose doses an approval covers (what may change once a site signed)."""
    from sqlalchemy import select

    from vaxlink.certificates.models import ApprovalRecord
    from vaxlink.records.service import DoseRecord

    stmt = (
        select(DoseRecord.citizen_id)
        .join(ApprovalRecord, ApprovalRecord.dose_id == DoseRecord.id)
        .where(ApprovalRecord.approval_id == approval_id, DoseRecord.citizen_id.is_not(None))
        .distinct()
    )
    return {c for c in session.scalars(stmt) if c}


def reapproved_people(session: Session, approval_id: int) -> set[str]:
    """The people with an active certificate some of whose doses this approval signs again in a
    changed form (a correction after an earlier approval): whose certificate may now be behind."""
    from sqlalchemy import and_, exists, select
    from sqlalchemy.orm import aliased

    from vaxlink.certificates.models import ApprovalRecord, Certificate, CertificateStatus
    from vaxlink.records.service import DoseRecord

    earlier = aliased(ApprovalRecord)
    stmt = (
        select(DoseRecord.citizen_id)
        .join(ApprovalRecord, ApprovalRecord.dose_id == DoseRecord.id)
        .where(ApprovalRecord.approval_id == approval_id, DoseRecord.citizen_id.is_not(None),
               exists().where(and_(earlier.dose_id == ApprovalRecord.dose_id,
                                   earlier.approval_id < approval_id,
                                   earlier.record_digest != ApprovalRecord.record_digest)),
               exists().where(and_(Certificate.citizen_id == DoseRecord.citizen_id,
                                   Certificate.status == CertificateStatus.ACTIVE.value)))
        .distinct()
    )  # fmt: skip
    return {c for c in session.scalars(stmt) if c}


def current_certificate(
    session: Session, citizen_id: str, kind: CertificateKind = CertificateKind.VACCINATION
) -> Certificate:
    """The person's active certificate of this type (`CertificateNotFound` without one)."""
    from vaxlink.certificates import documents

    return documents.current_certificate(session, citizen_id, kind)


def certificate_view(certificate: Certificate) -> dict[str, Any]:
    """What an app shows and stores: the QR text, its identifier, validity and labelled fields."""
    from vaxlink.certificates import documents

    return documents.certificate_view(certificate)


def certificate_pdf(certificate: Certificate) -> bytes:
    """The bilingual A4 PDF of a vaccination or recovery certificate, with its signed QR."""
    from vaxlink.certificates import documents

    return documents.certificate_pdf(certificate)


def certificate_fhir(session: Session, certificate: Certificate, *, now: datetime) -> str:
    """The FHIR document Bundle (JSON) of a certificate: WHO DDCC:VS for a vaccination, a
    Condition for a recovery."""
    from vaxlink.certificates import documents

    return documents.certificate_fhir(session, certificate, now=now)


def smart_health_card_file(
    session: Session, certificate: Certificate, signer: Signer, *, issuer_url: str
) -> str:
    """The vaccination as a `.smart-health-card` file ({"verifiableCredential": [JWS]}), signed
    now by `signer` (the issuer's DSC) for the SHC issuer `issuer_url`."""
    from vaxlink.certificates import documents
    from vaxlink.certificates.core.shc import card_file

    return card_file(documents.certificate_shc(session, certificate, signer, issuer_url=issuer_url))


def qr_svg(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    """An SVG QR code of `text` (an HC1 text) for pages and documents."""
    from vaxlink.certificates import qrimage

    return qrimage.qr_svg(text, scale=scale, border=border)


def read_qr(source: str | Path | bytes) -> str:
    """The text of the first QR code in a raster image (a path or the file's bytes);
    `QrNotFound` when there is none or the file is not an image."""
    from vaxlink.certificates import qrimage

    return qrimage.read_qr(source)

"""The issuer: who signs, under which name and UVCI key, at what time; one signed row per content.

Shared by batch issuance (`batch`), the life-cycle sweeps (`sweep`) and online issuance: it picks
the validity (12 months, capped by the DSC and a recovery's end), the deterministic UVCI, and
signs with `core.issue`; `write_rows` stores the rows and turns a concurrent writer into a clear
error.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Final

from cryptography import x509
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vaxlink.auth.service import NewAuditEntry, append_many
from vaxlink.certificates import feed
from vaxlink.certificates.approval.check import ApprovalVerdicts
from vaxlink.certificates.approval.district import DistrictVerdicts
from vaxlink.certificates.core.issue import Months, add_validity, issue
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.errors import (
    IssuanceConflict,
    IssuanceInvalid,
    KeyUsageInvalid,
)
from vaxlink.certificates.issuance.content import Content
from vaxlink.certificates.keys.hierarchy import dcc_types
from vaxlink.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
)

#: Vaccination certificates are valid for 12 calendar months (never past their DSC).
VACCINATION_VALIDITY: Final = Months(12)
#: The shortest validity worth issuing; below it the DSC must be rotated first.
MIN_VALIDITY: Final = timedelta(days=1)
DEFAULT_CHUNK: Final = 1_000
#: The issuing country in the CWT (`iss`); the issuer's name goes into the payload's `is`.
ISSUING_COUNTRY: Final = "VN"

Progress = Callable[[int, int], None]


class Reason:
    """Why a certificate row was created (`created_reason`)."""

    ISSUE = "issue"
    RENEWAL = "renewal"
    CORRECTION = "correction"
    NEW_DOSE = "new_dose"
    NEW_RECOVERY = "new_recovery"
    DSC_REPLACED = "dsc_replaced"


class _Fixed:
    """A signer whose kid, algorithm and certificate are read once (a `KeyPair` re-encodes its
    certificate on every access, which costs more than a third of a signature)."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self.kid: bytes = signer.kid
        self.algorithm: int = signer.algorithm
        self.certificate_der: bytes = signer.certificate_der

    def sign(self, data: bytes) -> bytes:
        """Sign with the wrapped signer."""
        return self._signer.sign(data)


@dataclass(frozen=True)
class Issuer:
    """Who signs, under which name, with which UVCI key, at what time, on whose behalf."""

    signer: Signer
    issuer_name: str
    now: datetime
    by: str
    uvci_key: bytes | None = None
    #: The CAs a facility-approval certificate must chain to (the CSCAs); empty: not checked.
    anchors: tuple[x509.Certificate, ...] = ()
    #: Doses must also be on a sound list signed by their resident's district
    #: (`require_district_approval`).
    require_district: bool = False
    _dsc: x509.Certificate = field(init=False, repr=False, compare=False)
    #: Each approval a certificate rests on, re-verified once per issuer (one run).
    approvals: ApprovalVerdicts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise IssuanceInvalid("the issuance time must be timezone-aware")
        signer = self.signer if isinstance(self.signer, _Fixed) else _Fixed(self.signer)
        object.__setattr__(self, "signer", signer)
        object.__setattr__(self, "_dsc", x509.load_der_x509_certificate(signer.certificate_der))
        district = DistrictVerdicts(self.anchors) if self.require_district else None
        object.__setattr__(self, "approvals", ApprovalVerdicts(self.anchors, district=district))

    @property
    def today(self) -> date:
        """The issue day (UTC)."""
        return self.now.astimezone(UTC).date()

    @property
    def kid_hex(self) -> str:
        """The signing DSC's key id, hex."""
        return self.signer.kid.hex()

    def require(self, kind: CertificateKind) -> None:
        """Fail before a batch starts when the DSC may not sign this type or has no time left."""
        if kind.value not in {t.value for t in dcc_types(self._dsc)}:
            raise KeyUsageInvalid(
                f"the active DSC ({self.kid_hex}) may not sign type {kind.value!r}; "
                "issue a DSC with that --type"
            )
        if self._dsc.not_valid_after_utc - self.now < MIN_VALIDITY:
            raise IssuanceInvalid(
                f"the active DSC expires {self._dsc.not_valid_after_utc:%Y-%m-%d}; rotate it first"
            )

    def expiry(self, content: Content) -> datetime:
        """When a certificate issued now for `content` expires: 12 months, capped by DSC/recovery."""
        start = datetime.fromtimestamp(int(self.now.timestamp()), UTC)
        end = add_validity(start, VACCINATION_VALIDITY)
        if content.valid_until is not None:
            day_after = content.valid_until + timedelta(days=1)
            end = min(end, datetime.combine(day_after, clock_time(0), UTC))
        return min(end, self._dsc.not_valid_after_utc)

    def audit_refusals(self, session: Session) -> dict[int, tuple[str, ...]]:
        """Write one audit entry per approval found broken since the last call (in the caller's
        transaction): the certificates resting on it were refused. Returns those approvals."""
        failed = self.approvals.take_unreported()
        entries = [
            NewAuditEntry(actor=None, action="certificate.issue_refused",
                          object_type="facility_approval", object_id=str(approval_id),
                          detail={"by": self.by, "problems": list(problems)}, at=self.now)
            for approval_id, problems in failed.items()
        ]  # fmt: skip
        district = self.approvals.district
        if district is not None:
            entries += [
                NewAuditEntry(actor=None, action="certificate.issue_refused",
                              object_type="district_approval", object_id=str(approval_id),
                              detail={"by": self.by, "problems": list(problems)}, at=self.now)
                for approval_id, problems in district.take_unreported().items()
            ]  # fmt: skip
        if entries:
            append_many(session, entries)
        return failed

    def uvci(self, content: Content, generation: int) -> str:
        """Deterministic: the same person, facts and generation always get the same UVCI."""
        seed = f"{content.citizen_id}|{content.kind.value}|{content.digest}|{generation}"
        return uvci_from_seed(seed, key=self.uvci_key, country=ISSUING_COUNTRY)

    def row(
        self, content: Content, *, generation: int, reason: str, replaces: int | None = None
    ) -> dict[str, Any]:
        """A signed certificate for `content`, as a row for the `certificate` table."""
        uvci = self.uvci(content, generation)
        payload = content.payload(uvci=uvci, issuer=self.issuer_name)
        start = datetime.fromtimestamp(int(self.now.timestamp()), UTC)
        validity = self.expiry(content) - start
        if validity < MIN_VALIDITY:
            raise IssuanceInvalid("less than a day of validity is left; rotate the DSC")
        signed = issue(
            payload, self.signer, issuer=ISSUING_COUNTRY, issued_at=start, validity=validity
        )
        return {
            "uvci": signed.uvci,
            "citizen_id": content.citizen_id,
            "kind": content.kind.value,
            "payload": payload,
            "hc1": signed.hc1,
            "kid": signed.kid.hex(),
            "iat": signed.iat,
            "exp": signed.exp,
            "status": CertificateStatus.ACTIVE.value,
            "content_digest": content.digest,
            "generation": generation,
            "dose_id": content.dose_id,
            "recovery_id": content.recovery_id,
            "replaces_id": replaces,
            "created_at": self.now,
            "created_by": self.by,
            "created_reason": reason,
        }


def generations(
    session: Session, kind: CertificateKind, citizen_ids: Sequence[str]
) -> Counter[tuple[str, str]]:
    """How many certificates each (person, content digest) already has, of any status."""
    stmt = (
        select(Certificate.citizen_id, Certificate.content_digest, func.count())
        .where(Certificate.kind == kind.value, Certificate.citizen_id.in_(citizen_ids))
        .group_by(Certificate.citizen_id, Certificate.content_digest)
    )
    return Counter({(c, d): n for c, d, n in session.execute(stmt)})


def write_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new certificates; a concurrent writer for the same person becomes a clear error."""
    if not rows:
        return
    try:
        session.execute(insert(Certificate), rows)
    except IntegrityError as exc:
        raise IssuanceConflict(
            "another issuance run wrote a certificate for one of these people at the same time; "
            "run again once it has finished"
        ) from exc
    # the partners' change feed, in the same transaction (issue #18)
    feed.record_issued(session, [row["uvci"] for row in rows])


def uvci_key_from_secret(secret: str | None) -> bytes | None:
    """The HMAC key for UVCIs from the configured secret (None: unkeyed, for development)."""
    return hashlib.sha256(secret.encode("utf-8")).digest() if secret else None

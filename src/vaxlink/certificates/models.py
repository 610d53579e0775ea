"""Certificate tables: facility approvals, issued certificates, recoveries, revocations, API clients.

Every row that changes a person's certificate keeps who, when and why; rows are never deleted.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime
from vaxlink.records.service import DoseRecord, DoseStatus, status_is
from vaxlink.registry.service import Citizen

_ID = BigInteger().with_variant(Integer, "sqlite")
_JSON = JSON().with_variant(JSONB(), "postgresql")


class CertificateStatus(StrEnum):
    """Where an issued certificate stands; moves only along `TRANSITIONS`."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    EXPIRED = "expired"


#: The one transition table. Superseded certificates are still in people's hands and still verify
#: until they expire, so they can be revoked; revoked and expired are final.
TRANSITIONS: Final[dict[CertificateStatus, frozenset[CertificateStatus]]] = {
    CertificateStatus.ACTIVE: frozenset(
        {CertificateStatus.SUPERSEDED, CertificateStatus.REVOKED, CertificateStatus.EXPIRED}
    ),
    CertificateStatus.SUPERSEDED: frozenset({CertificateStatus.REVOKED}),
    CertificateStatus.REVOKED: frozenset(),
    CertificateStatus.EXPIRED: frozenset(),
}


class CertificateKind(StrEnum):
    """EU DCC certificate types vaxlink issues."""

    VACCINATION = "v"
    RECOVERY = "r"


class FacilityApproval(Base):
    """One signature by a vaccination site's approver over the digests of the records it vouches for."""

    __tablename__ = "facility_approval"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    facility_code: Mapped[str] = mapped_column(String(64), index=True)
    manifest_version: Mapped[str] = mapped_column(String(32))
    #: SHA-256 (hex) of the canonical manifest bytes that were signed.
    manifest_digest: Mapped[str] = mapped_column(String(64), unique=True)
    record_count: Mapped[int] = mapped_column(Integer)
    #: ES256 signature, raw r||s, over the canonical manifest bytes.
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signer_kid: Mapped[str] = mapped_column(String(16))
    #: SHA-256 (hex) of the facility certificate's DER encoding.
    signer_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    signer_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    approver: Mapped[str] = mapped_column(String(120))
    approved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class ApprovalRecord(Base):
    """A dose record covered by an approval, with the digest of the record as it was approved."""

    __tablename__ = "facility_approval_record"

    approval_id: Mapped[int] = mapped_column(ForeignKey("facility_approval.id"), primary_key=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("dose_record.id"), primary_key=True, index=True)
    record_id: Mapped[str] = mapped_column(String(64))
    record_digest: Mapped[str] = mapped_column(String(64))


class DistrictApproval(Base):
    """One signature by a district health centre over the list of its residents' verified records
    as they stood: a manifest binding every (dose, version, record digest, site approval)."""

    __tablename__ = "district_approval"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(3), index=True)
    manifest_version: Mapped[str] = mapped_column(String(40))
    #: SHA-256 (hex) of the canonical manifest bytes that were signed.
    manifest_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 (hex) of the entry lines (`district.entry_line`) in dose-id order.
    entries_digest: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    #: ES256 signature, raw r||s, over the canonical manifest bytes.
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signer_kid: Mapped[str] = mapped_column(String(16))
    #: SHA-256 (hex) of the district certificate's DER encoding.
    signer_fingerprint: Mapped[str] = mapped_column(String(64))
    signer_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    approver: Mapped[str] = mapped_column(String(120))
    approved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class DistrictApprovalEntry(Base):
    """A dose on a district's signed list: its version and record digest as signed, and the site
    approval that covered it then."""

    __tablename__ = "district_approval_entry"

    approval_id: Mapped[int] = mapped_column(ForeignKey("district_approval.id"), primary_key=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("dose_record.id"), primary_key=True, index=True)
    dose_version: Mapped[int] = mapped_column(Integer)
    record_digest: Mapped[str] = mapped_column(String(64))
    site_approval_id: Mapped[int] = mapped_column(ForeignKey("facility_approval.id"))


class RecoveryRecord(Base):
    """A recovery from COVID-19 as the commune health station entered it; a correction is a new row."""

    __tablename__ = "recovery_record"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(12), index=True)
    first_positive: Mapped[dt.date] = mapped_column(Date)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    station_code: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class Certificate(Base):
    """One signed EU DCC as issued; the HC1 text is what the QR code carries."""

    __tablename__ = "certificate"
    __table_args__ = (
        # At most one active certificate per person and type: a crashed or concurrent batch
        # cannot leave two behind.
        Index(
            "ux_certificate_active_person",
            "citizen_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_certificate_status_exp", "status", "exp"),
        Index("ix_certificate_kid_status", "kid", "status"),
        Index("ix_certificate_person_content", "citizen_id", "kind", "content_digest"),
        # An account's certificates of a day: the daily issuance cap and the console's volumes.
        Index("ix_certificate_by_created", "created_by", "created_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    uvci: Mapped[str] = mapped_column(String(72), unique=True)
    citizen_id: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(1))
    payload: Mapped[dict[str, Any]] = mapped_column(_JSON)
    hc1: Mapped[str] = mapped_column(Text)
    #: Key id of the signing DSC, hex.
    kid: Mapped[str] = mapped_column(String(16))
    iat: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    exp: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(12), default=CertificateStatus.ACTIVE)
    #: SHA-256 (hex) of the facts the certificate attests (not its UVCI, issuer or validity).
    content_digest: Mapped[str] = mapped_column(String(64))
    #: How many earlier certificates of this person and type attested the same facts.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    dose_id: Mapped[int | None] = mapped_column(ForeignKey("dose_record.id"))
    recovery_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_record.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    created_reason: Mapped[str] = mapped_column(String(32))
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    status_changed_by: Mapped[str | None] = mapped_column(String(120))
    status_reason: Mapped[str | None] = mapped_column(String(255))


class Revocation(Base):
    """A revoked certificate as verifiers learn of it: the SHA-256 of its UVCI (EU hash type UCI)."""

    __tablename__ = "revocation"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    #: SHA-256 (hex) of the UTF-8 UVCI; lists publish its first 16 bytes.
    uvci_hash: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    reason: Mapped[str] = mapped_column(String(255))
    revoked_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class ApiClient(Base):
    """A citizen application (PC-COVID, VNeID, …) allowed to fetch certificates with a bearer token."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 (hex) of the token; the token itself (32 random bytes) is shown once and not kept.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    #: Which fields it may read: `full` (the whole certificate, PDF, FHIR) or `minimal` (name,
    #: date of birth and validity only).
    fields: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    #: Which certificate kinds it may read, space-separated (`v`, `r`).
    kinds: Mapped[str] = mapped_column(String(16), default="v r", server_default="v r")
    #: Its own requests a minute; None: the setting `partner_requests_per_minute`.
    per_minute: Mapped[int | None] = mapped_column(Integer)
    #: The token is refused from this instant on; None: no expiry.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    #: Last authenticated request (to the minute: it is written at most once a minute).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    #: When the token was last replaced (`api-client rotate`), and by whom.
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    #: HTTPS address the change feed is pushed to (POST); None: the client polls.
    push_url: Mapped[str | None] = mapped_column(String(500))
    #: Feed position up to which pushes were acknowledged (2xx) by the receiver.
    push_cursor: Mapped[int] = mapped_column(_ID, default=0, server_default="0")
    #: The end of the batch being delivered (fixed on its first try: a retry sends the same
    #: events under the same idempotency key); None: no batch in flight.
    push_batch_end: Mapped[int | None] = mapped_column(_ID)
    push_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    push_next_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    push_last_error: Mapped[str | None] = mapped_column(String(255))
    push_delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CertificateChange(Base):
    """One event of the partner change feed (issued, reissued, renewed, revoked), written in the
    transaction that changed the certificate. `position` is NULL until the feed's sequencer
    (`certificates.feed.sequence`) numbers it: only committed rows are numbered, one sequencer
    at a time, so positions become visible in increasing order and a cursor never skips one."""

    __tablename__ = "certificate_change"
    __table_args__ = (
        Index(
            "ix_certificate_change_pending",
            "id",
            sqlite_where=text("position IS NULL"),
            postgresql_where=text("position IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    position: Mapped[int | None] = mapped_column(_ID, unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    event: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(1))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ChangeFeedHead(Base):
    """The feed's single row: the last position handed out. Its row lock is the sequencer's turn."""

    __tablename__ = "certificate_change_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(_ID, default=0)
    sequenced_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CertificateAccess(Base):
    """One fetch of a person's certificate by a client application (who, whose, what, when);
    whose is the person's opaque reference (`vaxlink.records.refs`), never the ID number."""

    __tablename__ = "certificate_access"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    person_ref: Mapped[str] = mapped_column(String(32), index=True)
    document: Mapped[str] = mapped_column(String(8))
    accessed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


#: The tables of this module, for tests that create them on a store migrated before they existed.
TABLES: Final = (
    FacilityApproval.__table__,
    ApprovalRecord.__table__,
    RecoveryRecord.__table__,
    Certificate.__table__,
    Revocation.__table__,
    ApiClient.__table__,
    CertificateAccess.__table__,
    CertificateChange.__table__,
    ChangeFeedHead.__table__,
    DistrictApproval.__table__,
    DistrictApprovalEntry.__table__,
)


#: Dose statuses a facility may approve: linked to a registry citizen by verification.
APPROVABLE: Final = (DoseStatus.VERIFIED.value, DoseStatus.AUTO_LINKED.value)
_DOSE = DoseRecord.__table__.c


def approvable() -> ColumnElement[bool]:
    """The approvable statuses as the approval index states them (the approval queries repeat
    it, so that SQLite uses the index: see `status_is`)."""
    return status_is(APPROVABLE)


# A site's approvable doses in id order (the keyset of the approval queue and of signing). Only
# approvable doses are in it: an import's new (pending) doses never are, so a bulk load keeps it
# as it is instead of rebuilding it.
Index("ix_dose_record_approvable", _DOSE.facility_code, _DOSE.id,
      sqlite_where=approvable(), postgresql_where=approvable())  # fmt: skip

# A district's residents (the district approval selects its list by them, set-based).
Index("ix_citizen_district", Citizen.__table__.c.district_code, Citizen.__table__.c.citizen_id)

"""Issuance over the store: one person online, or everyone ready in keyset-paginated chunks.

The keyset walks people by citizen ID (an index range scan, so every chunk costs the same however
many certificates exist). Each chunk is read, signed and written in its own transaction, so a run
that stops half-way keeps every finished chunk, and the next run skips the people who already hold
an active certificate: no duplicates (a partial unique index also allows only one active
certificate per person and type) and no gaps (the keyset restarts from the first person). Memory
holds one chunk.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Final

from cryptography import x509
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vaxlink.certificates.core.issue import Months, add_validity, issue
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.errors import (
    CertificateError,
    IssuanceConflict,
    IssuanceInvalid,
    KeyUsageInvalid,
    SchemaInvalid,
)
from vaxlink.certificates.issuance.content import Content, Skip, contents
from vaxlink.certificates.keys.hierarchy import dcc_types
from vaxlink.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RecoveryRecord,
)
from vaxlink.db import transaction
from vaxlink.records.service import DoseRecord

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
    _dsc: x509.Certificate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise IssuanceInvalid("the issuance time must be timezone-aware")
        signer = self.signer if isinstance(self.signer, _Fixed) else _Fixed(self.signer)
        object.__setattr__(self, "signer", signer)
        object.__setattr__(self, "_dsc", x509.load_der_x509_certificate(signer.certificate_der))

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


@dataclass
class BatchReport:
    """What a batch did: people looked at, certificates issued, people skipped by reason."""

    kind: CertificateKind
    #: People with records of this kind when the batch started (the progress total).
    people: int = 0
    looked_at: int = 0
    already_active: int = 0
    issued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    chunks: int = 0
    seconds: float = 0.0


#: Records read per chunk of people (a person has about two doses).
_ROWS_PER_PERSON: Final = 3


def _people_column(kind: CertificateKind) -> Any:
    """The indexed citizen-ID column of the records a certificate of this kind rests on."""
    return (
        DoseRecord.citizen_id if kind is CertificateKind.VACCINATION else RecoveryRecord.citizen_id
    )


def next_people(session: Session, kind: CertificateKind, after: str, size: int) -> list[str]:
    """At most `size` people from the next window of records after citizen ID `after`, in order.

    The window is a plain index range scan with a limit, so its cost does not grow with the
    table; whether a person's records are verified and approved is decided per person later.
    """
    column = _people_column(kind)
    window = (
        select(column.label("citizen_id"))
        .where(column > after)
        .order_by(column)
        .limit(size * _ROWS_PER_PERSON)
        .subquery()
    )
    stmt = select(window.c.citizen_id).distinct().order_by(window.c.citizen_id).limit(size)
    return list(session.scalars(stmt))


def count_people(session: Session, kind: CertificateKind) -> int:
    """People with records of this kind (verified or not)."""
    column = _people_column(kind)
    return int(session.scalar(select(func.count(func.distinct(column)))) or 0)


def active_of(
    session: Session, kind: CertificateKind, citizen_ids: Sequence[str]
) -> dict[str, Certificate]:
    """The active certificate of this kind of each of `citizen_ids` who holds one.

    Looked up by person only (people hold a handful of certificates), so the plan is an index
    probe whatever the statistics say about the status column of a fast-growing table.
    """
    stmt = select(Certificate).where(
        Certificate.citizen_id.in_(citizen_ids), Certificate.kind == kind.value
    )
    active = CertificateStatus.ACTIVE.value
    return {c.citizen_id: c for c in session.scalars(stmt) if c.status == active}


def with_active(session: Session, kind: CertificateKind, citizen_ids: Sequence[str]) -> set[str]:
    """Those of `citizen_ids` who hold an active certificate of this kind."""
    stmt = select(Certificate.citizen_id, Certificate.status).where(
        Certificate.citizen_id.in_(citizen_ids), Certificate.kind == kind.value
    )
    active = CertificateStatus.ACTIVE.value
    return {c for c, status in session.execute(stmt) if status == active}


def issue_people(
    session: Session, issuer: Issuer, kind: CertificateKind, citizen_ids: Sequence[str]
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Signed rows for those of `citizen_ids` who are ready, and the others counted by reason."""
    found = contents(session, kind, citizen_ids, today=issuer.today)
    gens = generations(session, kind, citizen_ids)
    rows: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    for citizen_id in citizen_ids:
        content = found[citizen_id]
        if isinstance(content, Skip):
            skipped[content.value] += 1
            continue
        generation = gens[(citizen_id, content.digest)]
        try:
            rows.append(issuer.row(content, generation=generation, reason=Reason.ISSUE))
        except (SchemaInvalid, IssuanceInvalid):
            skipped[Skip.INVALID_DATA.value] += 1
    return rows, skipped


def issue_for(
    session: Session, issuer: Issuer, citizen_id: str, kind: CertificateKind
) -> Certificate:
    """Issue one person's certificate now (online path); flushes, the caller commits."""
    issuer.require(kind)
    active = active_of(session, kind, [citizen_id]).get(citizen_id)
    if active is not None:
        return active
    rows, skipped = issue_people(session, issuer, kind, [citizen_id])
    if not rows:
        reason = next(iter(skipped))
        raise IssuanceInvalid(f"no certificate can be issued for this person now: {reason}")
    write_rows(session, rows)
    certificate = session.scalar(select(Certificate).where(Certificate.uvci == rows[0]["uvci"]))
    if certificate is None:  # pragma: no cover - just inserted in this transaction
        raise CertificateError("the new certificate was not stored")
    return certificate


def issue_batch(
    engine: Engine,
    signer: Signer,
    *,
    issuer_name: str,
    by: str,
    kind: CertificateKind = CertificateKind.VACCINATION,
    now: datetime | None = None,
    uvci_key: bytes | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> BatchReport:
    """Issue a certificate to everyone ready who has no active one, one committed chunk at a time."""
    started = time.perf_counter()
    issuer = Issuer(signer, issuer_name, now or datetime.now(UTC), by, uvci_key)
    issuer.require(kind)
    report = BatchReport(kind)
    with transaction(engine) as session:
        report.people = count_people(session, kind)
    if on_progress:
        on_progress(0, report.people)
    after = ""
    while True:
        with transaction(engine) as session:
            people = next_people(session, kind, after, chunk_size)
            if not people:
                break
            done = with_active(session, kind, people)
            todo = [p for p in people if p not in done]
            rows, skipped = issue_people(session, issuer, kind, todo) if todo else ([], Counter())
            write_rows(session, rows)
        after = people[-1]
        report.looked_at += len(people)
        report.already_active += len(done)
        report.issued += len(rows)
        report.skipped.update(skipped)
        report.chunks += 1
        if on_progress:
            on_progress(report.looked_at, max(report.people, report.looked_at))
    report.seconds = time.perf_counter() - started
    return report


def uvci_key_from_secret(secret: str | None) -> bytes | None:
    """The HMAC key for UVCIs from the configured secret (None: unkeyed, for development)."""
    return hashlib.sha256(secret.encode("utf-8")).digest() if secret else None

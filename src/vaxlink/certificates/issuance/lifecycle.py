"""Certificate life cycle: revoke, expire, re-issue after a correction, renew, replace a DSC.

Statuses move only along `models.TRANSITIONS`. A certificate whose facts turned out wrong is
revoked (its UVCI hash goes on the revocation list verifiers download); one that is still true but
replaced (renewal, a newer dose, a withdrawn DSC) is superseded. The sweeps walk the active
certificates in keyset chunks, each chunk in its own transaction, like batch issuance.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.core.verify import uvci_hash
from vaxlink.certificates.errors import (
    CertificateNotFound,
    IssuanceInvalid,
    KeyUsageInvalid,
    SchemaInvalid,
    TransitionInvalid,
)
from vaxlink.certificates.issuance.batch import (
    DEFAULT_CHUNK,
    Issuer,
    Progress,
    Reason,
    generations,
    write_rows,
)
from vaxlink.certificates.issuance.content import Content, Skip, contents
from vaxlink.certificates.models import (
    TRANSITIONS,
    Certificate,
    CertificateKind,
    CertificateStatus,
    Revocation,
)
from vaxlink.db import transaction

SYSTEM: Final = "system"
#: A renewal must add at least this much validity, or it is not worth a new certificate.
MIN_EXTENSION: Final = timedelta(days=1)


def transition(
    certificate: Certificate, to: CertificateStatus, *, by: str, reason: str, now: datetime
) -> None:
    """Move a certificate's status along the transition table, recording who, when and why."""
    current = CertificateStatus(certificate.status)
    if to not in TRANSITIONS[current]:
        raise TransitionInvalid(
            f"certificate {certificate.uvci} is {current}; it cannot become {to}"
        )
    certificate.status = to.value
    certificate.status_changed_at = now
    certificate.status_changed_by = by
    certificate.status_reason = reason


def _revoke(
    session: Session, certificate: Certificate, *, reason: str, by: str, now: datetime
) -> None:
    transition(certificate, CertificateStatus.REVOKED, by=by, reason=reason, now=now)
    session.add(
        Revocation(
            uvci_hash=uvci_hash(certificate.uvci).hex(),
            certificate_id=certificate.id,
            reason=reason,
            revoked_by=by,
            revoked_at=now,
        )
    )


def revoke(session: Session, uvci: str, *, reason: str, by: str, now: datetime) -> Certificate:
    """Revoke one certificate by its UVCI and put it on the revocation list."""
    if not reason.strip():
        raise TransitionInvalid("a revocation needs a reason")
    certificate = session.scalar(select(Certificate).where(Certificate.uvci == uvci))
    if certificate is None:
        raise CertificateNotFound(f"no certificate {uvci} was issued here")
    _revoke(session, certificate, reason=reason, by=by, now=now)
    session.flush()
    return certificate


def expire_lapsed(session: Session, now: datetime) -> int:
    """Mark active certificates past their expiry as expired (set-based); returns how many."""
    stmt = (
        update(Certificate)
        .where(
            Certificate.status == CertificateStatus.ACTIVE.value,
            Certificate.exp <= now,
        )
        .values(
            status=CertificateStatus.EXPIRED.value,
            status_changed_at=now,
            status_changed_by=SYSTEM,
            status_reason="validity ended",
        )
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL plan the sweep with current row counts (issuance grows the table fast)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE certificate"))


class Mode(StrEnum):
    """What a sweep over active certificates is for."""

    CHANGED = "changed"
    RENEW = "renew"
    DSC = "dsc"


@dataclass
class LifecycleReport:
    """What a sweep did."""

    mode: Mode
    checked: int = 0
    unchanged: int = 0
    revoked: int = 0
    superseded: int = 0
    issued: int = 0
    expired: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class _Chunk:
    """One chunk's state: new rows, generations handed out, the report to fill."""

    session: Session
    issuer: Issuer
    mode: Mode
    report: LifecycleReport
    gens: dict[CertificateKind, Counter[tuple[str, str]]]
    signable: frozenset[CertificateKind]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def replace(self, old: Certificate, content: Content, reason: str) -> bool:
        """Queue a new certificate for `content` replacing `old`; False if it cannot be signed."""
        if content.kind not in self.signable:
            self.report.skipped["dsc_cannot_sign_type"] += 1
            return False
        key = (content.citizen_id, content.digest)
        try:
            row = self.issuer.row(
                content, generation=self.gens[content.kind][key], reason=reason, replaces=old.id
            )
        except (SchemaInvalid, IssuanceInvalid):
            self.report.skipped[Skip.INVALID_DATA.value] += 1
            return False
        self.gens[content.kind][key] += 1
        self.rows.append(row)
        return True

    def revoke_with_copies(self, old: Certificate, reason: str) -> None:
        """Revoke `old` and any superseded, unexpired certificate attesting the same facts."""
        now, by = self.issuer.now, self.issuer.by
        _revoke(self.session, old, reason=reason, by=by, now=now)
        self.report.revoked += 1
        copies = self.session.scalars(
            select(Certificate).where(
                Certificate.citizen_id == old.citizen_id,
                Certificate.kind == old.kind,
                Certificate.content_digest == old.content_digest,
                Certificate.status == CertificateStatus.SUPERSEDED.value,
                Certificate.exp > now,
            )
        )
        for copy in copies:
            _revoke(self.session, copy, reason=reason, by=by, now=now)
            self.report.revoked += 1

    def supersede(self, old: Certificate, content: Content, why: str, reason: str) -> None:
        if self.replace(old, content, reason):
            transition(
                old,
                CertificateStatus.SUPERSEDED,
                by=self.issuer.by,
                reason=why,
                now=self.issuer.now,
            )
            self.report.superseded += 1

    def handle(self, old: Certificate, content: Content | Skip) -> None:
        """Decide what becomes of one active certificate, given what it should attest now."""
        report = self.report
        if isinstance(content, Skip):
            if content is Skip.NO_RECORDS:  # e.g. its doses were linked to someone else
                self.revoke_with_copies(old, "the records no longer support this certificate")
            else:
                report.skipped[content.value] += 1
            return
        if content.digest == old.content_digest:
            if self.mode is Mode.CHANGED:
                report.unchanged += 1
            elif self.mode is Mode.RENEW:
                if self.issuer.expiry(content) - old.exp < MIN_EXTENSION:
                    report.skipped["cannot_extend"] += 1
                else:
                    self.supersede(old, content, "renewed before expiry", Reason.RENEWAL)
            else:
                self.supersede(old, content, "its DSC was withdrawn", Reason.DSC_REPLACED)
            return
        if old.dose_id is not None and content.dose_digests.get(old.dose_id) == old.content_digest:
            self.supersede(old, content, "a newer dose was recorded", Reason.NEW_DOSE)
            return
        if _later_recovery(old, content):
            self.supersede(old, content, "a later recovery was recorded", Reason.NEW_RECOVERY)
            return
        if content.kind in self.signable:
            self.revoke_with_copies(old, "the person's data was corrected")
            self.replace(old, content, Reason.CORRECTION)
        else:
            report.skipped["dsc_cannot_sign_type"] += 1


def _later_recovery(old: Certificate, content: Content) -> bool:
    """A new infection after the old recovery ended leaves the old certificate true."""
    if content.kind is not CertificateKind.RECOVERY or old.recovery_id == content.recovery_id:
        return False
    entries = old.payload.get("r") or [{}]
    return bool(content.facts["fr"] > str(entries[0].get("du", "9999")))


def _signable(issuer: Issuer) -> frozenset[CertificateKind]:
    ok = set()
    for kind in CertificateKind:
        try:
            issuer.require(kind)
        except (KeyUsageInvalid, IssuanceInvalid):
            continue
        ok.add(kind)
    return frozenset(ok)


def _by_kind(certificates: Sequence[Certificate]) -> dict[CertificateKind, list[str]]:
    out: dict[CertificateKind, list[str]] = defaultdict(list)
    for c in certificates:
        out[CertificateKind(c.kind)].append(c.citizen_id)
    return out


def _sweep(
    engine: Engine,
    issuer: Issuer,
    mode: Mode,
    where: Sequence[Any],
    *,
    chunk_size: int,
    on_progress: Progress | None,
) -> LifecycleReport:
    """Walk the active certificates matching `where` (those existing at the start) in chunks."""
    started = time.perf_counter()
    report = LifecycleReport(mode)
    signable = _signable(issuer)
    where = [Certificate.status == CertificateStatus.ACTIVE.value, *where]
    with transaction(engine) as session:
        refresh_statistics(session)
        last, total = session.execute(
            select(func.max(Certificate.id), func.count()).where(*where)
        ).one()
    if on_progress:
        on_progress(0, total)
    after = 0
    while last is not None:
        with transaction(engine) as session:
            batch = session.scalars(
                select(Certificate)
                .where(*where, Certificate.id > after, Certificate.id <= last)
                .order_by(Certificate.id)
                .limit(chunk_size)
            ).all()
            if not batch:
                break
            people = _by_kind(batch)
            found = {k: contents(session, k, ids, today=issuer.today) for k, ids in people.items()}
            gens = {k: generations(session, k, ids) for k, ids in people.items()}
            chunk = _Chunk(session, issuer, mode, report, gens, signable)
            for certificate in batch:
                chunk.handle(
                    certificate, found[CertificateKind(certificate.kind)][certificate.citizen_id]
                )
            session.flush()
            write_rows(session, chunk.rows)
            report.issued += len(chunk.rows)
        after = batch[-1].id
        report.checked += len(batch)
        if on_progress:
            on_progress(report.checked, total)
    report.seconds = time.perf_counter() - started
    return report


def _issuer(
    signer: Signer, issuer_name: str, by: str, now: datetime | None, key: bytes | None
) -> Issuer:
    return Issuer(signer, issuer_name, now or datetime.now(UTC), by, key)


def reissue_changed(
    engine: Engine,
    signer: Signer,
    *,
    issuer_name: str,
    by: str,
    now: datetime | None = None,
    uvci_key: bytes | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> LifecycleReport:
    """Re-issue every active certificate whose facts changed: corrections revoke the old one."""
    issuer = _issuer(signer, issuer_name, by, now, uvci_key)
    return _sweep(engine, issuer, Mode.CHANGED, (), chunk_size=chunk_size, on_progress=on_progress)


def renew_expiring(
    engine: Engine,
    signer: Signer,
    *,
    issuer_name: str,
    by: str,
    within_days: int = 30,
    now: datetime | None = None,
    uvci_key: bytes | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> LifecycleReport:
    """Expire lapsed certificates, then renew those expiring within `within_days` (superseded)."""
    if within_days < 1:
        raise IssuanceInvalid("renew at least one day ahead")
    issuer = _issuer(signer, issuer_name, by, now, uvci_key)
    with transaction(engine) as session:
        expired = expire_lapsed(session, issuer.now)
    horizon = issuer.now + timedelta(days=within_days)
    report = _sweep(
        engine,
        issuer,
        Mode.RENEW,
        (Certificate.exp <= horizon,),
        chunk_size=chunk_size,
        on_progress=on_progress,
    )
    report.expired = expired
    return report


@dataclass(frozen=True)
class DscReport:
    """What withdrawing a DSC means for certificates in people's hands."""

    kid: bytes
    active: dict[str, int]
    superseded_unexpired: int

    @property
    def total_active(self) -> int:
        """Active certificates signed by this DSC, all types."""
        return sum(self.active.values())


def dsc_report(session: Session, kid: bytes, *, now: datetime) -> DscReport:
    """How many certificates the DSC signed that still verify: active by type, and superseded."""
    active = session.execute(
        select(Certificate.kind, func.count())
        .where(Certificate.kid == kid.hex(), Certificate.status == CertificateStatus.ACTIVE.value)
        .group_by(Certificate.kind)
    ).all()
    superseded = session.scalar(
        select(func.count()).where(
            Certificate.kid == kid.hex(),
            Certificate.status == CertificateStatus.SUPERSEDED.value,
            Certificate.exp > now,
        )
    )
    return DscReport(kid, {k: int(n) for k, n in active}, int(superseded or 0))


def reissue_for_dsc(
    engine: Engine,
    signer: Signer,
    kid: bytes,
    *,
    issuer_name: str,
    by: str,
    now: datetime | None = None,
    uvci_key: bytes | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> LifecycleReport:
    """Re-issue every active certificate signed by DSC `kid` with `signer` (the current DSC)."""
    if signer.kid == kid:
        raise IssuanceInvalid(
            f"the signing DSC is {kid.hex()} itself; activate another DSC first "
            "(`vaxlink keys rotate-dsc`)"
        )
    issuer = _issuer(signer, issuer_name, by, now, uvci_key)
    return _sweep(
        engine,
        issuer,
        Mode.DSC,
        (Certificate.kid == kid.hex(),),
        chunk_size=chunk_size,
        on_progress=on_progress,
    )

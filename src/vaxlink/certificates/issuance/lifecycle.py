"""Certificate life cycle: status transitions, revocation, expiry, and what a DSC withdrawal means.

Statuses move only along `models.TRANSITIONS`. A certificate whose facts turned out wrong is
revoked (its UVCI hash goes on the revocation list verifiers download); one that is still true but
replaced (renewal, a newer dose, a withdrawn DSC) is superseded, by the sweeps in `sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from vaxlink.certificates import feed
from vaxlink.certificates.core.trust import uvci_hash
from vaxlink.certificates.errors import CertificateNotFound, TransitionInvalid
from vaxlink.certificates.models import TRANSITIONS, Certificate, CertificateStatus, Revocation

SYSTEM: Final = "system"


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


def revoke_certificate(
    session: Session, certificate: Certificate, *, reason: str, by: str, now: datetime
) -> None:
    """Revoke a certificate held in the session and put its UVCI hash on the revocation list."""
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
    session.flush()  # the certificate's id for its feed event
    feed.record_revoked(session, certificate, now=now)


def revoke(session: Session, uvci: str, *, reason: str, by: str, now: datetime) -> Certificate:
    """Revoke one certificate by its UVCI and put it on the revocation list."""
    if not reason.strip():
        raise TransitionInvalid("a revocation needs a reason")
    certificate = session.scalar(select(Certificate).where(Certificate.uvci == uvci))
    if certificate is None:
        raise CertificateNotFound(f"no certificate {uvci} was issued here")
    revoke_certificate(session, certificate, reason=reason, by=by, now=now)
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

"""The life-cycle sweeps: re-issue after a change, renew before expiry, replace a withdrawn DSC.

Each sweep walks the active certificates in keyset chunks, each chunk in its own transaction, like
batch issuance; `Replacer` decides what becomes of one certificate given what it should attest now
(`reissue_person` applies the same rules to one person, inside the caller's transaction).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import IssuanceInvalid, KeyUsageInvalid, SchemaInvalid
from vaxlink.certificates.issuance.batch import active_of, issue_for
from vaxlink.certificates.issuance.content import Content, Skip, contents, freshness
from vaxlink.certificates.issuance.issuer import (
    DEFAULT_CHUNK,
    Issuer,
    Progress,
    Reason,
    generations,
    write_rows,
)
from vaxlink.certificates.issuance.lifecycle import (
    expire_lapsed,
    refresh_statistics,
    revoke_certificate,
    transition,
)
from vaxlink.certificates.models import Certificate, CertificateKind, CertificateStatus
from vaxlink.db import transaction

#: A renewal must add at least this much validity, or it is not worth a new certificate.
MIN_EXTENSION: Final = timedelta(days=1)


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
    #: Approvals that no longer verify, with why; certificates resting on them were not replaced.
    refused_approvals: dict[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Replacer:
    """What becomes of active certificates given what they should attest now, for one chunk (or
    one person): the new rows to write, the generations handed out, the report to fill."""

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
        revoke_certificate(self.session, old, reason=reason, by=by, now=now)
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
            revoke_certificate(self.session, copy, reason=reason, by=by, now=now)
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


def signable_kinds(issuer: Issuer) -> frozenset[CertificateKind]:
    """The certificate types the issuer's DSC may sign now."""
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
    signable = signable_kinds(issuer)
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
            found = {k: contents(session, k, ids, today=issuer.today, approvals=issuer.approvals) for k, ids in people.items()}
            gens = {k: generations(session, k, ids) for k, ids in people.items()}
            chunk = Replacer(session, issuer, mode, report, gens, signable)
            for certificate in batch:
                chunk.handle(
                    certificate, found[CertificateKind(certificate.kind)][certificate.citizen_id]
                )
            session.flush()
            write_rows(session, chunk.rows)
            issuer.audit_refusals(session)
            report.issued += len(chunk.rows)
        after = batch[-1].id
        report.checked += len(batch)
        if on_progress:
            on_progress(report.checked, total)
    report.refused_approvals = issuer.approvals.failed()
    report.seconds = time.perf_counter() - started
    return report


def _issuer(
    signer: Signer,
    issuer_name: str,
    by: str,
    now: datetime,
    key: bytes | None,
    anchors: Sequence[x509.Certificate],
    require_district: bool = False,
) -> Issuer:
    return Issuer(signer, issuer_name, now, by, key, tuple(anchors), require_district)


def reissue_changed(
    engine: Engine,
    signer: Signer,
    *,
    issuer_name: str,
    by: str,
    now: datetime,
    uvci_key: bytes | None = None,
    anchors: Sequence[x509.Certificate] = (),
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
    require_district: bool = False,
) -> LifecycleReport:
    """Re-issue every active certificate whose facts changed: corrections revoke the old one.
    With `require_district`, a changed person whose doses are not all on a sound list of their
    district is left as is (as while a dose awaits its site's signature)."""
    issuer = _issuer(signer, issuer_name, by, now, uvci_key, anchors, require_district)
    return _sweep(engine, issuer, Mode.CHANGED, (), chunk_size=chunk_size, on_progress=on_progress)


def renew_expiring(
    engine: Engine,
    signer: Signer,
    *,
    issuer_name: str,
    by: str,
    within_days: int = 30,
    now: datetime,
    uvci_key: bytes | None = None,
    anchors: Sequence[x509.Certificate] = (),
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
    require_district: bool = False,
) -> LifecycleReport:
    """Expire lapsed certificates, then renew those expiring within `within_days` (superseded).
    With `require_district`, a renewal needs the same district list as a first issue: a person
    whose doses are not all on a sound list of their district keeps the old certificate until it
    lapses (skipped, with the reason counted)."""
    if within_days < 1:
        raise IssuanceInvalid("renew at least one day ahead")
    issuer = _issuer(signer, issuer_name, by, now, uvci_key, anchors, require_district)
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


def reissue_for_dsc(
    engine: Engine,
    signer: Signer,
    kid: bytes,
    *,
    issuer_name: str,
    by: str,
    now: datetime,
    uvci_key: bytes | None = None,
    anchors: Sequence[x509.Certificate] = (),
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
) -> LifecycleReport:
    """Re-issue every active certificate signed by DSC `kid` with `signer` (the current DSC)."""
    if signer.kid == kid:
        raise IssuanceInvalid(
            f"the signing DSC is {kid.hex()} itself; activate another DSC first "
            "(`vaxlink keys rotate-dsc`)"
        )
    issuer = _issuer(signer, issuer_name, by, now, uvci_key, anchors)
    return _sweep(
        engine,
        issuer,
        Mode.DSC,
        (Certificate.kid == kid.hex(),),
        chunk_size=chunk_size,
        on_progress=on_progress,
    )


def reissue_person(
    session: Session,
    issuer: Issuer,
    citizen_id: str,
    kind: CertificateKind = CertificateKind.VACCINATION,
) -> Certificate:
    """Bring one person's certificate in line with their records now; flushes, the caller commits.

    Without an active certificate, one is issued; with one whose facts changed, the sweeps' rules
    apply (a correction revokes it and issues the new one, a newer dose supersedes it); unchanged,
    it is kept. Raises `IssuanceInvalid` when the person is left with no certificate, and, for a
    vaccination certificate, when a dose still waits for its site's signature (saying which dose
    and which site) instead of keeping a certificate that disagrees with the records.
    """
    if kind is CertificateKind.VACCINATION:
        fresh = freshness(session, citizen_id, issuer.approvals)
        if fresh.agrees and fresh.certificate is not None:
            return fresh.certificate
        if fresh.pending:
            raise IssuanceInvalid(f"the certificate cannot be brought in line with the records "
                                  f"yet: {fresh.message()}")  # fmt: skip
    old = active_of(session, kind, [citizen_id]).get(citizen_id)
    if old is None:
        return issue_for(session, issuer, citizen_id, kind)
    content = contents(session, kind, [citizen_id], today=issuer.today, approvals=issuer.approvals)[citizen_id]
    gens = {kind: generations(session, kind, [citizen_id])}
    replacer = Replacer(
        session, issuer, Mode.CHANGED, LifecycleReport(Mode.CHANGED), gens, signable_kinds(issuer)
    )
    replacer.handle(old, content)
    session.flush()
    write_rows(session, replacer.rows)
    issuer.audit_refusals(session)
    current = active_of(session, kind, [citizen_id]).get(citizen_id)
    if current is None:
        why = next(iter(replacer.report.skipped), "the records no longer support a certificate")
        raise IssuanceInvalid(f"the certificate was withdrawn and none can be issued now: {why}")
    return current

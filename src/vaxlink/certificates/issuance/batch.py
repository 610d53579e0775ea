"""Issuance over the store: one person online, or everyone ready in keyset-paginated chunks.

The keyset walks people by citizen ID (an index range scan, so every chunk costs the same however
many certificates exist). Each chunk is read, signed and written in its own transaction, so a run
that stops half-way keeps every finished chunk, and the next run skips the people who already hold
an active certificate: no duplicates (a partial unique index also allows only one active
certificate per person and type) and no gaps (the keyset restarts from the first person). Memory
holds one chunk.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import CertificateError, IssuanceInvalid, SchemaInvalid
from vaxlink.certificates.issuance.content import Skip, contents
from vaxlink.certificates.issuance.issuer import (
    DEFAULT_CHUNK,
    Issuer,
    Progress,
    Reason,
    generations,
    write_rows,
)
from vaxlink.certificates.issuance.volume import issued_today
from vaxlink.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RecoveryRecord,
)
from vaxlink.db import transaction
from vaxlink.records.service import DoseRecord


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
    #: Approvals that no longer verify, with why; the doses resting on them were not issued.
    refused_approvals: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: District approvals that no longer verify (with `require_district`), with why.
    refused_district_approvals: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: The account's daily cap (0: none), and whether the run stopped at it.
    cap_per_day: int = 0
    capped: bool = False


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
    found = contents(session, kind, citizen_ids, today=issuer.today, approvals=issuer.approvals)
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
    issuer.audit_refusals(session)
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
    now: datetime,
    uvci_key: bytes | None = None,
    anchors: Sequence[x509.Certificate] = (),
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Progress | None = None,
    cap_per_day: int = 0,
    require_district: bool = False,
) -> BatchReport:
    """Issue a certificate to everyone ready who has no active one, one committed chunk at a time.

    With `cap_per_day`, the run stops once account `by` has issued that many certificates today
    (all its runs together; `report.capped`): the caller refuses the rest and audits it. With
    `require_district`, every dose must also be on a sound list of its resident's district."""
    started = time.perf_counter()
    issuer = Issuer(signer, issuer_name, now, by, uvci_key, tuple(anchors), require_district)
    issuer.require(kind)
    report = BatchReport(kind, cap_per_day=cap_per_day)
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
            if cap_per_day:
                left = max(0, cap_per_day - issued_today(session, by, issuer.now))
                if len(rows) > left:  # the people left out are issued by a later run
                    rows, report.capped = rows[:left], True
            write_rows(session, rows)
            issuer.audit_refusals(session)
        after = people[-1]
        report.looked_at += len(people)
        report.already_active += len(done)
        report.issued += len(rows)
        report.skipped.update(skipped)
        report.chunks += 1
        if on_progress:
            on_progress(report.looked_at, max(report.people, report.looked_at))
        if report.capped:
            break
    report.refused_approvals = issuer.approvals.failed()
    if issuer.approvals.district is not None:
        report.refused_district_approvals = issuer.approvals.district.failed()
    report.seconds = time.perf_counter() - started
    return report

"""What a person's certificate attests, worked out from the store a chunk of people at a time.

A `Content` holds the facts (name, date of birth, and the latest dose or the recovery), their
digest, and builds the DCC payload once a UVCI is chosen. The digest covers only the facts about
the person: a new issuer name or validity does not make a certificate "changed".
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.certificates.approval.check import ApprovalVerdicts
from vaxlink.certificates.approval.signing import (
    APPROVABLE,
    RECORD_COLUMNS,
    approved_digests,
    record_digest,
)
from vaxlink.certificates.core.canonical import canonical_json
from vaxlink.certificates.core.payload import (
    COVID_19,
    DCC_VERSION,
    names_from_full,
    partial_date,
    recovery_payload,
    vaccination_payload,
)
from vaxlink.certificates.errors import SchemaInvalid
from vaxlink.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    RecoveryRecord,
)
from vaxlink.facilities import service as facilities
from vaxlink.records.service import DoseCategory, DoseRecord, catalogue
from vaxlink.registry.service import Citizen

CONTENT_VERSION: Final = "vaxlink-content/1"
COUNTRY: Final = "VN"


class Skip(StrEnum):
    """Why no certificate is (re)issued for a person now."""

    NOT_IN_REGISTRY = "not_in_registry"
    NO_RECORDS = "no_records"
    AWAITING_APPROVAL = "awaiting_approval"
    #: A dose is approved as it stands only by approvals that no longer verify (a tampered
    #: signature or manifest, a certificate of another site, not from a trusted CA).
    APPROVAL_INVALID = "approval_invalid"
    #: District approval required (`require_district_approval`): a dose is not on a list its
    #: resident's district signed as it stands now.
    DISTRICT_APPROVAL_MISSING = "district_approval_missing"
    #: ... or only on district lists whose signature no longer verifies.
    DISTRICT_APPROVAL_INVALID = "district_approval_invalid"
    INVALID_DATA = "invalid_data"
    RECOVERY_ENDED = "recovery_ended"


@dataclass(frozen=True, slots=True)
class Person:
    """The registry facts a certificate carries."""

    citizen_id: str
    family_name: str
    given_name: str
    date_of_birth: str


@dataclass(frozen=True)
class Content:
    """The facts one certificate attests, their digest, and where they came from."""

    citizen_id: str
    kind: CertificateKind
    facts: Mapping[str, Any]
    digest: str
    dose_id: int | None = None
    recovery_id: int | None = None
    #: Recovery: the last day the recovery counts (the certificate must not outlive it).
    valid_until: date | None = None
    #: Vaccination: the digest a certificate for each of the person's other approved doses has,
    #: so a certificate for an older dose can be told apart from a wrong one.
    dose_digests: Mapping[int, str] = field(default_factory=dict)

    def payload(self, *, uvci: str, issuer: str) -> dict[str, Any]:
        """The EU DCC payload of these facts, validated for issuance."""
        f = self.facts
        common = {
            "family_name": f["fn"],
            "given_name": f["gn"],
            "date_of_birth": f["dob"],
            "uvci": uvci,
            "issuer": issuer,
            "country": f["co"],
        }
        if self.kind is CertificateKind.VACCINATION:
            return vaccination_payload(
                product=f["mp"],
                manufacturer=f["ma"],
                prophylaxis=f["vp"],
                dose_number=f["dn"],
                total_doses=f["sd"],
                vaccination_date=f["dt"],
                **common,
            )
        return recovery_payload(
            first_positive=f["fr"], valid_from=f["df"], valid_until=f["du"], **common
        )


def digest(facts: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the facts' canonical JSON."""
    return hashlib.sha256(canonical_json(facts)).hexdigest()


def schedule(dose_number: int, category: str, primary_doses: int) -> tuple[int, int]:
    """(dn, sd): a primary-series dose counts against the product's series, a booster against itself."""
    if category == DoseCategory.PRIMARY:
        return dose_number, max(primary_doses, dose_number)
    return dose_number, dose_number


@lru_cache(maxsize=65_536)
def _names(full_name: str) -> tuple[str, str]:
    """(family, given) of a registry name; names repeat a lot, and splitting one costs ~0.1 ms."""
    return names_from_full(full_name)


def _person(citizen_id: str, full_name: str, date_of_birth: str) -> Person:
    family, given = _names(full_name)
    if not family:
        raise SchemaInvalid("the registry has no name for this person")
    return Person(citizen_id, family, given, partial_date(date_of_birth))


def _base(person: Person, kind: CertificateKind) -> dict[str, Any]:
    return {
        "v": CONTENT_VERSION,
        "kind": kind.value,
        "ver": DCC_VERSION,
        "fn": person.family_name,
        "gn": person.given_name,
        "dob": person.date_of_birth,
        "tg": COVID_19,
        "co": COUNTRY,
    }


def vaccination_facts(person: Person, dose: Any) -> dict[str, Any]:
    """The facts of a vaccination certificate for one dose row."""
    vaccine = catalogue().get(dose.vaccine_key)
    if vaccine is None:
        raise SchemaInvalid(f"vaccine {dose.vaccine_key!r} is not in the catalogue")
    dn, sd = schedule(dose.dose_number, dose.dose_category, vaccine.primary_doses)
    return _base(person, CertificateKind.VACCINATION) | {
        "vp": vaccine.vp,
        "mp": vaccine.mp,
        "ma": vaccine.ma,
        "dn": dn,
        "sd": sd,
        "dt": dose.vaccination_date.isoformat(),
    }


def _people(session: Session, citizen_ids: Sequence[str]) -> dict[str, Person | Skip]:
    stmt = select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth).where(
        Citizen.citizen_id.in_(citizen_ids)
    )
    out: dict[str, Person | Skip] = dict.fromkeys(citizen_ids, Skip.NOT_IN_REGISTRY)
    for citizen_id, full_name, dob in session.execute(stmt):
        try:
            out[citizen_id] = _person(citizen_id, full_name, dob)
        except SchemaInvalid:
            out[citizen_id] = Skip.INVALID_DATA
    return out


def _latest_first(dose: Any) -> tuple[date, int, int]:
    return (dose.vaccination_date, dose.dose_number, dose.id)


def vaccination_contents(
    session: Session, citizen_ids: Sequence[str], approvals: ApprovalVerdicts
) -> dict[str, Content | Skip]:
    """Each person's vaccination certificate content: their latest dose, once all are approved
    by sound approvals of their own sites (re-verified through `approvals`)."""
    people = _people(session, citizen_ids)
    stmt = select(*RECORD_COLUMNS).where(
        DoseRecord.citizen_id.in_(citizen_ids), DoseRecord.status.in_(APPROVABLE)
    )
    rows = session.execute(stmt).all()
    digests = {r.id: record_digest(r) for r in rows}
    covering, broken = approvals.covering_approvals(session, rows, digests)
    approved = set(covering)
    on_list: set[int] = approved
    off_broken: dict[int, tuple[int, ...]] = {}
    if approvals.district is not None:
        sound_rows = [r for r in rows if r.id in approved]
        on_list, off_broken = approvals.district.covered(session, sound_rows, digests)
    doses: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        doses[row.citizen_id].append(row)
    out: dict[str, Content | Skip] = {}
    for citizen_id in citizen_ids:
        person, own = people[citizen_id], doses.get(citizen_id, [])
        if isinstance(person, Skip):
            out[citizen_id] = person
        elif not own:
            out[citizen_id] = Skip.NO_RECORDS
        elif any(d.id in broken for d in own):
            out[citizen_id] = Skip.APPROVAL_INVALID
        elif any(d.id not in approved for d in own):
            out[citizen_id] = Skip.AWAITING_APPROVAL
        elif any(d.id in off_broken for d in own):
            out[citizen_id] = Skip.DISTRICT_APPROVAL_INVALID
        elif any(d.id not in on_list for d in own):
            out[citizen_id] = Skip.DISTRICT_APPROVAL_MISSING
        else:
            out[citizen_id] = _vaccination_content(person, own)
    return out


def _vaccination_content(person: Person, own: list[Any]) -> Content | Skip:
    try:
        by_dose = {d.id: vaccination_facts(person, d) for d in own}
    except SchemaInvalid:
        return Skip.INVALID_DATA
    latest = max(own, key=_latest_first)
    digests = {i: digest(f) for i, f in by_dose.items()}
    return Content(
        person.citizen_id,
        CertificateKind.VACCINATION,
        by_dose[latest.id],
        digests[latest.id],
        dose_id=latest.id,
        dose_digests=digests,
    )


def recovery_contents(
    session: Session, citizen_ids: Sequence[str], *, today: date
) -> dict[str, Content | Skip]:
    """Each person's recovery certificate content: their latest recovery entry, while it counts."""
    people = _people(session, citizen_ids)
    latest = (
        select(func.max(RecoveryRecord.id))
        .where(RecoveryRecord.citizen_id.in_(citizen_ids))
        .group_by(RecoveryRecord.citizen_id)
    )
    entries = {
        r.citizen_id: r
        for r in session.scalars(select(RecoveryRecord).where(RecoveryRecord.id.in_(latest)))
    }
    out: dict[str, Content | Skip] = {}
    for citizen_id in citizen_ids:
        person, entry = people[citizen_id], entries.get(citizen_id)
        if isinstance(person, Skip):
            out[citizen_id] = person
        elif entry is None:
            out[citizen_id] = Skip.NO_RECORDS
        elif entry.valid_until <= today:  # ends today: not worth a certificate any more
            out[citizen_id] = Skip.RECOVERY_ENDED
        else:
            facts = _base(person, CertificateKind.RECOVERY) | {
                "fr": entry.first_positive.isoformat(),
                "df": entry.valid_from.isoformat(),
                "du": entry.valid_until.isoformat(),
            }
            out[citizen_id] = Content(
                citizen_id,
                CertificateKind.RECOVERY,
                facts,
                digest(facts),
                recovery_id=entry.id,
                valid_until=entry.valid_until,
            )
    return out


def contents(
    session: Session,
    kind: CertificateKind,
    citizen_ids: Sequence[str],
    *,
    today: date,
    approvals: ApprovalVerdicts,
) -> dict[str, Content | Skip]:
    """The current content of each person's certificate of this kind; vaccination doses count
    only when a sound approval of their site covers them as they stand (`approvals`)."""
    if kind is CertificateKind.VACCINATION:
        return vaccination_contents(session, citizen_ids, approvals)
    return recovery_contents(session, citizen_ids, today=today)


# ---- freshness: does the person's certificate say what their records say? -----------------------


class Waiting(StrEnum):
    """Why a dose keeps a person's certificate from being brought in line with the records."""

    NEVER = "never_approved"
    CHANGED = "changed_since_approval"
    #: Approved as it stands only by approvals that no longer verify: the site signs again.
    APPROVAL_INVALID = "approval_invalid"


@dataclass(frozen=True, slots=True)
class PendingDose:
    """A dose of the person not approved by its site in its current form."""

    dose_id: int
    vaccination_date: date
    dose_number: int
    facility_code: str | None
    #: The site as people read it: "Name (CODE)", or the bare code the site list lacks.
    site: str
    why: Waiting

    def message(self) -> str:
        """What a station worker reads: which dose waits for which site."""
        return (
            f"the dose of {self.vaccination_date:%d/%m/%Y} waits for the signature of site "
            f"{self.site or 'unknown'}"
        )


@dataclass(frozen=True)
class Freshness:
    """The person's active vaccination certificate beside what their records say now."""

    citizen_id: str
    #: The active certificate (None: the person holds none).
    certificate: Certificate | None
    #: The digest of the facts the records give now, approved or not (None: they give none).
    current_digest: str | None
    #: The digests of the facts each of the person's doses would give (any of them is true).
    dose_digests: frozenset[str]
    #: Why the records give no certificate at all (not in the registry, no dose, invalid data).
    blocked: Skip | None
    #: Doses not approved by their site in their current form, oldest first.
    pending: tuple[PendingDose, ...]

    @property
    def agrees(self) -> bool:
        """The active certificate attests exactly what the records say now."""
        return (
            self.certificate is not None and self.certificate.content_digest == self.current_digest
        )

    @property
    def disagrees(self) -> bool:
        """The active certificate attests facts no record of the person holds any more (a
        corrected dose, doses moved away): its QR must not be shown as current."""
        if self.certificate is None:
            return False
        if self.blocked is Skip.NO_RECORDS:
            return True
        return (
            self.current_digest is not None
            and self.certificate.content_digest not in self.dose_digests
        )

    @property
    def ready(self) -> bool:
        """A certificate can be issued from the records now: every dose approved as it stands."""
        return self.blocked is None and not self.pending

    def message(self) -> str:
        """Why the certificate cannot be brought in line now (empty when it can)."""
        return "; ".join(p.message() for p in self.pending)


def freshness(session: Session, citizen_id: str, approvals: ApprovalVerdicts) -> Freshness:
    """Compare the person's active vaccination certificate with their records as they stand:
    which doses still wait for their site's signature (re-verified through `approvals`), and
    whether the certificate attests what the records say."""
    person = _people(session, [citizen_id])[citizen_id]
    rows = session.execute(
        select(*RECORD_COLUMNS).where(
            DoseRecord.citizen_id == citizen_id, DoseRecord.status.in_(APPROVABLE)
        )
    ).all()
    approved, broken = approvals.sound_approvals(session, rows)
    known = approved_digests(session, [r.id for r in rows])
    names = facilities.names(session, (r.facility_code for r in rows))
    pending = []
    for r in sorted(rows, key=_latest_first):
        if r.id in approved:
            continue
        why = (Waiting.APPROVAL_INVALID if r.id in broken
               else Waiting.CHANGED if known[r.id] else Waiting.NEVER)  # fmt: skip
        pending.append(PendingDose(r.id, r.vaccination_date, r.dose_number, r.facility_code,
                                   facilities.label(r.facility_code, names), why))  # fmt: skip
    content: Content | Skip
    if isinstance(person, Skip):
        content = person
    elif not rows:
        content = Skip.NO_RECORDS
    else:
        content = _vaccination_content(person, list(rows))
    certificate = session.scalars(
        select(Certificate).where(
            Certificate.citizen_id == citizen_id,
            Certificate.kind == CertificateKind.VACCINATION.value,
        )
    ).all()
    active = next((c for c in certificate if c.status == CertificateStatus.ACTIVE.value), None)
    if isinstance(content, Skip):
        return Freshness(citizen_id, active, None, frozenset(), content, tuple(pending))
    return Freshness(citizen_id, active, content.digest, frozenset(content.dose_digests.values()),
                     None, tuple(pending))  # fmt: skip

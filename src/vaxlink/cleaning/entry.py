"""Identity-first dose entry at the vaccination point (the rule since 20 October 2021).

An entry starts from the person's identity (a typed ID number, the chip-card QR text scanned
in the browser, or a photo of it decoded here), checked against the population registry through
the registry port; only then is the dose recorded. A dose entered this way is an ordinary
`DoseRecord` in the facility's web-entry import batch of the day, its raw_* values exactly what
was entered. The identity comes from the registry by ID number, so the record meets the
definition of `verified` (docs/formats.md §3) and is linked to the citizen at once; the operator has
confirmed the person in front of them against the name, date of birth and sex shown.

A person the registry does not know is refused unless the operator records why (foreigner,
registry not yet updated, registry unreachable…): that dose is kept `pending` with the identity
as typed, so linkage and the commune police verify it later, like any imported record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vaxlink.auth import audit
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission
from vaxlink.cleaning import schedule
from vaxlink.cleaning.schedule import ScheduleWarning
from vaxlink.errors import Conflict, InvalidInput, NotFound, VaxlinkError
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.identity import (
    ChipQr,
    IdentityParseError,
    IdKind,
    classify_id,
    fold_name,
    normalise_id,
    normalise_name,
    parse_chip_qr,
    parse_date,
    parse_sex,
)
from vaxlink.ingest.models import BatchKind, ImportBatch
from vaxlink.records import vaccines
from vaxlink.records.models import DoseCategory, DoseRecord, DoseStatus
from vaxlink.records.parse import FIRST_VACCINATION_DAY
from vaxlink.registry.errors import RegistryUnavailable
from vaxlink.registry.port import RegistryPort
from vaxlink.registry.schemas import PersonQuery, RegistryPerson

#: `import_batch.file_kind` of the batches that hold doses entered on the web.
WEB_FILE_KIND: Final = "web"
#: The day the identity-first rule took effect.
IDENTITY_FIRST_SINCE: Final = dt.date(2021, 10, 20)
MAX_SEQUENCE: Final = 10
MAX_LOT: Final = 64


class IdentitySource(StrEnum):
    """How the operator gave the person's identity."""

    TYPED = "typed"
    CHIP_QR = "chip_qr"
    PHOTO = "photo"
    UNREGISTERED = "unregistered"


class UnregisteredReason(StrEnum):
    """Why a dose is recorded for a person the registry did not confirm (kept for verification)."""

    FOREIGNER = "foreigner"  # người nước ngoài: passport number, not in the population registry
    NOT_YET_IN_REGISTRY = "not_yet_in_registry"  # registry not updated (newborn, moved, new card)
    REGISTRY_UNAVAILABLE = "registry_unavailable"  # the registry could not be asked


class EntryError(InvalidInput):
    """Input to dose entry that cannot be used as given."""

    code = "entry_invalid"


class EntryNotAllowed(VaxlinkError):
    """The account may not enter doses, or not for this vaccination site."""

    http_status = 403
    code = "entry_not_allowed"


class NoVaccinationSite(Conflict):
    """The account is not attached to a vaccination site, so it has nowhere to record doses."""

    code = "no_vaccination_site"


class NotInRegistry(NotFound):
    """The ID number is not in the population registry."""

    code = "not_in_registry"


class WarningsNotAcknowledged(Conflict):
    """Schedule warnings the operator has not explicitly acknowledged; nothing was recorded."""

    code = "schedule_warnings"

    def __init__(self, warnings: Sequence[ScheduleWarning]) -> None:
        codes = ", ".join(w.code.value for w in warnings)
        super().__init__(f"confirm the schedule warnings before recording the dose: {codes}")
        self.warnings = tuple(warnings)


@dataclass(frozen=True, slots=True)
class HistoryDose:
    """One of the person's doses already on record (any site), as the entry page shows it."""

    id: int
    date: dt.date
    vaccine_key: str
    vaccine: str
    category: str
    sequence: int
    dose_number: int
    facility_code: str | None
    lot_number: str | None
    status: str

    def as_schedule(self) -> schedule.Dose:
        return schedule.Dose(self.date, self.vaccine_key, self.category, self.sequence)


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """The outcome of `start_entry`: who the registry says this is, and their doses."""

    id_number: str
    source: IdentitySource
    person: RegistryPerson | None
    address: str
    card: ChipQr | None = None
    #: Card fields that disagree with the registry ("full_name", "date_of_birth", "sex").
    mismatches: tuple[str, ...] = ()
    history: tuple[HistoryDose, ...] = ()
    suggested_category: str = DoseCategory.PRIMARY.value
    suggested_sequence: int = 1

    @property
    def found(self) -> bool:
        return self.person is not None


@dataclass(frozen=True, slots=True)
class DoseInput:
    """The dose as the form gave it."""

    vaccine: str
    lot: str
    category: str
    sequence: int
    date: dt.date


@dataclass(frozen=True, slots=True)
class TypedIdentity:
    """The identity as typed, for a person the registry did not confirm."""

    full_name: str
    date_of_birth: str
    sex: str
    id_number: str
    reason: UnregisteredReason
    note: str


@dataclass(frozen=True, slots=True)
class EntryResult:
    """A recorded dose and the warnings the operator acknowledged for it."""

    dose: DoseRecord
    acknowledged: tuple[ScheduleWarning, ...] = field(default_factory=tuple)


def facility_of(principal: Principal) -> str:
    """The vaccination site the account enters doses for (refused without one)."""
    if not principal.can(Permission.DOSE_ENTER):
        raise EntryNotAllowed("this account may not enter doses")
    if not principal.facility_code:
        raise NoVaccinationSite(
            "this account is not attached to a vaccination site; ask an administrator to set "
            "its facility code"
        )
    return principal.facility_code


def address_of(person: RegistryPerson) -> str:
    """Ward, district and province names of the registry's place of residence."""
    index = UnitIndex.for_version()
    parts: list[str] = []
    for level, code in (
        ("ward", person.ward_code),
        ("district", person.district_code),
        ("province", person.province_code),
    ):
        if not code:
            continue
        try:
            parts.append(index.get(f"{level}:{code}").name)
        except GeoError:
            parts.append(code)
    return ", ".join(parts)


def unit_of(province: str | None, district: str | None, ward: str | None) -> str | None:
    """Where a person lives, as an audit unit ("ward:00001"), at the finest level known."""
    for level, code in (("ward", ward), ("district", district), ("province", province)):
        if code:
            return f"{level}:{code}"
    return None


def _citizen_id(raw: str) -> tuple[str, IdKind]:
    digits = normalise_id(raw or "")
    kind = classify_id(digits)
    if kind in (IdKind.CCCD12, IdKind.CMND9):
        return digits, kind
    if kind is IdKind.EMPTY:
        raise EntryError("type the person's ID number (12-digit CCCD) or scan the card's QR code")
    raise EntryError(
        f"ID number '{raw.strip()}' has {len(digits)} digit(s): a CCCD has 12 and an old CMND 9 "
        "(check for a dropped leading 0)"
    )


def _lookup(registry: RegistryPort, digits: str, kind: IdKind) -> RegistryPerson | None:
    if kind is IdKind.CCCD12:
        return registry.get(digits)
    # An old 9-digit CMND: the registry keeps it as `old_id` of the citizen's current record.
    answer = registry.candidates(PersonQuery(full_name="-", id_number=digits))
    hits = [p for p in answer.candidates if p.old_id == digits]
    return hits[0] if len(hits) == 1 else None


def history(session: Session, citizen_id: str) -> tuple[HistoryDose, ...]:
    """The person's doses on record (linked to them, any site), oldest first."""
    stmt = (
        select(DoseRecord)
        .where(DoseRecord.citizen_id == citizen_id)
        .where(DoseRecord.status != DoseStatus.INVALID.value)
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    )
    out = []
    for d in session.scalars(stmt):
        v = vaccines.catalogue().get(d.vaccine_key)
        out.append(
            HistoryDose(
                d.id,
                d.vaccination_date,
                d.vaccine_key,
                v.display if v else d.vaccine_key,
                d.dose_category,
                d.dose_sequence,
                d.dose_number,
                d.facility_code,
                d.lot_number,
                d.status,
            )
        )
    return tuple(out)


def _card_mismatches(card: ChipQr, person: RegistryPerson) -> tuple[str, ...]:
    out = []
    if fold_name(card.full_name) != fold_name(person.full_name):
        out.append("full_name")
    if card.date_of_birth.iso() != person.date_of_birth:
        out.append("date_of_birth")
    if card.sex != person.sex:
        out.append("sex")
    return tuple(out)


def decode_photo(image: bytes) -> str:
    """The text of the QR code in a photo (zxing-cpp), for phones without a camera API."""
    from vaxlink.certificates.errors import QrNotFound
    from vaxlink.certificates.qrimage import read_qr  # Pillow + zxing-cpp: load only when needed

    if not image:
        raise EntryError("choose a photo of the QR code on the ID card")
    try:
        return read_qr(image)
    except QrNotFound:
        raise EntryError(
            "no QR code could be read in the photo: photograph the QR code on the front of the "
            "card, flat, in focus and filling most of the picture, or type the ID number"
        ) from None


def start_entry(
    session: Session,
    principal: Principal,
    registry: RegistryPort,
    *,
    id_number: str | None = None,
    chip_qr_text: str | None = None,
    image: bytes | None = None,
    today: dt.date,
) -> IdentityCheck:
    """Identify the person (typed ID, chip-card QR text, or a photo of the QR) in the registry."""
    facility = facility_of(principal)
    given = [x for x in (id_number, chip_qr_text, image) if x]
    if len(given) != 1:
        raise EntryError("give exactly one of: the ID number, the scanned QR text, a QR photo")
    card: ChipQr | None = None
    source = IdentitySource.TYPED
    if image:
        chip_qr_text, source = decode_photo(image), IdentitySource.PHOTO
    if chip_qr_text:
        source = source if image else IdentitySource.CHIP_QR
        try:
            card = parse_chip_qr(chip_qr_text)
        except IdentityParseError as exc:
            raise EntryError(f"this is not a chip-card QR code: {exc}") from None
        id_number = card.id_number
    digits, kind = _citizen_id(id_number or "")
    person = _lookup(registry, digits, kind)
    past = history(session, person.citizen_id if person else digits)
    audit.record(
        session,
        actor=principal,
        action="dose_entry.identify",
        object_type="citizen",
        object_id=person.citizen_id if person else "not-found",
        unit=unit_of(person.province_code, person.district_code, person.ward_code)
        if person
        else None,
        detail={
            "found": person is not None,
            "source": source.value,
            "doses": len(past),
            "facility": facility,
        },
    )
    if person is None:
        return IdentityCheck(digits, source, None, "", card=card, history=past)
    before = [h.as_schedule() for h in past if h.date < today]
    category, sequence = schedule.expected_next(before, past[0].vaccine_key if past else "")
    return IdentityCheck(
        person.citizen_id,
        source,
        person,
        address_of(person),
        card=card,
        mismatches=_card_mismatches(card, person) if card else (),
        history=past,
        suggested_category=category,
        suggested_sequence=sequence,
    )


def _checked_dose(dose: DoseInput, today: dt.date) -> vaccines.Vaccine:
    vaccine = vaccines.lookup(dose.vaccine or "")
    if vaccine is None:
        raise EntryError(f"vaccine '{dose.vaccine}' is not in the catalogue; choose from the list")
    if not dose.lot.strip():
        raise EntryError("type the lot number (Số lô) printed on the vial")
    if len(dose.lot.strip()) > MAX_LOT:
        raise EntryError(f"the lot number has more than {MAX_LOT} characters")
    if dose.category not in set(DoseCategory):
        raise EntryError("choose the dose category: primary, additional or booster")
    if not 1 <= dose.sequence <= MAX_SEQUENCE:
        raise EntryError(f"the dose sequence must be a whole number from 1 to {MAX_SEQUENCE}")
    if dose.date > today:
        raise EntryError(f"the vaccination date {dose.date:%d/%m/%Y} is in the future")
    if dose.date < FIRST_VACCINATION_DAY:
        raise EntryError(f"the vaccination date {dose.date:%d/%m/%Y} is before the campaign began")
    return vaccine


def _warnings(
    session: Session,
    citizen_id: str,
    dose: DoseInput,
    vaccine_key: str,
    today: dt.date,
    acknowledge: Collection[str],
) -> tuple[list[ScheduleWarning], int]:
    past = [h.as_schedule() for h in history(session, citizen_id)]
    new = schedule.Dose(dose.date, vaccine_key, dose.category, dose.sequence)
    found = schedule.check(past, new, today=today)
    missing = [w for w in found if w.code.value not in set(acknowledge)]
    if missing:
        raise WarningsNotAcknowledged(found)
    before = [d for d in past if d.date < dose.date]
    return found, schedule.dose_number(before, new)


def web_batch(session: Session, facility: str, day: dt.date, now: dt.datetime) -> ImportBatch:
    """The import batch holding a facility's doses entered on the web on `day` (made on first use)."""
    name = f"web-entry:{facility}:{day.isoformat()}"
    found = session.scalars(
        select(ImportBatch)
        .where(ImportBatch.file_kind == WEB_FILE_KIND, ImportBatch.file_name == name)
        .order_by(ImportBatch.id)
        .limit(1)
    ).first()
    if found is not None:
        return found
    batch = ImportBatch(
        kind=BatchKind.DOSES.value,
        file_name=name,
        file_sha256=hashlib.sha256(name.encode()).hexdigest(),
        file_kind=WEB_FILE_KIND,
        rows_read=0,
        rows_imported=0,
        rows_unchanged=0,
        rows_quarantined=0,
        imported_by=f"web:{facility}",
        started_at=now,
    )
    session.add(batch)
    session.flush()
    return batch


def _next_row(session: Session, batch: ImportBatch, now: dt.datetime) -> int:
    """The next source row of the batch, taken atomically (two clerks never share one)."""
    row = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id)
        .values(
            rows_read=ImportBatch.rows_read + 1,
            rows_imported=ImportBatch.rows_imported + 1,
            finished_at=now,
        )
        .returning(ImportBatch.rows_read)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.expire(batch)
    return int(row)


def _row_hash(raw: Sequence[str | None]) -> str:
    """md5 over the raw values, the twin of `ingest.checks.raw_hash_sql`."""
    text = chr(31).join("=" + v if v is not None else "~" for v in raw)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _precision(iso: str) -> str:
    return {10: "day", 7: "month"}.get(len(iso), "year")


def _new_record(
    session: Session,
    facility: str,
    now: dt.datetime,
    raw: dict[str, str | None],
    parsed: dict[str, object],
) -> DoseRecord:
    batch = web_batch(session, facility, now.date(), now)
    row = _next_row(session, batch, now)
    record_id = f"WEB-{batch.id}-{row:05d}"
    order = (
        "full_name",
        "date_of_birth",
        "sex",
        "id_number",
        "phone",
        "province_code",
        "district_code",
        "ward_code",
        "vaccine",
        "lot_number",
        "vaccination_date",
        "dose_number",
        "facility_code",
    )
    dose = DoseRecord(
        record_id=record_id,
        batch_id=batch.id,
        source_row=row,
        row_hash=_row_hash([record_id, *(raw.get(k) for k in order)]),
        **{f"raw_{k}": raw.get(k) for k in order},
        raw_extra=raw.get("extra"),
        **parsed,
    )
    session.add(dose)
    session.flush()
    return dose


def _extra(
    principal: Principal,
    source: IdentitySource,
    dose: DoseInput,
    acknowledged: Sequence[ScheduleWarning],
    **more: str,
) -> str:
    entry = {
        "identity_source": source.value,
        "category": dose.category,
        "sequence": dose.sequence,
        "entered_by": principal.username,
        "schedule_rules": schedule.rules().version,
        "acknowledged_warnings": [w.code.value for w in acknowledged],
        **more,
    }
    return json.dumps({"entry": entry}, ensure_ascii=False, sort_keys=True)


def _warning_note(acknowledged: Sequence[ScheduleWarning]) -> str | None:
    if not acknowledged:
        return None
    return "; ".join(f"schedule warning acknowledged: {w.code.value}" for w in acknowledged)


def record_dose(
    session: Session,
    principal: Principal,
    registry: RegistryPort,
    *,
    citizen_id: str,
    dose: DoseInput,
    source: IdentitySource,
    acknowledge_warnings: Collection[str] = (),
    site: str | None = None,
    now: dt.datetime,
) -> EntryResult:
    """Record a dose for a registry citizen: `verified`, linked, in the day's web batch, audited."""
    facility = facility_of(principal)
    if site and site != facility:
        raise EntryNotAllowed(f"this account enters doses for site {facility}, not {site}")
    if source is IdentitySource.UNREGISTERED:
        raise EntryError("a person outside the registry is recorded with record_unregistered_dose")
    today = now.date()
    vaccine = _checked_dose(dose, today)
    digits, kind = _citizen_id(citizen_id)
    person = _lookup(registry, digits, kind)  # asked again: the form's copy is never trusted
    if person is None:
        raise NotInRegistry(f"ID number {digits} is not in the population registry")
    found, number = _warnings(
        session, person.citizen_id, dose, vaccine.key, today, acknowledge_warnings
    )
    raw = {
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth,
        "sex": person.sex,
        "id_number": digits,
        "phone": None,
        "province_code": person.province_code,
        "district_code": person.district_code,
        "ward_code": person.ward_code,
        "vaccine": dose.vaccine,
        "lot_number": dose.lot,
        "vaccination_date": dose.date.isoformat(),
        "dose_number": str(number),
        "facility_code": facility,
        "extra": _extra(principal, source, dose, found),
    }
    parsed: dict[str, object] = {
        "full_name": normalise_name(person.full_name),
        "name_folded": fold_name(person.full_name),
        "date_of_birth": person.date_of_birth,
        "dob_precision": _precision(person.date_of_birth),
        "sex": person.sex,
        "id_number": person.citizen_id,
        "id_kind": IdKind.CCCD12.value,
        "phone": None,
        "province_code": person.province_code,
        "district_code": person.district_code,
        "ward_code": person.ward_code,
        "vaccine_key": vaccine.key,
        "vaccine_mp": vaccine.mp,
        "lot_number": dose.lot.strip(),
        "vaccination_date": dose.date,
        "dose_number": number,
        "dose_category": dose.category,
        "dose_sequence": dose.sequence,
        "facility_code": facility,
        "warnings": _warning_note(found),
        "status": DoseStatus.VERIFIED.value,
        "citizen_id": person.citizen_id,
    }
    record = _new_record(session, facility, now, raw, parsed)
    audit.record(
        session,
        actor=principal,
        action="dose.enter",
        object_type="dose_record",
        object_id=str(record.id),
        unit=unit_of(person.province_code, person.district_code, person.ward_code),
        detail={
            "record_id": record.record_id,
            "source": source.value,
            "status": record.status,
            "facility": facility,
            "version": record.version,
            "warnings": [w.code.value for w in found],
        },
    )
    return EntryResult(record, tuple(found))


def record_unregistered_dose(
    session: Session,
    principal: Principal,
    *,
    identity: TypedIdentity,
    dose: DoseInput,
    acknowledge_warnings: Collection[str] = (),
    now: dt.datetime,
) -> EntryResult:
    """Record a dose for a person the registry did not confirm, with the documented reason.

    The record stays `pending`: linkage and then the commune police verify the identity."""
    facility = facility_of(principal)
    today = now.date()
    vaccine = _checked_dose(dose, today)
    note = " ".join(identity.note.split())
    if len(note) < 10:
        raise EntryError(
            "explain in a sentence why the person cannot be found in the registry "
            "(document seen, where they live); the record will be verified later"
        )
    name = normalise_name(identity.full_name or "")
    if not fold_name(name).strip():
        raise EntryError("type the person's full name as on their document")
    try:
        dob = parse_date(identity.date_of_birth).iso()
        sex = parse_sex(identity.sex)
    except IdentityParseError as exc:
        raise EntryError(str(exc)) from None
    if sex is None:
        raise EntryError("choose the person's sex")
    id_raw = identity.id_number.strip()
    digits = normalise_id(id_raw) if id_raw else ""
    found, number = _warnings(
        session, digits or "-", dose, vaccine.key, today, acknowledge_warnings
    )
    extra = _extra(
        principal,
        IdentitySource.UNREGISTERED,
        dose,
        found,
        unregistered_reason=identity.reason.value,
        note=note,
    )
    raw = {
        "full_name": identity.full_name,
        "date_of_birth": identity.date_of_birth,
        "sex": identity.sex,
        "id_number": id_raw or None,
        "vaccine": dose.vaccine,
        "lot_number": dose.lot,
        "vaccination_date": dose.date.isoformat(),
        "dose_number": str(number),
        "facility_code": facility,
        "extra": extra,
    }
    kind = classify_id(digits) if digits else IdKind.EMPTY
    parsed: dict[str, object] = {
        "full_name": name,
        "name_folded": fold_name(name),
        "date_of_birth": dob,
        "dob_precision": _precision(dob),
        "sex": sex,
        "id_number": digits or None,
        "id_kind": kind.value,
        "vaccine_key": vaccine.key,
        "vaccine_mp": vaccine.mp,
        "lot_number": dose.lot.strip(),
        "vaccination_date": dose.date,
        "dose_number": number,
        "dose_category": dose.category,
        "dose_sequence": dose.sequence,
        "facility_code": facility,
        "status": DoseStatus.PENDING.value,
        "citizen_id": None,
        "warnings": "; ".join(
            filter(
                None,
                [
                    f"entered without registry confirmation: {identity.reason.value}",
                    _warning_note(found),
                ],
            )
        ),
    }
    record = _new_record(session, facility, now, raw, parsed)
    audit.record(
        session,
        actor=principal,
        action="dose.enter_unregistered",
        object_type="dose_record",
        object_id=str(record.id),
        unit=None,
        detail={
            "record_id": record.record_id,
            "reason": identity.reason.value,
            "facility": facility,
            "status": record.status,
            "warnings": [w.code.value for w in found],
        },
    )
    return EntryResult(record, tuple(found))


__all__ = [
    "IDENTITY_FIRST_SINCE",
    "DoseInput",
    "EntryError",
    "EntryNotAllowed",
    "EntryResult",
    "HistoryDose",
    "IdentityCheck",
    "IdentitySource",
    "NoVaccinationSite",
    "NotInRegistry",
    "RegistryUnavailable",
    "TypedIdentity",
    "UnregisteredReason",
    "WarningsNotAcknowledged",
    "record_dose",
    "record_unregistered_dose",
    "start_entry",
]

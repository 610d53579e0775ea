"""Identity-first dose entry at the vaccination point (the rule since 20 October 2021).

An entry starts from the person's identity (a typed ID number, the chip-card QR text scanned
in the browser, or a photo of it decoded here), checked against the population registry through
the registry port (`identify.start_entry`); only then is the dose recorded (here: checked
against the catalogue and the schedule, then stored by records' `add_web_dose` as an ordinary
`DoseRecord` in the facility's web-entry import batch of the day, its raw_* values exactly what
was entered). The identity comes from the registry by ID number, so the record meets the
definition of `verified` (docs/formats.md §3) and is linked to the citizen at once; the operator has
confirmed the person in front of them against the name, date of birth and sex shown.

A person the registry does not know is refused unless the operator records why (foreigner,
registry not yet updated, registry unreachable…): that dose is kept `pending` with the identity
as typed, so linkage and the commune police verify it later, like any imported record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import OutOfScope, Principal
from vaxlink.cleaning import schedule
from vaxlink.cleaning.entry_errors import (
    EntryError,
    EntryNotAllowed,
    NotInRegistry,
    NoVaccinationSite,
    WarningsNotAcknowledged,
)
from vaxlink.cleaning.identify import (
    IdentityCheck,
    IdentitySource,
    as_schedule,
    citizen_number,
    facility_of,
    lookup,
    start_entry,
    unit_of,
)
from vaxlink.cleaning.schedule import ScheduleWarning
from vaxlink.errors import NotFound
from vaxlink.identity import (
    IdentityParseError,
    IdKind,
    classify_id,
    fold_name,
    normalise_id,
    normalise_name,
    parse_date,
    parse_sex,
)
from vaxlink.records.service import (
    FIRST_VACCINATION_DAY,
    WEB_FILE_KIND,
    DoseCategory,
    DoseRecord,
    DoseStatus,
    HistoryDose,
    Vaccine,
    add_web_dose,
    history,
    precision,
)
from vaxlink.records.service import lookup as vaccine_lookup
from vaxlink.registry.service import RegistryPort, RegistryUnavailable

#: The day the identity-first rule took effect.
IDENTITY_FIRST_SINCE: Final = dt.date(2021, 10, 20)
MAX_SEQUENCE: Final = 10
MAX_LOT: Final = 64


class UnregisteredReason(StrEnum):
    """Why a dose is recorded for a person the registry did not confirm (kept for verification)."""

    FOREIGNER = "foreigner"  # người nước ngoài: passport number, not in the population registry
    NOT_YET_IN_REGISTRY = "not_yet_in_registry"  # registry not updated (newborn, moved, new card)
    REGISTRY_UNAVAILABLE = "registry_unavailable"  # the registry could not be asked


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


def _checked_dose(dose: DoseInput, today: dt.date) -> Vaccine:
    vaccine = vaccine_lookup(dose.vaccine or "")
    if vaccine is None:
        raise EntryError(f"vaccine '{dose.vaccine}' is not in the catalogue; choose from the list")
    if not dose.lot.strip():
        message = "type the lot number (Số lô) printed on the vial"
        raise EntryError(message).keyed("error.lot_missing")
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
    past = [as_schedule(h) for h in history(session, citizen_id)]
    new = schedule.Dose(dose.date, vaccine_key, dose.category, dose.sequence)
    found = schedule.check(past, new, today=today)
    missing = [w for w in found if w.code.value not in set(acknowledge)]
    if missing:
        raise WarningsNotAcknowledged(found)
    before = [d for d in past if d.date < dose.date]
    return found, schedule.dose_number(before, new)


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
    digits, kind = citizen_number(citizen_id)
    person = lookup(registry, digits, kind)  # asked again: the form's copy is never trusted
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
        "dob_precision": precision(person.date_of_birth),
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
    }
    record = add_web_dose(session, facility=facility, now=now, raw=raw, parsed=parsed,
                          status=DoseStatus.VERIFIED, citizen_id=person.citizen_id)  # fmt: skip
    auth.append(
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
        }, at=now
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
        "dob_precision": precision(dob),
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
    record = add_web_dose(session, facility=facility, now=now, raw=raw, parsed=parsed,
                          status=DoseStatus.PENDING, citizen_id=None)  # fmt: skip
    auth.append(
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
        }, at=now
    )
    return EntryResult(record, tuple(found))


def recorded_dose(
    session: Session, principal: Principal, dose_id: int, *, now: dt.datetime
) -> DoseRecord:
    """A dose this site recorded, for its confirmation page (another site's is refused and the
    refusal audited); the view is audited."""
    site = facility_of(principal)
    dose = session.get(DoseRecord, dose_id)
    if dose is None:
        raise NotFound(f"there is no dose record #{dose_id}")
    if dose.facility_code != site:
        auth.append_after_transaction(
            session, actor=principal, action="access.denied", object_type="dose_record",
            object_id=dose_id, detail={"reason": "other_site", "facility": site}, at=now,
        )  # fmt: skip
        raise OutOfScope("this dose was recorded by another vaccination site")
    auth.append(
        session, actor=principal, action="dose.view", object_type="dose_record", object_id=dose_id,
        unit=unit_of(dose.province_code, dose.district_code, dose.ward_code),
        detail={"facility": site, "version": dose.version}, at=now,
    )  # fmt: skip
    return dose


__all__ = [
    "IDENTITY_FIRST_SINCE",
    "WEB_FILE_KIND",
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
    "facility_of",
    "record_dose",
    "record_unregistered_dose",
    "recorded_dose",
    "start_entry",
    "unit_of",
]

"""The identity step of dose entry: who is this person, according to the population registry?

The operator gives the person's identity (a typed ID number, the chip-card QR text scanned in the
browser, or a photo of it decoded here); it is checked against the population registry through
the registry port, and the person's doses on record are shown with the dose the schedule expects
next. Every look-up is audited, by the person's opaque reference (never the ID number).

Bulk look-ups are bounded (issue #13): each account has an hourly quota of look-ups
(`LookupQuota`, counted in the store so every worker sees it), and a tighter one for people who
live outside the account's unit. People do get vaccinated away from home, so such a look-up is
answered, but minimised: name, birth year and sex to confirm the person, and the dose the
schedule expects next; no address and no dose history.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import Permission, Principal
from vaxlink.cleaning import schedule
from vaxlink.cleaning.entry_errors import (
    EntryError,
    EntryNotAllowed,
    LookupThrottled,
    NoVaccinationSite,
)
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.identity import (
    ChipQr,
    IdentityParseError,
    IdKind,
    classify_id,
    fold_name,
    normalise_id,
    parse_chip_qr,
)
from vaxlink.ratelimit import Limit, StoreCounters, secret_of
from vaxlink.records.service import DoseCategory, HistoryDose, history, person_ref
from vaxlink.registry.service import PersonQuery, RegistryPerson, RegistryPort
from vaxlink.settings import Settings


class IdentitySource(StrEnum):
    """How the operator gave the person's identity."""

    TYPED = "typed"
    CHIP_QR = "chip_qr"
    PHOTO = "photo"
    UNREGISTERED = "unregistered"


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
    #: The person lives outside the account's unit: only what is needed to record the dose.
    limited: bool = False

    @property
    def found(self) -> bool:
        return self.person is not None


@dataclass(frozen=True, slots=True)
class LookupQuota:
    """Identity look-ups an account may make an hour, in all and of people outside its unit."""

    per_hour: int
    outside_per_hour: int
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> LookupQuota:
        return cls(settings.entry_lookups_per_hour, settings.entry_outside_lookups_per_hour,
                   secret_of(settings))  # fmt: skip

    def take(self, session: Session, principal: Principal, *, outside: bool, now: dt.datetime) -> None:
        """Count one look-up of `principal` (and one outside its unit); `LookupThrottled` past
        either quota. The count is flushed before raising: the caller commits it."""
        limit = Limit("entry.outside" if outside else "entry.lookup",
                      self.outside_per_hour if outside else self.per_hour, dt.timedelta(hours=1))  # fmt: skip
        wait = StoreCounters(session, limit, secret=self.secret, now=now).take(str(principal.user_id))
        if wait > 0:
            raise LookupThrottled(math.ceil(wait), outside=outside)


def minimised(person: RegistryPerson) -> RegistryPerson:
    """What an out-of-unit look-up shows: name, birth year and sex (enough to confirm the person
    in front of the operator), no place of residence, phone or old ID number."""
    return RegistryPerson(
        citizen_id=person.citizen_id, full_name=person.full_name,
        date_of_birth=person.date_of_birth[:4], sex=person.sex, province_code="",
    )  # fmt: skip


def as_schedule(dose: HistoryDose) -> schedule.Dose:
    """A dose on record, as the schedule rules see it."""
    return schedule.Dose(dose.date, dose.vaccine_key, dose.category, dose.sequence)


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


def citizen_number(raw: str) -> tuple[str, IdKind]:
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


def lookup(registry: RegistryPort, digits: str, kind: IdKind) -> RegistryPerson | None:
    if kind is IdKind.CCCD12:
        return registry.get(digits)
    # An old 9-digit CMND: the registry keeps it as `old_id` of the citizen's current record.
    answer = registry.candidates(PersonQuery(full_name="-", id_number=digits))
    hits = [p for p in answer.candidates if p.old_id == digits]
    return hits[0] if len(hits) == 1 else None


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
    from vaxlink.certificates.service import QrNotFound, read_qr  # Pillow, zxing-cpp: on first use

    if not image:
        raise EntryError("choose a photo of the QR code on the ID card").keyed("error.photo_missing")
    try:
        return read_qr(image)
    except QrNotFound:
        raise EntryError(
            "no QR code could be read in the photo: photograph the QR code on the front of the "
            "card, flat, in focus and filling most of the picture, or type the ID number"
        ).keyed("error.qr_unreadable") from None


def start_entry(
    session: Session,
    principal: Principal,
    registry: RegistryPort,
    *,
    id_number: str | None = None,
    chip_qr_text: str | None = None,
    image: bytes | None = None,
    today: dt.date,
    quota: LookupQuota | None = None,
    now: dt.datetime,
) -> IdentityCheck:
    """Identify the person (typed ID, chip-card QR text, or a photo of the QR) in the registry.

    With a `quota` (the web pages always give one, with `now`), the look-up is counted against
    the account's hourly quotas first (`LookupThrottled` past them)."""
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
            raise EntryError(f"this is not a chip-card QR code: {exc}").keyed(
                "error.invalid_chip_qr"
            ) from None
        id_number = card.id_number
    digits, kind = citizen_number(id_number or "")
    if quota is not None:
        quota.take(session, principal, outside=False, now=now)
    person = lookup(registry, digits, kind)
    outside = person is not None and not principal.covers(
        province=person.province_code, district=person.district_code, ward=person.ward_code
    )
    if quota is not None and outside:
        quota.take(session, principal, outside=True, now=now)
    past = history(session, person.citizen_id if person else digits)
    auth.append(
        session,
        actor=principal,
        action="dose_entry.identify",
        object_type="citizen",
        object_id=person_ref(session, person.citizen_id) if person else "not-found",
        unit=unit_of(person.province_code, person.district_code, person.ward_code)
        if person
        else None,
        detail={
            "found": person is not None,
            "source": source.value,
            "doses": len(past),
            "facility": facility,
            "outside_unit": outside,
        },
        at=now,
    )
    if person is None:
        return IdentityCheck(digits, source, None, "", card=card, history=past)
    before = [as_schedule(h) for h in past if h.date < today]
    category, sequence = schedule.expected_next(before, past[0].vaccine_key if past else "")
    check = IdentityCheck(
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
    if outside:
        return replace(check, person=minimised(person), address="", history=(), limited=True)
    return check

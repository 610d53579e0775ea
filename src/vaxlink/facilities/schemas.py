"""A vaccination site as it comes in (one row of a list, or a call): checked and normalised.

Pure apart from geo's in-memory unit list: every problem with a row is named in words an
operator can act on, all of them at once, so a list is fixed in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from vaxlink.facilities.errors import FacilityError
from vaxlink.facilities.models import CODE_LENGTH, NAME_LENGTH, FacilityKind
from vaxlink.geo.errors import GeoError
from vaxlink.geo.service import normalise_ward_code
from vaxlink.ingest.service import header_key

#: Fields a site has, in the order lists and tables show them.
FIELDS: Final = ("code", "name", "ward_code", "kind", "head_name", "phone", "email", "active")
#: How lists name each kind (compared without accents or case): Vietnamese first.
KIND_WORDS: Final[dict[FacilityKind, tuple[str, ...]]] = {
    FacilityKind.HEALTH_STATION: ("Trạm y tế", "TYT", "Trạm", "health station"),
    FacilityKind.HOSPITAL: ("Bệnh viện", "BV", "hospital"),
    FacilityKind.MOBILE_TEAM: ("Đội tiêm lưu động", "Đội lưu động", "Lưu động", "mobile team"),
    FacilityKind.OTHER: ("Khác", "other"),
}
_KINDS: Final = {
    header_key(w): kind for kind, words in KIND_WORDS.items() for w in (kind.value, *words)
}
_YES: Final = frozenset({"co", "x", "1", "yes", "y", "true", "dang_hoat_dong", "hoat_dong"})
_NO: Final = frozenset({"khong", "0", "no", "n", "false", "ngung", "ngung_hoat_dong"})
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
HEAD_LENGTH: Final = 120


@dataclass(frozen=True)
class FacilityInput:
    """One site as given; `active` None keeps what the store has (a new site is active)."""

    code: str
    name: str
    ward_code: str
    kind: FacilityKind | str
    head_name: str | None = None
    phone: str | None = None
    email: str | None = None
    active: bool | None = None


def _text(raw: object) -> str | None:
    """Trimmed NFC text with single spaces, or None when empty."""
    if raw is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", str(raw)).split())
    return text or None


def kind_of(raw: str) -> FacilityKind:
    """The kind a list names ("Trạm y tế", "bệnh viện", "mobile_team", ...)."""
    kind = _KINDS.get(header_key(raw))
    if kind is None:
        words = ", ".join(words[0] for words in KIND_WORDS.values())
        raise FacilityError(f"kind '{raw}' is not known: write one of {words}")
    return kind


def normalise_phone(raw: str) -> str:
    """A Vietnamese phone number as its digits from the leading 0 (mobile 10, landline 11)."""
    digits = re.sub(r"[^0-9]", "", raw)
    if raw.strip().startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    elif not digits.startswith("0") and len(digits) in (9, 10):
        digits = "0" + digits  # a spreadsheet dropped the leading zero
    if not (digits.startswith("0") and len(digits) in (10, 11)):
        raise FacilityError(
            f"phone '{raw}' is not a Vietnamese phone number (10 or 11 digits from the leading 0)"
        )
    return digits


def _active(raw: str) -> bool:
    key = header_key(raw)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise FacilityError(f"active '{raw}' is not yes or no (Có / Không)")


def check(values: Mapping[str, object]) -> tuple[FacilityInput | None, list[str]]:
    """The site a row describes, or None and every reason it cannot be used."""
    v = {f: _text(values.get(f)) for f in FIELDS}
    reasons: list[str] = []
    code, name, ward, kind_raw = v["code"], v["name"], v["ward_code"], v["kind"]
    if code is None:
        reasons.append("the site code (Mã cơ sở) is empty")
    elif " " in code or len(code) > CODE_LENGTH:
        reasons.append(f"site code '{code}' must be one word of at most {CODE_LENGTH} characters, "
                       "written as the dose records write it")  # fmt: skip
    if name is None:
        reasons.append("the site name (Tên cơ sở) is empty")
    elif len(name) > NAME_LENGTH:
        reasons.append(f"the site name is longer than {NAME_LENGTH} characters")
    if ward is None:
        reasons.append("the ward code (Mã xã) is empty: write the 5-digit code of the ward whose "
                       "health station the site belongs to")  # fmt: skip
    else:
        try:
            ward = normalise_ward_code(ward)
        except GeoError as exc:
            reasons.append(str(exc))
    kind: FacilityKind | None = None
    if kind_raw is None:
        words = ", ".join(words[0] for words in KIND_WORDS.values())
        reasons.append(f"the kind (Loại) is empty: write one of {words}")
    else:
        try:
            kind = kind_of(kind_raw)
        except FacilityError as exc:
            reasons.append(str(exc))
    if v["head_name"] is not None and len(v["head_name"]) > HEAD_LENGTH:
        reasons.append(f"the head's name is longer than {HEAD_LENGTH} characters")
    phone = v["phone"]
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except FacilityError as exc:
            reasons.append(str(exc))
    email = v["email"]
    if email is not None:
        if _EMAIL.fullmatch(email) and len(email) <= 254:
            local, domain = email.rsplit("@", 1)
            email = f"{local}@{domain.lower()}"
        else:
            reasons.append(f"e-mail '{email}' is not an e-mail address")
    active: bool | None = None
    if v["active"] is not None:
        try:
            active = _active(v["active"])
        except FacilityError as exc:
            reasons.append(str(exc))
    if reasons or code is None or name is None or ward is None or kind is None:
        return None, reasons
    return FacilityInput(code, name, ward, kind, v["head_name"], phone, email, active), []


def checked(item: FacilityInput) -> FacilityInput:
    """`item` normalised, or FacilityError naming every problem with it."""
    values = {f: getattr(item, f) for f in FIELDS if f != "active"}
    good, reasons = check(values)
    if good is None:
        raise FacilityError(f"site {item.code!r}: " + "; ".join(reasons))
    return FacilityInput(**{**good.__dict__, "active": item.active})


@dataclass(frozen=True)
class RefusedRow:
    """A row of a list that was not used, and why (row numbers as the spreadsheet shows them)."""

    row: int
    code: str | None
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        site = f" ({self.code})" if self.code else ""
        return f"row {self.row}{site}: " + "; ".join(self.reasons)

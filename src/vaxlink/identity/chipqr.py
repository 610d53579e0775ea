"""The QR code on chip-based ID cards: ID12|old CMND|Full Name|ddmmyyyy|Nam/Nữ|address|ddmmyyyy."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from vaxlink.identity.dates import PartialDate
from vaxlink.identity.errors import ChipQrError, DateParseError
from vaxlink.identity.idnumber import normalise_id
from vaxlink.identity.names import fold_name
from vaxlink.identity.sex import Sex, sex_word

FIELD_COUNT = 7
_FIELD_NAMES = (
    "ID number", "old ID number", "full name", "date of birth", "sex", "address", "issue date",
)  # fmt: skip
_LAYOUT = "ID|old ID|full name|ddmmyyyy|Nam/Nữ|address|ddmmyyyy"
_CARD_SEX: dict[str, Sex] = {"nam": "M", "nu": "F"}


@dataclass(frozen=True, slots=True)
class ChipQr:
    """The fields of a chip-card QR payload, cleaned; `extra` holds fields after the seventh."""

    id_number: str
    old_id: str  # "" when the card has no former CMND
    full_name: str
    date_of_birth: PartialDate
    sex: Sex
    address: str
    issue_date: date
    extra: tuple[str, ...] = ()


def _error(index: int, value: str, problem: str) -> ChipQrError:
    label = f"field {index + 1} ({_FIELD_NAMES[index]})"
    return ChipQrError(f"chip QR {label} '{value}' {problem}", field=_FIELD_NAMES[index])


def _id_field(value: str, index: int, lengths: tuple[int, ...]) -> str:
    digits = normalise_id(value)
    if not (digits.isascii() and digits.isdigit() and len(digits) in lengths):
        wanted = " or ".join(str(n) for n in lengths)
        raise _error(index, value, f"is not a {wanted}-digit number")
    return digits


def _ddmmyyyy(value: str, index: int, *, partial: bool) -> PartialDate:
    """ddmmyyyy; for a partial date of birth also 00mmyyyy, 0000yyyy or yyyy."""
    text = value.replace("/", "")
    if len(text) == 4 and partial:
        text = "0000" + text
    if not (text.isascii() and text.isdigit() and len(text) == 8):
        raise _error(index, value, "is not a date written ddmmyyyy")
    day, month, year = int(text[:2]), int(text[2:4]), int(text[4:])
    if partial and day == 0:
        day_part: int | None = None
        month_part = month or None
    else:
        day_part, month_part = day, month
    try:
        return PartialDate(year, month_part, day_part)
    except DateParseError:
        raise _error(index, value, "is not a date that exists") from None


def _fields(text: str) -> list[str]:
    cleaned = unicodedata.normalize("NFC", text.replace("\ufeff", "")).strip()
    fields = [field.strip() for field in cleaned.split("|")]
    while len(fields) > FIELD_COUNT and not fields[-1]:
        fields.pop()  # trailing '|'
    if len(fields) < FIELD_COUNT:
        raise ChipQrError(
            f"chip QR has {len(fields)} field(s) separated by '|', expected {FIELD_COUNT}: "
            f"{_LAYOUT}; scan the QR code on the card again"
        )
    return fields


def parse_chip_qr(text: str) -> ChipQr:
    """Read a chip-card QR payload, tolerating BOM, NFD, spaces, a trailing '|' and extra fields."""
    fields = _fields(text)
    id_number = _id_field(fields[0], 0, (12,))
    old_id = _id_field(fields[1], 1, (9, 12)) if fields[1] else ""
    full_name = " ".join(fields[2].split())
    if not full_name:
        raise _error(2, fields[2], "is empty")
    date_of_birth = _ddmmyyyy(fields[3], 3, partial=True)
    sex = _CARD_SEX.get(fold_name(fields[4]))
    if sex is None:
        raise _error(4, fields[4], "is not Nam or Nữ").keyed("error.invalid_chip_qr")
    issue = _ddmmyyyy(fields[6], 6, partial=False).as_date()
    assert issue is not None
    return ChipQr(
        id_number=id_number,
        old_id=old_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        address=" ".join(fields[5].split()),
        issue_date=issue,
        extra=tuple(fields[FIELD_COUNT:]),
    )


def _qr_date(value: PartialDate | date) -> str:
    if isinstance(value, date):
        value = PartialDate.from_date(value)
    return f"{value.day or 0:02d}{value.month or 0:02d}{value.year:04d}"


def format_chip_qr(
    *,
    id_number: str,
    full_name: str,
    date_of_birth: PartialDate | date,
    sex: Sex,
    address: str,
    issue_date: date,
    old_id: str = "",
) -> str:
    """The QR text a chip card would carry (for test data); refuses values that cannot read back."""
    values = (id_number, old_id, full_name, address)
    if any("|" in value or "\n" in value for value in values):
        raise ChipQrError("chip QR fields cannot contain '|' or line breaks")
    fields = [
        id_number,
        old_id,
        full_name,
        _qr_date(date_of_birth),
        sex_word(sex),
        address,
        _qr_date(issue_date),
    ]
    text = "|".join(fields)
    parse_chip_qr(text)  # the payload must read back, or the caller passed a bad value
    return text

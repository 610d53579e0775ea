"""ID numbers: the 12-digit personal ID (CCCD, số định danh) and the 9-digit CMND.

A CCCD is PPP G YY RRRRRR: birth-registration province, sex and century, the last two digits of
the birth year, six random digits. There is no check digit, so the only checks are the province
code and agreement with the person's sex and birth year.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from vaxlink.identity.dates import PartialDate
from vaxlink.identity.errors import IdNumberError
from vaxlink.identity.provinces import BIRTH_PROVINCES
from vaxlink.identity.sex import Sex, parse_sex

#: Oldest age at which a birth year is still taken as possible.
MAX_AGE = 120

# Sex/century digit // 2 -> first year of the century; digit % 2: 0 male, 1 female.
_CENTURIES = (1900, 2000, 2100, 2200, 1800)
_LIVING_CENTURIES = (1900, 2000)

_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u2060\ufeff]")
# Spaces (any), dots, commas, dashes, slashes, underscores and Excel's leading apostrophe.
_SEPARATORS = re.compile(r"[\s.,\-_/'\u2010-\u2015\u2212\u00b7]+")
_EXCEL_FLOAT = re.compile(r"(\d+)\.(0+)")
_EXCEL_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")


class IdKind(StrEnum):
    """What an ID-number field holds."""

    CCCD12 = "cccd12"
    CMND9 = "cmnd9"
    CCCD12_LOST_ZEROS = "cccd12_lost_zeros"  # 10/11 digits: a CCCD whose leading 0s Excel dropped
    CMND9_LOST_ZEROS = "cmnd9_lost_zeros"  # 8 digits: a CMND whose leading 0 Excel dropped
    TOO_LONG = "too_long"
    INVALID = "invalid"
    EMPTY = "empty"


class FindingCode(StrEnum):
    """Why an ID number and a person's data need verification."""

    PROVINCE_UNKNOWN = "province_unknown"
    BIRTH_YEAR_IMPOSSIBLE = "birth_year_impossible"
    SEX_MISMATCH = "sex_mismatch"
    BIRTH_YEAR_MISMATCH = "birth_year_mismatch"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to verify a record against the ID card; never a verdict that it is false."""

    code: FindingCode
    message: str
    field: str


@dataclass(frozen=True, slots=True)
class CccdInfo:
    """What a 12-digit ID number says about its holder."""

    id_number: str
    province_code: str
    province_name: str | None  # None: not one of the 63 birth-registration provinces
    sex: Sex
    century: int  # first year of the birth century, e.g. 1900
    birth_year_2: int  # last two digits of the birth year
    birth_year: int
    birth_year_possible: bool  # 1900s or 2000s, and (given today) not future nor over MAX_AGE
    serial: str


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def normalise_id(raw: str) -> str:
    """Digits only when the input is digits and separators (full-width too), else cleaned text."""
    text = _ascii_digits(_INVISIBLE.sub("", unicodedata.normalize("NFKC", raw))).strip()
    excel_float = _EXCEL_FLOAT.fullmatch(text)
    if excel_float is not None and len(excel_float[2]) != 3:  # "1085012345.0", not "001.085.000"
        return excel_float[1]
    compact = _SEPARATORS.sub("", text)
    if compact == "" or (compact.isascii() and compact.isdigit()):
        return compact
    return " ".join(text.split())


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def pad_lost_zeros(raw: str) -> str | None:
    """The full number when Excel dropped leading zeros (10/11 -> 12, 8 -> 9 digits), else None."""
    digits = normalise_id(raw)
    if not _is_digits(digits) or digits.startswith("0"):
        return None
    if len(digits) in (10, 11):
        padded = digits.zfill(12)
        return padded if padded[:3] in BIRTH_PROVINCES else None
    if len(digits) == 8:
        return "0" + digits
    return None


def classify_id(raw: str) -> IdKind:
    """Which kind of ID number the field holds, judged on its digits alone."""
    digits = normalise_id(raw)
    if not digits:
        return IdKind.EMPTY
    if not _is_digits(digits):
        return IdKind.INVALID
    if len(digits) == 12:
        return IdKind.CCCD12
    if len(digits) == 9:
        return IdKind.CMND9
    if len(digits) > 12:
        return IdKind.TOO_LONG
    if pad_lost_zeros(digits) is not None:
        return IdKind.CMND9_LOST_ZEROS if len(digits) == 8 else IdKind.CCCD12_LOST_ZEROS
    return IdKind.INVALID


def id_problem(raw: str) -> str | None:
    """What is wrong with an ID-number field, in words for the station; None for 12 or 9 digits."""
    kind = classify_id(raw)
    shown = raw.strip()
    digits = normalise_id(raw)
    if kind in (IdKind.CCCD12, IdKind.CMND9):
        return None
    if kind is IdKind.EMPTY:
        return "the ID number is empty"
    if kind in (IdKind.CCCD12_LOST_ZEROS, IdKind.CMND9_LOST_ZEROS):
        return (
            f"ID number '{shown}' has lost its leading zeros (Excel drops them); it is probably "
            f"{pad_lost_zeros(raw)} - format the column as Text and check it against the ID card"
        )
    if kind is IdKind.TOO_LONG:
        return (
            f"ID number '{shown}' has {len(digits)} digits, more than the 12 of a CCCD; "
            "check it against the ID card for an extra digit"
        )
    if _EXCEL_SCIENTIFIC.fullmatch(digits):
        return (
            f"ID number '{shown}' was rounded by Excel and its digits are lost; "
            "re-enter it from the ID card with the column formatted as Text"
        )
    return f"'{shown}' is not an ID number (expected 12 digits for a CCCD or 9 for a CMND)"


def decode_cccd(id12: str, *, today: date | None = None) -> CccdInfo:
    """Decode a 12-digit ID number; `today` also rules out future and over-age birth years."""
    digits = normalise_id(id12)
    if not _is_digits(digits) or len(digits) != 12:
        raise IdNumberError(
            f"'{id12.strip()}' is not a 12-digit ID number; check it against the ID card",
            field="id_number",
        )
    code = int(digits[3])
    century = _CENTURIES[code // 2]
    birth_year = century + int(digits[4:6])
    possible = century in _LIVING_CENTURIES and (
        today is None or today.year - MAX_AGE <= birth_year <= today.year
    )
    return CccdInfo(
        id_number=digits,
        province_code=digits[:3],
        province_name=BIRTH_PROVINCES.get(digits[:3]),
        sex="M" if code % 2 == 0 else "F",
        century=century,
        birth_year_2=int(digits[4:6]),
        birth_year=birth_year,
        birth_year_possible=possible,
        serial=digits[6:],
    )


def compose_cccd(province_code: str, sex: Sex, birth_year: int, serial6: str | int) -> str:
    """Build a 12-digit ID number (for synthetic data); the inverse of decode_cccd."""
    if province_code not in BIRTH_PROVINCES:
        raise IdNumberError(f"province code '{province_code}' is not one of the 63 province codes")
    if sex not in ("M", "F"):
        raise IdNumberError(f"sex must be 'M' or 'F', not {sex!r}")
    century = birth_year // 100 * 100
    if century not in _CENTURIES:
        raise IdNumberError(f"birth year {birth_year} cannot be put in an ID number (1800-2299)")
    serial = f"{serial6:06d}" if isinstance(serial6, int) else serial6
    if not (_is_digits(serial) and len(serial) == 6):
        raise IdNumberError(f"serial {serial6!r} must be six digits")
    code = _CENTURIES.index(century) * 2 + (1 if sex == "F" else 0)
    return f"{province_code}{code}{birth_year % 100:02d}{serial}"


def _sex_words(sex: Sex) -> str:
    return "male" if sex == "M" else "female"


def consistency_findings(
    id12: str,
    dob: PartialDate | None = None,
    sex: str | None = None,
    *,
    today: date | None = None,
) -> list[Finding]:
    """Where a 12-digit ID number disagrees with itself or the record; each needs verification."""
    info = decode_cccd(id12, today=today)
    number = info.id_number
    findings: list[Finding] = []
    if info.province_name is None:
        findings.append(Finding(
            FindingCode.PROVINCE_UNKNOWN,
            f"ID number {number} starts with {info.province_code}, which is not a province code "
            "used in ID numbers; needs verification against the ID card",
            "id_number",
        ))  # fmt: skip
    if not info.birth_year_possible:
        findings.append(Finding(
            FindingCode.BIRTH_YEAR_IMPOSSIBLE,
            f"ID number {number} gives birth year {info.birth_year} (digits 4-6), which is not "
            "possible for a living person; needs verification against the ID card",
            "id_number",
        ))  # fmt: skip
    recorded_sex = parse_sex(sex)
    if recorded_sex is not None and recorded_sex != info.sex:
        findings.append(Finding(
            FindingCode.SEX_MISMATCH,
            f"ID number {number} is a {_sex_words(info.sex)} number (4th digit {number[3]}) "
            f"but the record says {_sex_words(recorded_sex)}; needs verification against the "
            "ID card",
            "sex",
        ))  # fmt: skip
    if dob is not None and dob.year != info.birth_year:
        findings.append(Finding(
            FindingCode.BIRTH_YEAR_MISMATCH,
            f"ID number {number} gives birth year {info.birth_year} (digits 4-6) but the date "
            f"of birth is {dob.iso()}; needs verification against the ID card",
            "date_of_birth",
        ))  # fmt: skip
    return findings

"""Partial dates (known to the year, month or day) and a tolerant parser for typed dates."""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from vaxlink.identity.errors import DateParseError

Precision = Literal["year", "month", "day"]

#: Excel serials accepted as dates: 1 is 1900-01-01, 80000 is 2119-01-11.
EXCEL_SERIAL_MIN = 1
EXCEL_SERIAL_MAX = 80000
#: A bare number is read as a serial only from here on; below it would collide with years.
_SERIAL_PARSE_MIN = 10000
_LOTUS_BUG_SERIAL = 60  # Excel's 29/02/1900, a day that never existed

_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_TIME = re.compile(r"[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_DMY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_DMY2 = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{2})")


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=True)
class PartialDate:
    """A date known to the year, the month or the day; a year-only date is never 1 January."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        _check_parts(self.year, self.month, self.day)

    @property
    def precision(self) -> Precision:
        """How much of the date is known."""
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"

    def iso(self) -> str:
        """ISO 8601 text at the known precision: YYYY, YYYY-MM or YYYY-MM-DD."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __str__(self) -> str:
        return self.iso()

    @classmethod
    def from_iso(cls, text: str) -> PartialDate:
        """Read YYYY, YYYY-MM or YYYY-MM-DD exactly (the registry's format)."""
        match = _ISO.fullmatch(text.strip())
        if match is None:
            raise DateParseError(f"'{text}' is not a date (expected YYYY-MM-DD, YYYY-MM or YYYY)")
        year, month, day = (int(g) if g else None for g in match.groups())
        assert year is not None
        return _checked(year, month, day, shown=text.strip(), what="date")

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        """A day-precision partial date from a calendar date."""
        return cls(value.year, value.month, value.day)

    def as_date(self) -> date | None:
        """The calendar date when the day is known, else None (never guessed)."""
        if self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def earliest(self) -> date:
        """First calendar day the partial date could be."""
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        """Last calendar day the partial date could be."""
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def is_compatible(self, other: PartialDate) -> bool:
        """True when both dates agree on every part that both of them know."""
        if self.year != other.year:
            return False
        if self.month is None or other.month is None:
            return True
        if self.month != other.month:
            return False
        return self.day is None or other.day is None or self.day == other.day

    def _key(self) -> tuple[int, int, int]:
        return (self.year, self.month or 0, self.day or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()


def _check_parts(year: object, month: object, day: object) -> None:
    """Raise DateParseError unless the parts make a real (partial) date."""
    for part in (year, month, day):
        if part is not None and (isinstance(part, bool) or not isinstance(part, int)):
            raise DateParseError(f"date part {part!r} is not a whole number")
    assert isinstance(year, int)
    if not 1 <= year <= 9999:
        raise DateParseError(f"year {year} is not a four-digit year")
    if month is None:
        if day is not None:
            raise DateParseError("a date with a day must also have a month")
        return
    assert isinstance(month, int)
    if not 1 <= month <= 12:
        raise DateParseError(f"month {month} does not exist (months are 1 to 12)")
    if day is not None:
        assert isinstance(day, int)
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            raise DateParseError(f"date {day:02d}/{month:02d}/{year:04d} does not exist")


def _checked(
    year: int,
    month: int | None,
    day: int | None,
    *,
    shown: str,
    what: str,
    expected: str = "YYYY-MM-DD",
) -> PartialDate:
    """Build a PartialDate, turning impossible parts into an actionable message about `shown`."""
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        raise DateParseError(_not_a_date(shown, what, expected))
    try:
        return PartialDate(year, month, day)
    except DateParseError:
        raise DateParseError(f"{what} {shown} does not exist") from None


def _not_a_date(shown: str, what: str, expected: str) -> str:
    prefix = "" if what == "date" else f"{what} "
    return f"{prefix}'{shown}' is not a date (expected {expected})"


def excel_serial_to_date(serial: int) -> date:
    """The day an Excel serial number stands for (1900 system, Lotus 1900-02-29 bug handled)."""
    if not EXCEL_SERIAL_MIN <= serial <= EXCEL_SERIAL_MAX:
        raise DateParseError(
            f"{serial} is outside the Excel date numbers accepted "
            f"({EXCEL_SERIAL_MIN}..{EXCEL_SERIAL_MAX}); enter the date as DD/MM/YYYY"
        )
    if serial == _LOTUS_BUG_SERIAL:
        raise DateParseError(
            "Excel date number 60 stands for 29/02/1900, a day that does not exist; "
            "enter the real date as DD/MM/YYYY"
        )
    # Excel counts the fictitious 1900-02-29, so serials after it are one day ahead.
    epoch = date(1899, 12, 31) if serial < _LOTUS_BUG_SERIAL else date(1899, 12, 30)
    return epoch + timedelta(days=serial)


def parse_date(
    raw: str | int | float | date | PartialDate,
    *,
    dayfirst: bool = True,
    what: str = "date",
    allow_time: bool = False,
    century_pivot: date | None = None,
) -> PartialDate:
    """Read a date as found in records and registry files; `what` names it in error messages.

    A two-digit year (DD/MM/YY) is refused unless `century_pivot` (a day, usually the run's) is
    given: then the date is in 20YY when that day is not after the pivot, else in 19YY
    (`two_digit_year` tells a text that was read so)."""
    if isinstance(raw, PartialDate):
        return raw
    if isinstance(raw, datetime):
        _check_time(raw.hour, raw.minute, raw.second, raw.microsecond, str(raw), what, allow_time)
        return PartialDate.from_date(raw.date())
    if isinstance(raw, date):
        return PartialDate.from_date(raw)
    if isinstance(raw, bool):
        raise DateParseError(_not_a_date(str(raw), what, _expected(dayfirst)))
    if isinstance(raw, int | float):
        return _from_number(raw, str(raw), what, allow_time, dayfirst)
    return _parse_text(raw, dayfirst=dayfirst, what=what, allow_time=allow_time,
                       century_pivot=century_pivot)  # fmt: skip


def two_digit_year(raw: object) -> bool:
    """Whether `raw` is a date text written with a two-digit year (DD/MM/YY)."""
    if not isinstance(raw, str):
        return False
    text = unicodedata.normalize("NFKC", raw).replace("\ufeff", "").strip()
    return _DMY2.fullmatch(text) is not None


def _expected(dayfirst: bool) -> str:
    return "DD/MM/YYYY" if dayfirst else "MM/DD/YYYY"


def _parse_text(
    raw: str, *, dayfirst: bool, what: str, allow_time: bool, century_pivot: date | None = None
) -> PartialDate:
    text = unicodedata.normalize("NFKC", raw).replace("\ufeff", "").strip()
    if not text:
        raise DateParseError(f"{what} is empty")
    time = _TIME.search(text)
    if time is not None:
        hour, minute, second, fraction = (int(g) if g else 0 for g in time.groups())
        _check_time(hour, minute, second, fraction, raw.strip(), what, allow_time)
        text = text[: time.start()].strip()
    number = _NUMBER.fullmatch(text)
    if number is not None:
        whole, fraction_text = number.groups()
        if fraction_text and int(fraction_text) != 0 and not allow_time:
            raise DateParseError(
                f"{what} '{raw.strip()}' is a number with a time of day; enter the date only"
            )
        return _from_digits(whole, raw.strip(), what, dayfirst)
    return _from_separated(text, raw.strip(), what=what, dayfirst=dayfirst,
                           century_pivot=century_pivot)  # fmt: skip


def _check_time(
    hour: int, minute: int, second: int, fraction: int, shown: str, what: str, allow_time: bool
) -> None:
    if allow_time or hour == minute == second == fraction == 0:
        return
    raise DateParseError(
        f"{what} '{shown}' has a time of day ({hour:02d}:{minute:02d}); enter the date only"
    )


def _from_number(
    value: int | float, shown: str, what: str, allow_time: bool, dayfirst: bool
) -> PartialDate:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise DateParseError(_not_a_date(shown, what, _expected(dayfirst)))
        if not value.is_integer() and not allow_time:
            raise DateParseError(
                f"{what} '{shown}' is a number with a time of day; enter the date only"
            )
        value = int(value)
    if value < 0:
        raise DateParseError(_not_a_date(shown, what, _expected(dayfirst)))
    return _from_digits(str(value), shown, what, dayfirst)


def _from_digits(digits: str, shown: str, what: str, dayfirst: bool) -> PartialDate:
    """A bare number: a year (4 digits), an Excel serial (5 digits) or a compact 8-digit date."""
    if len(digits) == 4:
        return _checked(int(digits), None, None, shown=shown, what=what)
    if len(digits) == 8:
        return _compact(digits, shown, what, dayfirst)
    value = int(digits)
    if len(digits) == 5 and _SERIAL_PARSE_MIN <= value <= EXCEL_SERIAL_MAX:
        return PartialDate.from_date(excel_serial_to_date(value))
    raise DateParseError(_not_a_date(shown, what, _expected(dayfirst)))


def _compact(digits: str, shown: str, what: str, dayfirst: bool) -> PartialDate:
    """DDMMYYYY (as on the chip QR) or YYYYMMDD; years 1800-2299 make the two never ambiguous."""
    first, second = int(digits[:2]), int(digits[2:4])
    day, month = (first, second) if dayfirst else (second, first)
    tail_year = int(digits[4:])
    if 1800 <= tail_year <= 2299 and 1 <= month <= 12 and 1 <= day <= 31:
        return _checked(tail_year, month, day, shown=shown, what=what)
    head_year = int(digits[:4])
    if 1800 <= head_year <= 2299:
        return _checked(head_year, int(digits[4:6]), int(digits[6:]), shown=shown, what=what)
    raise DateParseError(_not_a_date(shown, what, _expected(dayfirst)))


def _from_separated(
    text: str, shown: str, *, what: str, dayfirst: bool, century_pivot: date | None = None
) -> PartialDate:
    expected = _expected(dayfirst)
    if match := _YMD.fullmatch(text):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
        return _checked(year, month, day, shown=shown, what=what)
    if match := _YM.fullmatch(text):
        return _checked(int(match[1]), int(match[2]), None, shown=shown, what=what)
    if match := _DMY.fullmatch(text):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        day, month = (first, second) if dayfirst else (second, first)
        if not 1 <= month <= 12 and 1 <= day <= 12 and 1 <= month <= 31:
            raise DateParseError(
                _not_a_date(shown, what, expected) + "; day and month look swapped"
            )
        return _checked(year, month, day, shown=shown, what=what, expected=expected)
    if match := _MY.fullmatch(text):
        month, year = int(match[1]), int(match[2])
        return _checked(year, month, None, shown=shown, what=what, expected="MM/YYYY")
    if (match := _DMY2.fullmatch(text)) and century_pivot is not None:
        first, second, yy = int(match[1]), int(match[3]), int(match[4])
        day, month = (first, second) if dayfirst else (second, first)
        later = (2000 + yy, month, day) > (century_pivot.year, century_pivot.month,
                                           century_pivot.day)  # fmt: skip
        year = 1900 + yy if later else 2000 + yy
        return _checked(year, month, day, shown=shown, what=what, expected=expected)
    if match:
        raise DateParseError(
            f"{what} '{shown}' has a two-digit year; write all four digits of the year"
        )
    raise DateParseError(_not_a_date(shown, what, expected))


def swap_day_month(value: PartialDate) -> PartialDate | None:
    """The date with day and month exchanged (a common typing slip), or None if that is no date."""
    if value.month is None or value.day is None or value.day > 12:
        return None
    try:
        return PartialDate(value.year, value.day, value.month)
    except DateParseError:
        return None


def is_plausible_birth_date(value: PartialDate, today: date, *, max_age: int = 120) -> bool:
    """True when the date could be the birth date of a person alive on `today`."""
    oldest = date(today.year - max_age, 1, 1)
    return value.earliest() <= today and value.latest() >= oldest

"""Partial dates and the tolerant date parser."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.errors import InvalidInput
from vaxlink.identity import (
    DateParseError,
    PartialDate,
    excel_serial_to_date,
    is_plausible_birth_date,
    parse_date,
    swap_day_month,
    two_digit_year,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14/03/1985", "1985-03-14"),
        ("4/3/1985", "1985-03-04"),
        ("14-03-1985", "1985-03-14"),
        ("14.03.1985", "1985-03-14"),
        ("1985-03-14", "1985-03-14"),
        ("1985/03/14", "1985-03-14"),
        ("1985-03", "1985-03"),
        ("03/1985", "1985-03"),
        ("1985", "1985"),
        (" 1985 ", "1985"),
        ("1985.0", "1985"),
        ("32874", "1990-01-01"),
        ("32874.0", "1990-01-01"),
        ("25569", "1970-01-01"),
        ("1990-03-14 00:00:00", "1990-03-14"),
        ("1990-03-14T00:00:00", "1990-03-14"),
        ("14/03/1990 00:00", "1990-03-14"),
        ("1990-03-14 00:00:00.000", "1990-03-14"),
        ("1990-03-14T00:00:00+07:00", "1990-03-14"),
        ("1990-03-14T00:00:00Z", "1990-03-14"),
        ("19900314", "1990-03-14"),
        ("14031990", "1990-03-14"),
        ("１４/０３/１９８５", "1985-03-14"),
        ("\ufeff29/02/2000", "2000-02-29"),
    ],
)
def test_parse_date_accepts_station_formats(raw: str, expected: str) -> None:
    assert parse_date(raw).iso() == expected


def test_year_only_is_partial_never_first_of_january() -> None:
    parsed = parse_date("1985")
    assert parsed == PartialDate(1985)
    assert parsed.precision == "year"
    assert parsed.as_date() is None
    assert parsed != PartialDate(1985, 1, 1)


def test_month_first_when_asked() -> None:
    assert parse_date("03/14/1985", dayfirst=False) == PartialDate(1985, 3, 14)
    assert parse_date("1985-03-14", dayfirst=False) == PartialDate(1985, 3, 14)


def test_python_values_from_spreadsheet_readers() -> None:
    assert parse_date(date(1985, 3, 14)) == PartialDate(1985, 3, 14)
    assert parse_date(datetime(1985, 3, 14)) == PartialDate(1985, 3, 14)
    assert parse_date(32874.0) == PartialDate(1990, 1, 1)
    assert parse_date(1985) == PartialDate(1985)
    assert parse_date(PartialDate(1985, 3)) == PartialDate(1985, 3)


def test_time_of_day_is_refused_unless_allowed() -> None:
    with pytest.raises(DateParseError, match=r"time of day \(09:30\)"):
        parse_date("2021-08-01 09:30:00", what="vaccination date")
    assert parse_date("2021-08-01 09:30:00", allow_time=True) == PartialDate(2021, 8, 1)
    with pytest.raises(DateParseError, match="time of day"):
        parse_date(datetime(2021, 8, 1, 9, 30))
    with pytest.raises(DateParseError, match="time of day"):
        parse_date("44409.5")
    assert parse_date("44409.5", allow_time=True) == PartialDate(2021, 8, 1)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31/02/1990", "date of birth 31/02/1990 does not exist"),
        ("29/02/1900", "date of birth 29/02/1900 does not exist"),
        ("1990-02-30", "date of birth 1990-02-30 does not exist"),
        ("13/13/2000", "date of birth '13/13/2000' is not a date (expected DD/MM/YYYY)"),
        ("32/01/2000", "date of birth '32/01/2000' is not a date (expected DD/MM/YYYY)"),
        ("00/01/2000", "date of birth '00/01/2000' is not a date (expected DD/MM/YYYY)"),
        ("1990-13", "date of birth '1990-13' is not a date (expected YYYY-MM-DD)"),
        ("abc", "date of birth 'abc' is not a date (expected DD/MM/YYYY)"),
        ("14/03/85", "date of birth '14/03/85' has a two-digit year"),
        ("   ", "date of birth is empty"),
        ("123", "date of birth '123' is not a date"),
        ("99999", "date of birth '99999' is not a date"),
        ("14/03-1985", "date of birth '14/03-1985' is not a date"),
    ],
)
def test_bad_dates_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_date(raw, what="date of birth")
    assert str(caught.value).startswith(message)


def test_default_message_has_no_label_prefix() -> None:
    with pytest.raises(
        DateParseError, match=r"^'13/13/2000' is not a date \(expected DD/MM/YYYY\)$"
    ):
        parse_date("13/13/2000")
    with pytest.raises(DateParseError, match=r"^date 31/02/1990 does not exist$"):
        parse_date("31/02/1990")


def test_swapped_day_and_month_get_a_hint() -> None:
    with pytest.raises(DateParseError, match="day and month look swapped"):
        parse_date("03/25/1990")


def test_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_date("not a date")
    assert DateParseError.code == "invalid_date"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (25569, date(1970, 1, 1)),
        (36526, date(2000, 1, 1)),
        (44197, date(2021, 1, 1)),
        (43466, date(2019, 1, 1)),
        (80000, date(2119, 1, 11)),
    ],
)
def test_excel_serials_known_answers(serial: int, expected: date) -> None:
    assert excel_serial_to_date(serial) == expected


def test_excel_serial_60_is_the_lotus_phantom_day() -> None:
    with pytest.raises(DateParseError, match="29/02/1900"):
        excel_serial_to_date(60)


@pytest.mark.parametrize("serial", [0, -1, 80001])
def test_excel_serial_outside_plausible_range(serial: int) -> None:
    with pytest.raises(DateParseError, match="outside"):
        excel_serial_to_date(serial)


@given(st.integers(61, 80000))
def test_excel_serials_after_the_bug_are_consecutive_days(serial: int) -> None:
    assert excel_serial_to_date(serial) - excel_serial_to_date(61) == timedelta(serial - 61)


def test_partial_date_precision_and_iso() -> None:
    assert PartialDate(1985).iso() == "1985"
    assert PartialDate(1985, 3).iso() == "1985-03"
    assert PartialDate(1985, 3, 4).iso() == "1985-03-04"
    assert str(PartialDate(985)) == "0985"
    assert [PartialDate(1985).precision, PartialDate(1985, 3).precision] == ["year", "month"]
    assert PartialDate(1985, 3, 4).precision == "day"


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [(1985, None, 4), (1985, 13, None), (1985, 0, None), (1985, 2, 29), (0, None, None)],
)
def test_partial_date_rejects_impossible_parts(
    year: int, month: int | None, day: int | None
) -> None:
    with pytest.raises(DateParseError):
        PartialDate(year, month, day)


def test_partial_date_ordering() -> None:
    ordered = [
        PartialDate(1984, 12, 31),
        PartialDate(1985),
        PartialDate(1985, 1),
        PartialDate(1985, 1, 1),
        PartialDate(1985, 2),
    ]
    assert sorted(reversed(ordered)) == ordered
    assert PartialDate(1985) < PartialDate(1985, 1, 1)
    assert PartialDate(1986) > PartialDate(1985, 12, 31)


def test_from_iso_is_strict() -> None:
    assert PartialDate.from_iso("1985-03") == PartialDate(1985, 3)
    for bad in ("85-03-14", "1985-3-14", "14/03/1985", "1985-03-14-01", ""):
        with pytest.raises(DateParseError):
            PartialDate.from_iso(bad)


def test_earliest_latest_and_compatibility() -> None:
    assert PartialDate(2000, 2).latest() == date(2000, 2, 29)
    assert PartialDate(1985).earliest() == date(1985, 1, 1)
    assert PartialDate(1985).latest() == date(1985, 12, 31)
    assert PartialDate(1985).is_compatible(PartialDate(1985, 3, 4))
    assert PartialDate(1985, 3).is_compatible(PartialDate(1985, 3, 4))
    assert not PartialDate(1985, 4).is_compatible(PartialDate(1985, 3, 4))
    assert not PartialDate(1985, 3, 5).is_compatible(PartialDate(1985, 3, 4))
    assert not PartialDate(1986).is_compatible(PartialDate(1985))


def test_swap_day_month() -> None:
    assert swap_day_month(PartialDate(1990, 3, 12)) == PartialDate(1990, 12, 3)
    assert swap_day_month(PartialDate(1990, 3, 25)) is None
    assert swap_day_month(PartialDate(1990, 3)) is None
    assert swap_day_month(PartialDate(1990, 2, 2)) == PartialDate(1990, 2, 2)


def test_plausible_birth_dates() -> None:
    today = date(2024, 6, 1)
    assert is_plausible_birth_date(PartialDate(1985, 3, 14), today)
    assert is_plausible_birth_date(PartialDate(2024), today)
    assert not is_plausible_birth_date(PartialDate(2024, 6, 2), today)
    assert not is_plausible_birth_date(PartialDate(2025), today)
    assert not is_plausible_birth_date(PartialDate(1890), today)
    assert is_plausible_birth_date(PartialDate(1904), today)
    assert not is_plausible_birth_date(PartialDate(1950), today, max_age=50)


partial_dates = st.dates(min_value=date(1000, 1, 1)).flatmap(
    lambda d: st.sampled_from(
        [PartialDate(d.year), PartialDate(d.year, d.month), PartialDate.from_date(d)]
    )
)


@given(partial_dates)
def test_iso_round_trip(value: PartialDate) -> None:
    assert PartialDate.from_iso(value.iso()) == value
    assert parse_date(value.iso()) == value


@given(st.dates(min_value=date(1000, 1, 1)), st.sampled_from(["/", "-", "."]))
def test_day_first_text_round_trip(value: date, sep: str) -> None:
    text = f"{value.day:02d}{sep}{value.month:02d}{sep}{value.year}"
    assert parse_date(text) == PartialDate.from_date(value)
    american = f"{value.month}{sep}{value.day}{sep}{value.year}"
    assert parse_date(american, dayfirst=False) == PartialDate.from_date(value)


@given(partial_dates, partial_dates)
def test_ordering_follows_earliest_day_then_precision(a: PartialDate, b: PartialDate) -> None:
    if a.earliest() != b.earliest():
        assert (a < b) == (a.earliest() < b.earliest())
    assert (a < b) + (b < a) + (a == b) == 1


@given(st.dates(min_value=date(1927, 5, 18), max_value=date(2119, 1, 11)))
def test_excel_serial_text_round_trip(value: date) -> None:
    serial = (value - date(1899, 12, 30)).days
    assert parse_date(str(serial)) == PartialDate.from_date(value)
    assert parse_date(f"{serial}.0") == PartialDate.from_date(value)


@pytest.mark.parametrize(
    ("raw", "pivot", "iso"),
    [
        ("14/03/85", date(2026, 1, 1), "1985-03-14"),
        ("14/03/21", date(2026, 1, 1), "2021-03-14"),
        ("14/03/25", date(2025, 3, 14), "2025-03-14"),  # not after the pivot: this century
        ("15/03/25", date(2025, 3, 14), "1925-03-15"),  # after it: the last
        ("14/03/27", date(2026, 1, 1), "1927-03-14"),
        ("1.2.00", date(2022, 6, 1), "2000-02-01"),
        ("05-11-99", date(2022, 6, 1), "1999-11-05"),
    ],
)
def test_two_digit_years_with_a_pivot(raw: str, pivot: date, iso: str) -> None:
    assert two_digit_year(raw)
    assert parse_date(raw, century_pivot=pivot).iso() == iso


def test_two_digit_years_keep_their_checks() -> None:
    with pytest.raises(DateParseError, match="two-digit year"):
        parse_date("14/03/85")  # no pivot: refused as before
    with pytest.raises(DateParseError, match="does not exist"):
        parse_date("31/02/85", century_pivot=date(2026, 1, 1))
    with pytest.raises(DateParseError, match="not a date"):
        parse_date("14/13/85", century_pivot=date(2026, 1, 1))
    with pytest.raises(DateParseError, match="not a date"):
        parse_date("14/03-85", century_pivot=date(2026, 1, 1))  # mixed separators
    assert not two_digit_year("14/03/1985")
    assert not two_digit_year(31)

"""Shapes of unit codes and references: padding, refusal of junk, no guessing of levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.errors import InvalidInput
from vaxlink.geo.codes import (
    NATION,
    Level,
    ListVersion,
    UnitKey,
    format_code,
    level_of,
    list_version,
    unit_key,
)
from vaxlink.geo.errors import GeoError


@pytest.mark.parametrize("raw", ["1", "01", "001", " 001 ", "0001", 1])
def test_province_spellings_mean_province_001(raw: str | int) -> None:
    assert format_code(Level.PROVINCE, raw) == "001"


@pytest.mark.parametrize(
    ("level", "raw", "expected"),
    [
        (Level.PROVINCE, "79", "079"),
        (Level.DISTRICT, "1", "001"),
        (Level.DISTRICT, 760, "760"),
        (Level.WARD, "1", "00001"),
        (Level.WARD, "26740", "26740"),
        (Level.WARD, 26740, "26740"),
        (Level.NATION, "vn", "VN"),
    ],
)
def test_format_code(level: Level, raw: str | int, expected: str) -> None:
    assert format_code(level, raw) == expected


@pytest.mark.parametrize(
    ("level", "raw"),
    [
        (Level.PROVINCE, ""),
        (Level.PROVINCE, "  "),
        (Level.PROVINCE, "1234"),
        (Level.PROVINCE, "01a"),
        (Level.PROVINCE, "-1"),
        (Level.PROVINCE, -1),
        (Level.PROVINCE, "1.0"),
        (Level.PROVINCE, "٠١"),  # Arabic-Indic digits are digits to Python, not to GSO
        (Level.PROVINCE, True),
        (Level.WARD, "123456"),
        (Level.NATION, "VNM"),
    ],
)
def test_format_code_refuses(level: Level, raw: str | int) -> None:
    with pytest.raises(GeoError):
        format_code(level, raw)


def test_geo_error_is_invalid_input_with_an_actionable_message() -> None:
    with pytest.raises(InvalidInput, match=r"province code '1234' is too long: at most 3 digits"):
        format_code(Level.PROVINCE, "1234")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("province:1", UnitKey(Level.PROVINCE, "001")),
        ("PROVINCE:079", UnitKey(Level.PROVINCE, "079")),
        ("district:001", UnitKey(Level.DISTRICT, "001")),
        ("ward:1", UnitKey(Level.WARD, "00001")),
        ("00001", UnitKey(Level.WARD, "00001")),
        (" 26740 ", UnitKey(Level.WARD, "26740")),
        ("VN", NATION),
        ("nation", NATION),
        ("nation:vn", NATION),
        (UnitKey(Level.PROVINCE, "1"), UnitKey(Level.PROVINCE, "001")),
    ],
)
def test_unit_key(ref: str | UnitKey, expected: UnitKey) -> None:
    assert unit_key(ref) == expected


@pytest.mark.parametrize("ref", ["001", "79", "1", "", "county:001", "province:", "ward:x"])
def test_unit_key_never_guesses_a_level(ref: str) -> None:
    with pytest.raises(GeoError):
        unit_key(ref)


def test_bare_three_digit_code_is_called_ambiguous() -> None:
    with pytest.raises(GeoError, match="ambiguous"):
        unit_key("001")


def test_unit_key_prints_as_it_parses() -> None:
    key = UnitKey(Level.DISTRICT, "760")
    assert str(key) == "district:760"
    assert unit_key(str(key)) == key


def test_versions_and_levels() -> None:
    assert list_version(" 2025 ") is ListVersion.V2025
    assert list_version("2008-2025") is ListVersion.LEGACY
    assert level_of("Ward") is Level.WARD
    with pytest.raises(GeoError, match="known: 2008-2025, 2025"):
        list_version("2021")
    with pytest.raises(GeoError):
        level_of("commune")
    assert [lv.depth for lv in Level] == [0, 1, 2, 3]


@given(st.sampled_from([Level.PROVINCE, Level.DISTRICT, Level.WARD]), st.integers(0, 99_999))
def test_format_code_is_padding_of_the_number(level: Level, n: int) -> None:
    width = 3 if level is not Level.WARD else 5
    spellings: list[str | int] = [str(n), str(n).zfill(width), f" {n} ", n]
    if n < 10**width:
        assert {format_code(level, s) for s in spellings} == {str(n).zfill(width)}
    else:
        for s in spellings:
            with pytest.raises(GeoError):
                format_code(level, s)


@given(st.text(max_size=8))
def test_format_code_either_returns_digits_or_raises_geo_error(raw: str) -> None:
    try:
        code = format_code(Level.WARD, raw)
    except GeoError:
        return
    assert len(code) == 5
    assert code.isascii()
    assert code.isdigit()
    assert int(code) == int(raw)

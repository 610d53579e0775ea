"""12-digit CCCD and 9-digit CMND numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.errors import InvalidInput
from vaxlink.identity import (
    BIRTH_PROVINCES,
    FindingCode,
    IdKind,
    IdNumberError,
    PartialDate,
    SexParseError,
    classify_id,
    compose_cccd,
    consistency_findings,
    decode_cccd,
    id_problem,
    normalise_id,
    pad_lost_zeros,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("001085012345", "001085012345"),
        (" 001 085 012 345 ", "001085012345"),
        ("001.085.012.345", "001085012345"),
        ("001-085-012-345", "001085012345"),
        ("001\u00a0085\u00a0012\u00a0345", "001085012345"),
        ("０３７０８５０１２３４５", "037085012345"),
        ("'001085012345", "001085012345"),
        ("1,085,012,345", "1085012345"),
        ("1085012345.0", "1085012345"),
        ("\ufeff001085012345\u200b", "001085012345"),
        ("", ""),
        ("  -  ", ""),
        ("CCCD:  0010850 12345", "CCCD: 0010850 12345"),
        ("1.08501E+11", "1.08501E+11"),
        ("B1234567", "B1234567"),
    ],
)
def test_normalise_id(raw: str, expected: str) -> None:
    assert normalise_id(raw) == expected


def test_dotted_groups_ending_in_zeros_are_not_an_excel_float() -> None:
    assert normalise_id("001.085.012.000") == "001085012000"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("001085012345", IdKind.CCCD12),
        ("003085012345", IdKind.CCCD12),  # unknown province: still shaped like a CCCD
        ("012345678", IdKind.CMND9),
        ("1085012345", IdKind.CCCD12_LOST_ZEROS),  # 001..., two zeros lost
        ("37085012345", IdKind.CCCD12_LOST_ZEROS),  # 037... Ninh Bình, one zero lost
        ("79085012345", IdKind.CCCD12_LOST_ZEROS),  # 079... Hồ Chí Minh
        ("3085012345", IdKind.INVALID),  # 003 is no province
        ("99085012345", IdKind.INVALID),  # 099 is no province
        ("01085012345", IdKind.INVALID),  # 11 digits with a leading zero: a digit lost, not zeros
        ("12345678", IdKind.CMND9_LOST_ZEROS),
        ("02345678", IdKind.INVALID),
        ("0010850123456", IdKind.TOO_LONG),
        ("1234567", IdKind.INVALID),
        ("00108501234A", IdKind.INVALID),
        ("1.08501E+11", IdKind.INVALID),
        ("", IdKind.EMPTY),
        ("   ", IdKind.EMPTY),
    ],
)
def test_classify_id(raw: str, kind: IdKind) -> None:
    assert classify_id(raw) == kind


def test_pad_lost_zeros() -> None:
    assert pad_lost_zeros("1085012345") == "001085012345"
    assert pad_lost_zeros("37085012345") == "037085012345"
    assert pad_lost_zeros("12345678") == "012345678"
    assert pad_lost_zeros("001085012345") is None
    assert pad_lost_zeros("012345678") is None
    assert pad_lost_zeros("3085012345") is None
    assert pad_lost_zeros("abc") is None


def test_decode_known_answer() -> None:
    info = decode_cccd("001 085 012 345")
    assert info.id_number == "001085012345"
    assert info.province_code == "001"
    assert info.province_name == "Hà Nội"
    assert info.sex == "M"
    assert info.century == 1900
    assert info.birth_year_2 == 85
    assert info.birth_year == 1985
    assert info.birth_year_possible
    assert info.serial == "012345"


@pytest.mark.parametrize(
    ("digit", "sex", "century"),
    [
        ("0", "M", 1900), ("1", "F", 1900), ("2", "M", 2000), ("3", "F", 2000),
        ("4", "M", 2100), ("5", "F", 2100), ("6", "M", 2200), ("7", "F", 2200),
        ("8", "M", 1800), ("9", "F", 1800),
    ],
)  # fmt: skip
def test_sex_and_century_digit(digit: str, sex: str, century: int) -> None:
    info = decode_cccd(f"079{digit}05123456")
    assert (info.sex, info.century, info.birth_year) == (sex, century, century + 5)
    assert info.birth_year_possible == (century in (1900, 2000))


def test_birth_year_possible_against_today() -> None:
    assert not decode_cccd("079230123456", today=date(2024, 1, 1)).birth_year_possible
    assert decode_cccd("079224123456", today=date(2024, 1, 1)).birth_year_possible
    assert not decode_cccd("079001123456", today=date(2024, 1, 1)).birth_year_possible


def test_unknown_province_decodes_without_a_name() -> None:
    assert decode_cccd("003085012345").province_name is None


@pytest.mark.parametrize("raw", ["01085012345", "0010850123456", "abc", ""])
def test_decode_refuses_anything_but_twelve_digits(raw: str) -> None:
    with pytest.raises(IdNumberError, match="not a 12-digit ID number"):
        decode_cccd(raw)


def test_compose_known_answers() -> None:
    assert compose_cccd("001", "M", 1985, 12345) == "001085012345"
    assert compose_cccd("079", "F", 2003, "000001") == "079303000001"
    assert compose_cccd("096", "M", 1899, 999999) == "096899999999"


@pytest.mark.parametrize(
    ("province", "sex", "year", "serial", "message"),
    [
        ("003", "M", 1985, 1, "province code '003'"),
        ("1", "M", 1985, 1, "province code '1'"),
        ("001", "X", 1985, 1, "sex must be"),
        ("001", "M", 1799, 1, "birth year 1799"),
        ("001", "M", 2300, 1, "birth year 2300"),
        ("001", "M", 1985, 1_000_000, "six digits"),
        ("001", "M", 1985, "12345", "six digits"),
        ("001", "M", 1985, -1, "six digits"),
    ],
)
def test_compose_refuses_bad_parts(
    province: str, sex: str, year: int, serial: int | str, message: str
) -> None:
    with pytest.raises(IdNumberError, match=message):
        compose_cccd(province, sex, year, serial)  # type: ignore[arg-type]


@given(
    st.sampled_from(sorted(BIRTH_PROVINCES)),
    st.sampled_from(["M", "F"]),
    st.integers(1800, 2299),
    st.integers(0, 999_999),
)
def test_compose_decode_round_trip(province: str, sex: str, year: int, serial: int) -> None:
    number = compose_cccd(province, sex, year, serial)  # type: ignore[arg-type]
    assert len(number) == 12
    assert classify_id(number) == IdKind.CCCD12
    info = decode_cccd(number)
    assert (info.province_code, info.sex, info.birth_year) == (province, sex, year)
    assert int(info.serial) == serial
    assert info.province_name == BIRTH_PROVINCES[province]


@given(
    st.sampled_from(sorted(BIRTH_PROVINCES)),
    st.sampled_from(["M", "F"]),
    st.integers(1900, 2099),
    st.integers(0, 999_999),
)
def test_excel_lost_zeros_are_recovered(province: str, sex: str, year: int, serial: int) -> None:
    number = compose_cccd(province, sex, year, serial)  # type: ignore[arg-type]
    as_excel_number = str(int(number))
    assert classify_id(as_excel_number) == IdKind.CCCD12_LOST_ZEROS
    assert pad_lost_zeros(as_excel_number) == number
    assert pad_lost_zeros(f"{int(number)}.0") == number
    assert consistency_findings(number, PartialDate(year), sex) == []


@given(st.text(alphabet="0123456789 .-", max_size=20))
def test_classify_is_total_and_agrees_with_normalise(raw: str) -> None:
    kind = classify_id(raw)
    digits = normalise_id(raw)
    assert (kind == IdKind.EMPTY) == (digits == "")
    if kind == IdKind.CCCD12:
        assert len(digits) == 12
    if kind == IdKind.CMND9:
        assert len(digits) == 9
    assert (id_problem(raw) is None) == (kind in (IdKind.CCCD12, IdKind.CMND9))


@given(st.text(max_size=30))
def test_normalise_id_is_idempotent(raw: str) -> None:
    once = normalise_id(raw)
    assert normalise_id(once) == once


def test_consistent_record_has_no_findings() -> None:
    assert consistency_findings("001085012345", PartialDate(1985, 3, 14), "M") == []
    assert consistency_findings("001185012345", PartialDate(1985), "Nữ") == []
    assert consistency_findings("001085012345") == []


def test_findings_for_mismatches() -> None:
    findings = consistency_findings("001085012345", PartialDate(1986, 3, 14), "F")
    assert [f.code for f in findings] == [FindingCode.SEX_MISMATCH, FindingCode.BIRTH_YEAR_MISMATCH]
    sex, year = findings
    assert sex.field == "sex"
    assert "male number (4th digit 0) but the record says female" in sex.message
    assert year.field == "date_of_birth"
    assert "birth year 1985" in year.message
    assert "1986-03-14" in year.message


def test_century_digit_typo_is_a_birth_year_mismatch() -> None:
    findings = consistency_findings("001005012345", PartialDate(2005, 1, 1), "M")
    assert [f.code for f in findings] == [FindingCode.BIRTH_YEAR_MISMATCH]


def test_findings_for_the_number_itself() -> None:
    codes = [f.code for f in consistency_findings("003885012345")]
    assert codes == [FindingCode.PROVINCE_UNKNOWN, FindingCode.BIRTH_YEAR_IMPOSSIBLE]
    future = consistency_findings("001230012345", today=date(2024, 1, 1))
    assert [f.code for f in future] == [FindingCode.BIRTH_YEAR_IMPOSSIBLE]


def test_findings_ask_for_verification_never_accuse() -> None:
    findings = consistency_findings("003885012345", PartialDate(1990), "F")
    assert len(findings) == 4
    for finding in findings:
        assert "needs verification" in finding.message
        for word in ("forged", "fake", "fraud", "false"):
            assert word not in finding.message.lower()


def test_findings_refuse_a_bad_sex_value() -> None:
    with pytest.raises(SexParseError, match="'X' is not recognised"):
        consistency_findings("001085012345", None, "X")


def test_id_problem_messages() -> None:
    assert id_problem("001085012345") is None
    assert id_problem(" ") == "the ID number is empty"
    lost = id_problem("1085012345")
    assert lost is not None
    assert "001085012345" in lost
    assert "leading zeros" in lost
    rounded = id_problem("1.08501E+11")
    assert rounded is not None
    assert "rounded by Excel" in rounded
    too_long = id_problem("0010850123456")
    assert too_long is not None
    assert "13 digits" in too_long


def test_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        decode_cccd("nope")

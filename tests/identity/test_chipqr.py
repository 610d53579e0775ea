"""The chip-card CCCD QR payload."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.identity.strategies import clean_names

from vaxlink.errors import InvalidInput
from vaxlink.identity import (
    BIRTH_PROVINCES,
    ChipQr,
    ChipQrError,
    PartialDate,
    compose_cccd,
    format_chip_qr,
    parse_chip_qr,
)

SAMPLE = (
    "001085012345|012345678|Nguyễn Văn An|14031985|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|01052021"
)
EXPECTED = ChipQr(
    id_number="001085012345",
    old_id="012345678",
    full_name="Nguyễn Văn An",
    date_of_birth=PartialDate(1985, 3, 14),
    sex="M",
    address="Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    issue_date=date(2021, 5, 1),
)


def test_parse_known_payload() -> None:
    assert parse_chip_qr(SAMPLE) == EXPECTED


@pytest.mark.parametrize(
    "variant",
    [
        "\ufeff" + SAMPLE,
        f"  {SAMPLE}\r\n",
        SAMPLE + "|",
        unicodedata.normalize("NFD", SAMPLE),
        SAMPLE.replace("|Nam|", "|NAM|"),
        SAMPLE.replace("|Nam|", "| nam |"),
        SAMPLE.replace("|Nguyễn Văn An|", "| Nguyễn  Văn An |"),
    ],
)
def test_tolerated_variants(variant: str) -> None:
    assert parse_chip_qr(variant) == EXPECTED


@pytest.mark.parametrize("word", ["Nữ", "NỮ", "nữ", "Nu", "NU", unicodedata.normalize("NFD", "Nữ")])
def test_female_spellings(word: str) -> None:
    assert parse_chip_qr(SAMPLE.replace("|Nam|", f"|{word}|")).sex == "F"


def test_empty_old_number_and_extra_fields() -> None:
    text = SAMPLE.replace("|012345678|", "||") + "|extra1|extra2|"
    parsed = parse_chip_qr(text)
    assert parsed.old_id == ""
    assert parsed.extra == ("extra1", "extra2")
    assert parsed.id_number == EXPECTED.id_number


def test_partial_birth_dates() -> None:
    assert parse_chip_qr(SAMPLE.replace("14031985", "00001945")).date_of_birth == PartialDate(1945)
    assert parse_chip_qr(SAMPLE.replace("14031985", "1945")).date_of_birth == PartialDate(1945)
    assert parse_chip_qr(SAMPLE.replace("14031985", "00031945")).date_of_birth == PartialDate(
        1945, 3
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("001085012345|012345678|Nguyễn Văn An|14031985|Nam", "has 5 field(s)"),
        ("", "has 1 field(s)"),
        (SAMPLE.replace("001085012345", "00108501234"), "field 1 (ID number) '00108501234'"),
        (SAMPLE.replace("012345678", "12345"), "field 2 (old ID number) '12345'"),
        (SAMPLE.replace("Nguyễn Văn An", " "), "field 3 (full name) '' is empty"),
        (
            SAMPLE.replace("14031985", "31021985"),
            "field 4 (date of birth) '31021985' is not a date",
        ),
        (SAMPLE.replace("14031985", "1403198"), "field 4 (date of birth) '1403198'"),
        (SAMPLE.replace("|Nam|", "|M|"), "field 5 (sex) 'M' is not Nam or Nữ"),
        (SAMPLE.replace("01052021", "00052021"), "field 7 (issue date) '00052021'"),
        (SAMPLE.replace("01052021", ""), "field 7 (issue date) ''"),
    ],
)
def test_errors_name_the_bad_field(text: str, message: str) -> None:
    with pytest.raises(ChipQrError) as caught:
        parse_chip_qr(text)
    assert message in str(caught.value)


def test_error_carries_field_and_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_chip_qr(SAMPLE.replace("|Nam|", "|?|"))
    assert isinstance(caught.value, ChipQrError)
    assert caught.value.field == "sex"


def test_format_known_payload() -> None:
    text = format_chip_qr(
        id_number="001085012345",
        old_id="012345678",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1985, 3, 14),
        sex="M",
        address="Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
        issue_date=date(2021, 5, 1),
    )
    assert text == SAMPLE


def test_format_refuses_values_that_cannot_read_back() -> None:
    with pytest.raises(ChipQrError, match=r"cannot contain '\|' or line breaks"):
        format_chip_qr(
            id_number="001085012345",
            full_name="A|B",
            date_of_birth=date(1985, 3, 14),
            sex="M",
            address="",
            issue_date=date(2021, 5, 1),
        )
    with pytest.raises(ChipQrError, match="field 1"):
        format_chip_qr(
            id_number="123",
            full_name="Lê An",
            date_of_birth=date(1985, 3, 14),
            sex="F",
            address="",
            issue_date=date(2021, 5, 1),
        )


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)).flatmap(
    lambda d: st.sampled_from([PartialDate.from_date(d), PartialDate(d.year)])
)
addresses = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="|\r\n\x0b\x0c\x1c\x1d\x1e\x85"),
    max_size=40,
).map(lambda s: " ".join(unicodedata.normalize("NFC", s).split()))


@given(
    province=st.sampled_from(sorted(BIRTH_PROVINCES)),
    serial=st.integers(0, 999_999),
    name=clean_names(),
    dob=birth_dates,
    sex=st.sampled_from(["M", "F"]),
    address=addresses,
    issued=st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 12, 31)),
    old_id=st.sampled_from(["", "012345678", "987654321"]),
)
def test_format_parse_round_trip(
    province: str,
    serial: int,
    name: str,
    dob: PartialDate,
    sex: str,
    address: str,
    issued: date,
    old_id: str,
) -> None:
    id_number = compose_cccd(province, sex, dob.year, serial)  # type: ignore[arg-type]
    card = ChipQr(id_number, old_id, name, dob, sex, address, issued)  # type: ignore[arg-type]
    text = format_chip_qr(
        id_number=id_number,
        old_id=old_id,
        full_name=name,
        date_of_birth=dob,
        sex=sex,  # type: ignore[arg-type]
        address=address,
        issue_date=issued,
    )
    assert parse_chip_qr(text) == card
    assert parse_chip_qr(f"\ufeff {unicodedata.normalize('NFD', text)}|") == card

"""Name normalisation, folding, tone-mark placement, parts and ICAO 9303 name fields."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.identity.strategies import (
    FAMILY,
    GIVEN,
    MIDDLE,
    NEW_STYLE,
    clean_names,
    messy_names,
    respell,
)

from vaxlink.identity import (
    NameParseError,
    NameParts,
    canonical_tone_placement,
    fold_name,
    icao_name_fields,
    icao_transliterate,
    is_vietnamese_syllable,
    name_token_set,
    normalise_name,
    split_name,
    syllables,
)

DCC_NAME = re.compile(r"^[A-Z<]*$")
TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nguyễn văn  AN", "Nguyễn Văn An"),
        ("  NGUYỄN\u00a0 thị\thoà  ", "Nguyễn Thị Hòa"),
        (unicodedata.normalize("NFD", "trần thị thuỷ"), "Trần Thị Thủy"),
        ("ĐẶNG   QUỐC KHOẺ", "Đặng Quốc Khỏe"),
        ("Ðức", "Đức"),
        ("lê\u200b văn\ufeff tám", "Lê Văn Tám"),
        ("h'hen niê", "H'Hen Niê"),
        ("ksor h’bia", "Ksor H'Bia"),
        ("", ""),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_normalise_name_output_is_nfc() -> None:
    text = normalise_name(unicodedata.normalize("NFD", "nguyễn thị ánh nguyệt"))
    assert unicodedata.is_normalized("NFC", text)
    assert text == "Nguyễn Thị Ánh Nguyệt"


@given(
    clean_names(),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
    st.sampled_from([" ", "  ", "\u00a0", " \t "]),
)
def test_messy_spellings_normalise_to_the_clean_name(
    name: str, case: int, nfd: bool, new_style: bool, spaces: str
) -> None:
    messy = respell(name, case=case, nfd=nfd, new_style=new_style, spaces=spaces)
    assert normalise_name(messy) == name
    assert normalise_name(f"  {messy} ") == name


@given(messy_names())
def test_messy_names_normalise_to_old_style_title_case(messy: str) -> None:
    result = normalise_name(messy)
    words = result.split(" ")
    assert all(word[0].isupper() and word[1:] == word[1:].lower() for word in words)
    assert all(word in FAMILY + MIDDLE + GIVEN for word in words)


@given(st.one_of(messy_names(), st.text(max_size=40)))
def test_normalise_name_is_idempotent(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Nguyễn Văn Đức", "nguyen van duc"),
        ("ĐẶNG THỊ HƯƠNG", "dang thi huong"),
        ("  Lê-Văn   Tám. ", "le van tam"),
        ("Ðỗ", "do"),
        ("H'Hen", "h hen"),
    ],
)
def test_fold_name(raw: str, expected: str) -> None:
    assert fold_name(raw) == expected


@given(st.one_of(messy_names(), st.text(max_size=40)))
def test_fold_name_is_idempotent(text: str) -> None:
    once = fold_name(text)
    assert fold_name(once) == once


@given(st.one_of(messy_names(), st.text(max_size=40)))
def test_fold_of_nfc_equals_fold_of_nfd(text: str) -> None:
    assert fold_name(unicodedata.normalize("NFC", text)) == fold_name(
        unicodedata.normalize("NFD", text)
    )


@given(messy_names())
def test_fold_ignores_case_spacing_and_tone_style(messy: str) -> None:
    assert fold_name(messy) == fold_name(normalise_name(messy))
    assert fold_name(messy).isascii()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hòa", "hoà"),
        ("thủy", "thuỷ"),
        ("khỏe", "khoẻ"),
        ("Hòa Bình", "Hoà Bình"),
        ("Thanh Hóa", "Thanh Hoá"),
        ("Khánh Hòa", "Khánh Hoà"),
        ("Ủy ban", "Uỷ ban"),
        ("THÚY", "THUÝ"),
        ("xòe", "xoè"),
        ("lõa", "loã"),
        ("tùy", "tuỳ"),
        ("họa", "hoạ"),
    ],
)
def test_tone_placement_variants(old: str, new: str) -> None:
    assert canonical_tone_placement(new) == old
    assert canonical_tone_placement(old) == old
    assert canonical_tone_placement(old, style="new") == new
    assert canonical_tone_placement(new, style="new") == new
    assert normalise_name(old) == normalise_name(new)
    assert fold_name(old) == fold_name(new)


@pytest.mark.parametrize(
    ("misplaced", "expected"),
    [
        ("hòang", "hoàng"),  # with a final consonant the mark is on the second vowel
        ("hùynh", "huỳnh"),
        ("qúa", "quá"),  # qu is the onset: the vowel is a
        ("qúy", "quý"),
        ("gìa", "già"),  # gi is the onset
        ("muà", "mùa"),
        ("ngừơi", "người"),  # ươ takes it on ơ
        ("nguỹên", "nguyễn"),
        ("khuyủ", "khuỷu"),
    ],
)
def test_misplaced_marks_move_to_their_place(misplaced: str, expected: str) -> None:
    assert canonical_tone_placement(misplaced) == expected


def test_words_that_are_not_syllables_are_left_alone() -> None:
    text = "Kenny H'Hen 123 Müller xyzà"
    assert canonical_tone_placement(text) == text


open_clusters = st.tuples(
    st.sampled_from(["", "h", "th", "kh", "t", "l", "x", "ng", "nh", "s", "ch", "tr"]),
    st.sampled_from(["oa", "oe", "uy"]),
    st.sampled_from(TONES),
    st.sampled_from([str.lower, str.upper, str.title]),
)


@given(open_clusters)
def test_open_oa_oe_uy_variants_canonicalise_and_fold_equally(
    parts: tuple[str, str, str, object],
) -> None:
    onset, cluster, tone, case = parts
    assert callable(case)
    old = case(unicodedata.normalize("NFC", onset + cluster[0] + tone + cluster[1]))
    new = case(unicodedata.normalize("NFC", onset + cluster + tone))
    assert old != new
    assert canonical_tone_placement(new) == canonical_tone_placement(old) == old
    assert canonical_tone_placement(old, style="new") == new
    assert fold_name(old) == fold_name(new)
    assert normalise_name(old) == normalise_name(new)
    assert is_vietnamese_syllable(old)
    assert is_vietnamese_syllable(new)


@pytest.mark.parametrize("word", FAMILY + MIDDLE + GIVEN)
def test_real_name_syllables_are_fixed_points(word: str) -> None:
    assert is_vietnamese_syllable(word)
    assert canonical_tone_placement(word) == word
    assert canonical_tone_placement(word.upper()) == word.upper()


@pytest.mark.parametrize(
    "word",
    ["Leâ", "Vaên", "Nguyeãn", "Hoaøng", "John", "hoàg", "ănn", "aing", "tủp", "hóaa", "xyz"],
)
def test_non_syllables(word: str) -> None:
    assert not is_vietnamese_syllable(word)


def test_split_name() -> None:
    assert split_name("Nguyễn Văn Đức") == NameParts("Nguyễn", "Văn", "Đức")
    assert split_name(" nguyễn thị ánh  nguyệt") == NameParts("Nguyễn", "Thị Ánh", "Nguyệt")
    assert split_name("Lê An") == NameParts("Lê", "", "An")
    assert split_name("hen") == NameParts("", "", "Hen")
    assert split_name("   ") == NameParts("", "", "")


def test_syllables_and_token_sets() -> None:
    assert syllables("nguyễn  văn-đức") == ("Nguyễn", "Văn", "Đức")
    assert name_token_set("Nguyễn Văn Đức") == frozenset({"nguyen", "van", "duc"})
    assert name_token_set("ĐỨC nguyễn văn") == name_token_set("Nguyễn Văn Đức")
    assert name_token_set("Nguyễn Đức") < name_token_set("Nguyễn Văn Đức")
    assert name_token_set("nguyen van duc") == name_token_set("Nguyễn Văn Đức")
    assert name_token_set("Nguyễn Văn Đức") != name_token_set("Nguyễn Văn Đạt")


@given(clean_names(min_words=2), st.randoms())
def test_token_set_ignores_order_and_split_covers_every_syllable(
    name: str, rnd: random.Random
) -> None:
    words = name.split()
    shuffled = list(words)
    rnd.shuffle(shuffled)
    assert name_token_set(" ".join(shuffled)) == name_token_set(name)
    parts = split_name(name)
    assert " ".join(p for p in (parts.family, parts.middle, parts.given) if p) == name
    assert syllables(name) == tuple(words)


@pytest.mark.parametrize(
    ("full_name", "fields"),
    [
        ("Nguyễn Văn Đức", ("NGUYEN", "VAN<DUC")),
        ("đặng thị ánh tuyết", ("DANG", "THI<ANH<TUYET")),
        ("Lê An", ("LE", "AN")),
        ("Hen", ("HEN", "")),
        ("Âu Dương Ưng", ("AU", "DUONG<UNG")),
        ("Tôn-Nữ Hoàng  Anh", ("TON<NU", "HOANG<ANH")),
    ],
)
def test_icao_name_fields(full_name: str, fields: tuple[str, str]) -> None:
    assert icao_name_fields(full_name) == fields


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ngô Thị Ánh", "NGO<THI<ANH"),
        ("Đ đ Ð", "D<D<D"),
        ("O'Brien", "OBRIEN"),
        ("Jean-Luc", "JEAN<LUC"),
        ("Müller Øster", "MUELLER<OESTER"),
        ("  a  --  b  ", "A<B"),
        ("Nguyễn 3", "NGUYEN"),
    ],
)
def test_icao_transliterate(text: str, expected: str) -> None:
    assert icao_transliterate(text) == expected


def test_icao_fields_are_cut_to_80_without_a_trailing_filler() -> None:
    fnt, gnt = icao_name_fields("Nguyễn " + "Văn " * 25 + "An")
    assert fnt == "NGUYEN"
    assert gnt == "<".join(["VAN"] * 20)  # "VAN<" * 20 is 80 characters, then "<" is dropped


def test_icao_fields_refuse_empty_and_non_latin_names() -> None:
    with pytest.raises(NameParseError, match="empty"):
        icao_name_fields("   ")
    with pytest.raises(NameParseError, match="no Latin letters"):
        icao_name_fields("李")


@given(messy_names())
def test_icao_fields_follow_the_dcc_pattern(messy: str) -> None:
    fnt, gnt = icao_name_fields(messy)
    for field in (fnt, gnt):
        assert DCC_NAME.match(field)
        assert len(field) <= 80
    parts = split_name(messy)
    assert fnt == icao_transliterate(parts.family or parts.given)
    assert fnt.replace("<", " ").lower() == fold_name(parts.family or parts.given)
    words = normalise_name(messy).split()
    if len(words) == 1:
        assert gnt == ""
    else:
        assert gnt.count("<") == len(words) - 2


def test_new_style_table_is_really_new_style() -> None:
    for old, new in NEW_STYLE.items():
        assert old != new
        assert canonical_tone_placement(new) == old

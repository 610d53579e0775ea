"""The vectorised pieces: name errors on known names, dates, digit strings, sampling."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.synth import name_errors as ne
from vaxlink.synth.names import vocabulary
from vaxlink.synth.names_data import GIVEN_FEMALE, GIVEN_MALE
from vaxlink.synth.vec import (
    date_strings,
    day,
    from_ymd,
    row_choice,
    unique_suffixes,
    ymd,
    zfill_int,
)

NAMES = ["Nguyễn Văn Ộ", "Trần Thị Hương", "Đặng Thị Ngọc Ánh", "Huỳnh Quốc Việt", "Lý Ửng"]
WORDS = vocabulary().words.to_pylist()


def _toneless(s: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", s) if c not in "\u0300\u0301\u0303\u0309\u0323"
    )


def test_vocabulary_is_large_and_nfc() -> None:
    assert len(GIVEN_MALE) >= 150
    assert len(GIVEN_FEMALE) >= 150
    assert all(unicodedata.is_normalized("NFC", w) and " " not in w for w in WORDS)


def test_no_diacritics() -> None:
    out = ne.no_diacritics(pa.array(NAMES)).to_pylist()
    assert out == [
        "Nguyen Van O",
        "Tran Thi Huong",
        "Dang Thi Ngoc Anh",
        "Huynh Quoc Viet",
        "Ly Ung",
    ]


def test_wrong_tone_changes_one_tone_and_stays_composed() -> None:
    rng = np.random.default_rng(0)
    names = pa.array(NAMES * 200)
    out = ne.wrong_tone(rng, names).to_pylist()
    for before, after in zip(names.to_pylist(), out, strict=True):
        assert after != before
        assert _toneless(after) == _toneless(before)
        assert unicodedata.is_normalized("NFC", after)
        # Vietnamese letters with two marks (ộ, ứ, ...) exist precomposed: none left combining.
        assert not any(unicodedata.combining(c) for c in after), after


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=2, max_size=4), st.integers(0, 2**32 - 1))
def test_typo_is_one_edit(words: list[str], seed: int) -> None:
    name = " ".join(words)
    out = ne.typo(np.random.default_rng(seed), pa.array([name])).to_pylist()[0]
    assert out != name or all(len(w) == 1 for w in words)
    assert abs(len(out) - len(name)) <= 1
    assert out.split()[0][0] == name.split()[0][0]  # the capital that starts a word is kept


def test_case_spacing_only_touches_case_and_spaces() -> None:
    rng = np.random.default_rng(1)
    names = pa.array(NAMES * 100)
    for before, after in zip(
        names.to_pylist(), ne.case_spacing(rng, names).to_pylist(), strict=True
    ):
        assert after != before
        assert " ".join(after.split()).lower() == before.lower()


def test_nfd_looks_the_same() -> None:
    out = ne.nfd(pa.array(NAMES)).to_pylist()
    assert all(unicodedata.normalize("NFC", a) == b != a for a, b in zip(out, NAMES, strict=True))


def test_dates_round_trip_and_clip() -> None:
    days = np.array([day("1985-03-14"), day("2000-02-29"), day("1931-12-31")])
    y, m, d = ymd(days)
    assert list(from_ymd(y, m, d)) == list(days)
    assert from_ymd(np.array([2001]), np.array([2]), np.array([29]))[0] == day("2001-02-28")
    styles = np.array([0, 1, 2])
    assert date_strings(days, styles).to_pylist() == ["1985-03-14", "29/02/2000", "31/12/1931"]
    assert date_strings(days, np.array([3, 3, 2])).to_pylist() == ["1985", "2000", "31/12/1931"]


def test_zfill_and_unique_suffixes() -> None:
    assert zfill_int(np.array([1, 12345678901]), 12).to_pylist() == ["000000000001", "012345678901"]
    rng = np.random.default_rng(3)
    prefixes = np.zeros(5_000, dtype=np.int64)
    values = unique_suffixes(rng, prefixes, 6_000)
    assert len(set(values.tolist())) == 5_000
    assert values.max() < 6_000


def test_row_choice_respects_zero_weights() -> None:
    rng = np.random.default_rng(4)
    w = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]] * 100)
    pick = row_choice(rng, w)
    assert set(pick[0::3]) == {1}
    assert set(pick[1::3]) == {-1}
    assert set(pick[2::3]) == {0, 1}


@pytest.mark.parametrize("name", ["Lê Văn An", "Nguyễn Thị Thu Hà"])
def test_tone_count(name: str) -> None:
    expected = sum(
        c in "\u0300\u0301\u0303\u0309\u0323" for c in unicodedata.normalize("NFD", name)
    )
    assert ne.tone_count(pa.array([name]))[0] == expected

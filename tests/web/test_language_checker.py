"""The language checker of #17 (`tests/web_language.py`) on words, and every string of the
catalogues held to it: a Vietnamese text with no English word, an English text with no
Vietnamese mark (placeholders and `commands` aside), so pages the journeys do not reach are
covered too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.web_language import english_words, is_vietnamese_syllable, vietnamese_words

from vaxlink import catalogue
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

#: Named in the other language on purpose (the link is marked with that language's `lang`).
OTHER_LANGUAGE_ON_PURPOSE = frozenset({"common.switch_language", "verifier.switch"})


@pytest.mark.parametrize("word", ["Người", "nguoi", "Trạm", "y", "tế", "chứng", "nhận", "xã",
                                  "khuyến", "nghiêng", "quyết", "định", "giấy", "Tiếng"])  # fmt: skip
def test_vietnamese_syllables_with_and_without_marks(word: str) -> None:
    assert is_vietnamese_syllable(word)


@pytest.mark.parametrize("word", ["status", "verified", "date", "and", "of", "error", "sign",
                                  "download", "name", "candidate", "Dashboard", "record"])  # fmt: skip
def test_english_words_are_not_vietnamese_syllables(word: str) -> None:
    assert not is_vietnamese_syllable(word)


def test_words_of_the_other_language() -> None:
    assert english_words("Tải chứng nhận (PDF) · Download certificate") == ["Download",
                                                                            "certificate"]  # fmt: skip
    assert english_words("Mã QR · MT000101 · 12/03/2021 · 1.234 mũi · Tai chung nhan") == []
    assert english_words("no_candidate") == ["candidate"]  # a raw code is not a page's word
    assert vietnamese_words("Certificate of Nguyễn Văn An") == ["Nguyễn", "Văn"]
    assert vietnamese_words("Verified · 12/03/2021 · COVID-19") == []


def _texts(lang: str, data_dir: Path) -> dict[str, str]:
    create_app(Settings(data_dir=data_dir))  # registers every catalogue
    return {k: v for k, v in catalogue._CATALOG[lang].items() if k not in OTHER_LANGUAGE_ON_PURPOSE}


def _bare(text: str) -> str:
    """The text without its `{placeholders}` (data) and `commands` (shown as code)."""
    return re.sub(r"`[^`]*`", "", re.sub(r"\{[^}]*\}", "", text))


def test_every_vietnamese_string_is_vietnamese(tmp_path: Path) -> None:
    bad = {k: english_words(_bare(v)) for k, v in _texts("vi", tmp_path).items()}
    assert not {k: w for k, w in bad.items() if w}


def test_every_english_string_is_english(tmp_path: Path) -> None:
    bad = {k: vietnamese_words(_bare(v)) for k, v in _texts("en", tmp_path).items()}
    assert not {k: w for k, w in bad.items() if w}


def test_every_permission_has_a_name_in_both_languages() -> None:
    """Home pages list what a role may do by these names: a new permission needs both."""
    from vaxlink.auth.roles import Permission
    from vaxlink.auth.strings import PERMISSION_NAMES

    for lang in ("vi", "en"):
        assert set(PERMISSION_NAMES[lang]) == set(Permission), lang

"""Vietnamese personal names: display form, folded form for matching, parts, ICAO 9303 fields."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from vaxlink.identity.errors import NameParseError
from vaxlink.identity.legacy import (
    LegacyEncoding,
    detect_legacy_encoding,
    legacy_to_unicode,
    unicode_to_legacy,
)
from vaxlink.identity.syllable import ToneStyle, canonical_tone_placement, is_vietnamese_syllable

__all__ = [
    "DCC_NAME_MAX",
    "LegacyEncoding",
    "NameParts",
    "ToneStyle",
    "canonical_tone_placement",
    "detect_legacy_encoding",
    "fold_name",
    "icao_name_fields",
    "icao_transliterate",
    "is_vietnamese_syllable",
    "legacy_to_unicode",
    "name_token_set",
    "normalise_name",
    "split_name",
    "syllables",
    "unicode_to_legacy",
]

#: EU DCC fnt/gnt: ^[A-Z<]*$, at most 80 characters.
DCC_NAME_MAX = 80

# Lookalikes typed or converted into names: Icelandic eth for Đ, curly apostrophes, dashes.
_LOOKALIKES = str.maketrans(
    {"Ð": "Đ", "ð": "đ", "’": "'", "‘": "'", "ʼ": "'", "`": "'", "‐": "-", "‑": "-", "–": "-"}
)
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u2060\ufeff\x00-\x08\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_NOT_ALNUM = re.compile(r"[\W_]+")
_D_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


@dataclass(frozen=True, slots=True)
class NameParts:
    """A Vietnamese name, family name first: họ (family), tên đệm (middle), tên (given)."""

    family: str
    middle: str
    given: str


def _single(char: str, mapped: str) -> str:
    """The case-mapped character, unless the mapping would change the length (ß -> SS)."""
    return mapped if len(mapped) == 1 else char


def _title_word(match: re.Match[str]) -> str:
    word = match[0]
    head = _single(word[0], word[0].upper())
    return head + "".join(_single(char, char.lower()) for char in word[1:])


def normalise_name(text: str) -> str:
    """Display form: NFC, spaces collapsed, old-style tone marks, title case ("Nguyễn Văn An").

    Legacy TCVN3/VNI text must be converted with legacy_to_unicode first.
    """
    cleaned = _INVISIBLE.sub("", unicodedata.normalize("NFC", text).translate(_LOOKALIKES))
    collapsed = " ".join(cleaned.split())
    titled = _WORD.sub(_title_word, canonical_tone_placement(collapsed))
    return unicodedata.normalize("NFC", titled)


def fold_name(text: str) -> str:
    """Matching key: lowercase, no diacritics, đ as d, anything but letters or digits as a space."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_ALNUM.sub(" ", bare.translate(_D_LETTERS)).split())


def syllables(text: str) -> tuple[str, ...]:
    """The name's syllables in display form, in order (hyphenated syllables are split)."""
    return tuple(part for part in re.split(r"[\s-]+", normalise_name(text)) if part)


def name_token_set(text: str) -> frozenset[str]:
    """Folded syllables as a set, to match names with reordered or dropped syllables."""
    return frozenset(fold_name(text).split())


def split_name(text: str) -> NameParts:
    """Family = first word, given = last word, middle = the rest; one word is a given name."""
    words = normalise_name(text).split()
    if not words:
        return NameParts("", "", "")
    if len(words) == 1:
        return NameParts("", "", words[0])
    return NameParts(words[0], " ".join(words[1:-1]), words[-1])


# ICAO 9303 part 3 transliterations of letters that do not decompose into A-Z plus marks.
_ICAO_SPECIAL = {
    "Đ": "D", "Ð": "D", "Þ": "TH", "Æ": "AE", "Ø": "OE", "Œ": "OE", "ẞ": "SS", "ß": "SS",
    "Ł": "L", "Ħ": "H", "Ŋ": "N", "Ŧ": "T", "Ĳ": "IJ", "ı": "I",
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "Å": "AA",
}  # fmt: skip
_FILLER_RUNS = re.compile(r"<+")


def _icao_char(char: str) -> str:
    upper = char.upper() if len(char.upper()) == 1 else char
    if upper in _ICAO_SPECIAL:
        return _ICAO_SPECIAL[upper]
    if char.isspace() or char in "-‐‑–":
        return "<"
    base = unicodedata.normalize("NFD", upper)[0]
    return base if "A" <= base <= "Z" else ""


def icao_transliterate(text: str) -> str:
    """ICAO 9303 machine-readable form: A-Z only, diacritics folded, Đ as D, spaces as '<'."""
    nfc = unicodedata.normalize("NFC", " ".join(text.split()))
    letters = "".join(_icao_char(char) for char in nfc)
    return _FILLER_RUNS.sub("<", letters).strip("<")


def _dcc_field(text: str) -> str:
    return icao_transliterate(text)[:DCC_NAME_MAX].rstrip("<")


def icao_name_fields(full_name: str) -> tuple[str, str]:
    """EU DCC (fnt, gnt): "Nguyễn Văn Đức" -> ("NGUYEN", "VAN<DUC"); a single name goes in fnt."""
    parts = split_name(full_name)
    if not parts.given:
        raise NameParseError("the name is empty; enter the full name as written on the ID card")
    if parts.family:
        fnt, gnt = _dcc_field(parts.family), _dcc_field(f"{parts.middle} {parts.given}")
    else:
        fnt, gnt = _dcc_field(parts.given), ""
    if not fnt:
        raise NameParseError(
            f"the name '{full_name.strip()}' has no Latin letters to put on a vaccine passport; "
            "enter it in Vietnamese or Latin letters"
        )
    return fnt, gnt

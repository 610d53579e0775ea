"""TCVN3 (ABC) and VNI-Windows text from old Excel files: detect it and turn it into Unicode.

Such text reaches us as the cp1252/latin-1 characters of the legacy font's bytes, e.g.
"NguyÔn V¨n §øc" (TCVN3) or "Nguyeãn Vaên Ñöùc" (VNI) for "Nguyễn Văn Đức".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal

from vaxlink.identity.syllable import TONE_MARKS, is_vietnamese_syllable

LegacyEncoding = Literal["tcvn3", "vni"]

# TCVN 5712:1993 VN3, the ABC fonts (.VnTime): byte -> letter. Only lowercase letters carry
# tones; capitals with tones come from the ".VnTimeH" fonts, which reuse these same bytes, so
# they decode to lowercase here (names are re-cased by normalise_name).
_TCVN3_BYTES: dict[int, str] = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
_TCVN3_ENCODE = {letter: chr(code) for code, letter in _TCVN3_BYTES.items()}

_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"

# VNI-Windows: letters that are one byte of their own (lowercase byte, uppercase byte).
_VNI_SINGLE: dict[str, tuple[str, str]] = {
    "đ": ("ñ", "Ñ"), "ơ": ("ô", "Ô"), "ư": ("ö", "Ö"),
    "ì": ("ì", "Ì"), "í": ("í", "Í"), "ỉ": ("æ", "Æ"), "ĩ": ("ó", "Ó"), "ị": ("ò", "Ò"),
    "ỵ": ("î", "Î"),
}  # fmt: skip
# VNI-Windows: a base letter followed by one mark byte (lowercase byte, uppercase byte).
# Key: (vowel-quality mark, tone mark), "" for none.
_VNI_MARKS: dict[tuple[str, str], tuple[str, str]] = {
    ("", _ACUTE): ("ù", "Ù"), ("", _GRAVE): ("ø", "Ø"), ("", _HOOK): ("û", "Û"),
    ("", _TILDE): ("õ", "Õ"), ("", _DOT): ("ï", "Ï"),
    (_CIRCUMFLEX, ""): ("â", "Â"), (_CIRCUMFLEX, _ACUTE): ("á", "Á"),
    (_CIRCUMFLEX, _GRAVE): ("à", "À"), (_CIRCUMFLEX, _HOOK): ("å", "Å"),
    (_CIRCUMFLEX, _TILDE): ("ã", "Ã"), (_CIRCUMFLEX, _DOT): ("ä", "Ä"),
    (_BREVE, ""): ("ê", "Ê"), (_BREVE, _ACUTE): ("é", "É"), (_BREVE, _GRAVE): ("è", "È"),
    (_BREVE, _HOOK): ("ú", "Ú"), (_BREVE, _TILDE): ("ü", "Ü"), (_BREVE, _DOT): ("ë", "Ë"),
}  # fmt: skip
_VNI_SINGLE_DECODE = {
    byte: (letter if i == 0 else letter.upper())
    for letter, pair in _VNI_SINGLE.items()
    for i, byte in enumerate(pair)
}
_VNI_MARK_DECODE = {byte: key for key, pair in _VNI_MARKS.items() for byte in pair}
#: Which base letters each vowel-quality mark may follow.
_VNI_BASES = {"": "aeouyơư", _CIRCUMFLEX: "aeo", _BREVE: "a"}


_TCVN3_UPPER_BASES = frozenset(chr(code) for code in range(0xA1, 0xA8))
_TCVN3_LOWER_BASES = frozenset(chr(code) for code in range(0xA8, 0xAF))


def _tcvn3_word(match: re.Match[str]) -> str:
    """Decode one word; a word otherwise in capitals was typed in a capitals (.VnTimeH) font."""
    word = match[0]
    upper = sum(c in _TCVN3_UPPER_BASES or (c.isascii() and c.isupper()) for c in word)
    lower = sum(c in _TCVN3_LOWER_BASES or (c.isascii() and c.islower()) for c in word)
    decoded = word.translate(_TCVN3_BYTES)
    return decoded.upper() if upper >= 2 and lower == 0 else decoded


def _decode_tcvn3(text: str) -> str:
    return unicodedata.normalize("NFC", re.sub(r"\S+", _tcvn3_word, text))


def _decode_vni(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        base = _VNI_SINGLE_DECODE.get(text[i], text[i])
        mark = _VNI_MARK_DECODE.get(text[i + 1]) if i + 1 < len(text) else None
        if mark is not None and base.lower() in _VNI_BASES[mark[0]]:
            out.append(unicodedata.normalize("NFC", base + mark[0] + mark[1]))
            i += 2
        else:
            out.append(base)
            i += 1
    return unicodedata.normalize("NFC", "".join(out))


_DECODERS: dict[LegacyEncoding, Callable[[str], str]] = {
    "tcvn3": _decode_tcvn3,
    "vni": _decode_vni,
}

# Split on whitespace and ASCII punctuation only: every legacy code point is non-ASCII.
_TOKEN_SPLIT = re.compile(r"[\s!-/:-@\[-`{-~]+")


def _tokens(text: str) -> list[str]:
    return [token for token in _TOKEN_SPLIT.split(text) if token]


def _invalid(tokens: list[str]) -> int:
    return sum(not is_vietnamese_syllable(token) for token in tokens)


def _score(tokens: list[str], before: int, encoding: LegacyEncoding) -> tuple[int, int] | None:
    """(syllables gained, minus capitals lost) by decoding, or None if it spoils any word."""
    decoded = [_DECODERS[encoding](token) for token in tokens]
    lowered = 0
    for original, new in zip(tokens, decoded, strict=True):
        if new != original and not is_vietnamese_syllable(new):
            return None
        lowered += original[0].isupper() and new[0].islower()
    gained = before - _invalid(decoded)
    return (gained, -lowered) if gained > 0 else None


def detect_legacy_encoding(text: str) -> LegacyEncoding | None:
    """'tcvn3' or 'vni' when the text reads as Vietnamese only once decoded from it, else None.

    Never fires on text whose words are all Vietnamese syllables (Unicode, any case, NFC or NFD)
    or on ASCII text. When both decodings read, the one that keeps capital initials wins (TCVN3
    "Öng" is "ệng", VNI "Öng" is "Ưng"); a tie gives None.
    """
    tokens = _tokens(text)
    before = _invalid(tokens)
    if before == 0:
        return None
    scored = [(score, enc) for enc in _DECODERS if (score := _score(tokens, before, enc))]
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]


def legacy_to_unicode(text: str, encoding: LegacyEncoding | None = None) -> str:
    """Unicode (NFC) for TCVN3 or VNI text; with no encoding, detect it or return the text as is."""
    if encoding is None:
        encoding = detect_legacy_encoding(text)
        if encoding is None:
            return text
    if encoding not in _DECODERS:
        raise ValueError(f"unknown legacy encoding {encoding!r} (expected 'tcvn3' or 'vni')")
    return _DECODERS[encoding](text)


def _split_letter(char: str) -> tuple[str, str, str]:
    """(base letter, vowel-quality mark, tone mark) of one NFC Vietnamese letter."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    tone = next((m for m in marks if m in TONE_MARKS), "")
    quality = next((m for m in marks if m not in TONE_MARKS), "")
    return base, quality, tone


def _encode_vni_letter(char: str) -> str:
    lower = char.lower()
    upper = char != lower
    if lower in _VNI_SINGLE:
        return _VNI_SINGLE[lower][upper]
    base, quality, tone = _split_letter(char)
    if quality == _HORN:
        base, quality = _VNI_SINGLE["ơ" if base in "oO" else "ư"][upper], ""
    if (quality, tone) == ("", ""):
        return char
    pair = _VNI_MARKS.get((quality, tone))
    return char if pair is None else base + pair[upper]


def _encode_tcvn3_letter(char: str) -> str:
    return _TCVN3_ENCODE.get(char) or _TCVN3_ENCODE.get(char.lower(), char)


def unicode_to_legacy(text: str, encoding: LegacyEncoding) -> str:
    """Vietnamese text as it looks in a TCVN3 or VNI file read as cp1252 (for test data)."""
    if encoding == "tcvn3":
        encode = _encode_tcvn3_letter
    elif encoding == "vni":
        encode = _encode_vni_letter
    else:
        raise ValueError(f"unknown legacy encoding {encoding!r} (expected 'tcvn3' or 'vni')")
    return "".join(encode(char) for char in unicodedata.normalize("NFC", text))

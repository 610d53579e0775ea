"""Vietnamese syllable structure: is a word a syllable, and where does its tone mark belong."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ToneStyle = Literal["old", "new"]

#: Combining marks for the five written tones: huyền, sắc, ngã, hỏi, nặng.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_ACUTE, _DOT = "\u0301", "\u0323"
_QUALITY_VOWELS = "ăâêôơư"

_ONSETS = (
    "ngh", "ng", "gh", "gi", "kh", "nh", "ph", "qu", "th", "tr", "ch",
    "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x",
)  # fmt: skip
#: Vowel nuclei (with glides) that end the syllable: no final consonant may follow.
_OPEN_ONLY = frozenset({
    "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi", "ua", "ui",
    "ưa", "ưi", "ưu", "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "uya", "uyu",
    "ươi", "ươu",
})  # fmt: skip
#: Nuclei that need a final consonant.
_CLOSED_ONLY = frozenset({"ă", "â", "iê", "yê", "uô", "ươ", "uyê", "oă", "uâ"})
_FREE = frozenset(
    {"a", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "oa", "oe", "oo", "uê", "uơ", "uy"}
)
_NUCLEI = sorted(_OPEN_ONLY | _CLOSED_ONLY | _FREE, key=lambda n: (-len(n), n))
_CODAS = ("ch", "nh", "ng", "c", "m", "n", "p", "t")
_STOP_CODAS = frozenset({"c", "ch", "p", "t"})
_FRONT_VOWELS = "ieêy"
_FRONT_ONLY_ONSETS = frozenset({"k", "gh", "ngh"})  # ke, ghi, nghe; never ka, gha, ngha
_BACK_ONLY_ONSETS = frozenset({"c", "ng"})  # ca, nga; never ce, ngi
_SYLLABLE = re.compile(
    f"(?P<onset>{'|'.join(_ONSETS)})?(?P<nucleus>{'|'.join(_NUCLEI)})(?P<coda>{'|'.join(_CODAS)})?"
)


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A word split into its toneless letters, its tone marks and its onset/nucleus/coda."""

    bare: str
    tones: tuple[tuple[int, str], ...]
    onset: str
    nucleus_start: int
    nucleus: str
    coda: str


def _parse(word: str) -> _Parsed | None:
    """Parse one word (any case, NFC or NFD); None when it is not shaped like a syllable."""
    letters: list[str] = []
    tones: list[tuple[int, str]] = []
    for char in unicodedata.normalize("NFD", word):
        if char in TONE_MARKS:
            tones.append((len(letters) - 1, char))
        elif unicodedata.combining(char) and letters:
            letters[-1] += char
        else:
            letters.append(char)
    bare = unicodedata.normalize("NFC", "".join(letters))
    if len(bare) != len(letters):
        return None  # a mark that does not compose into a Vietnamese letter
    match = _SYLLABLE.fullmatch(bare.lower())
    if match is None:
        return None
    nucleus, coda = match["nucleus"], match["coda"] or ""
    onset = match["onset"] or ""
    return _Parsed(bare, tuple(tones), onset, match.start("nucleus"), nucleus, coda)


def _spelling_ok(parsed: _Parsed) -> bool:
    """Onset, nucleus and coda fit together as Vietnamese spelling allows."""
    nucleus, coda, onset = parsed.nucleus, parsed.coda, parsed.onset.lower()
    front = nucleus[0] in _FRONT_VOWELS
    if (onset in _FRONT_ONLY_ONSETS and not front) or (onset in _BACK_ONLY_ONSETS and front):
        return False
    if (coda and nucleus in _OPEN_ONLY) or (not coda and nucleus in _CLOSED_ONLY):
        return False
    if nucleus == "y" and coda:
        return onset == "qu"  # quynh, quyt; a lone y never closes
    if nucleus == "uy":
        return coda in ("", "nh", "ch", "t", "p")  # huynh, huých, tuýt, tuýp
    return nucleus != "uê" or coda in ("", "nh", "ch")


def is_vietnamese_syllable(word: str) -> bool:
    """True when `word` is spelled like one Vietnamese syllable, with or without its diacritics.

    A tone mark must sit where either the old or the new placement style puts it.
    """
    parsed = _parse(word)
    if parsed is None or len(parsed.tones) > 1 or not _spelling_ok(parsed):
        return False
    if not parsed.tones:
        return True
    position, tone = parsed.tones[0]
    offsets = {_tone_offset(parsed.nucleus, bool(parsed.coda), style) for style in ("old", "new")}
    if position - parsed.nucleus_start not in offsets:
        return False
    return parsed.coda not in _STOP_CODAS or tone in (_ACUTE, _DOT)


def _tone_offset(nucleus: str, has_coda: bool, style: ToneStyle) -> int:
    """Index in the nucleus that carries the tone mark."""
    marked = [i for i, char in enumerate(nucleus) if char in _QUALITY_VOWELS]
    if marked:
        return marked[-1]  # ươ takes it on ơ
    if len(nucleus) == 1:
        return 0
    if has_coda:
        return len(nucleus) - 1  # hoàng, huỳnh
    if len(nucleus) == 3:
        return 1  # ngoài, khuỷu
    if style == "new" and nucleus in ("oa", "oe", "uy"):
        return 1  # hoà, khoẻ, thuỷ
    return 0  # hòa, khỏe, thủy; mùa, mía, tài


def _place_in_word(word: str, style: ToneStyle) -> str:
    parsed = _parse(word)
    if parsed is None or len(parsed.tones) != 1:
        return word
    index = parsed.nucleus_start + _tone_offset(parsed.nucleus, bool(parsed.coda), style)
    tone = parsed.tones[0][1]
    return unicodedata.normalize("NFC", parsed.bare[: index + 1] + tone + parsed.bare[index + 1 :])


_WORD = re.compile(r"[^\W\d_]+")


def canonical_tone_placement(text: str, *, style: ToneStyle = "old") -> str:
    """NFC text with each syllable's tone mark moved to its place in the chosen style.

    "old" (the default, as printed on ID cards and in this project's province table) puts the
    mark on the first vowel of an open oa/oe/uy: hòa, khỏe, thủy. "new" puts it on the second:
    hoà, khoẻ, thuỷ. Both agree everywhere else. Words that are not syllables are left alone.
    """
    nfc = unicodedata.normalize("NFC", text)
    return _WORD.sub(lambda match: _place_in_word(match[0], style), nfc)

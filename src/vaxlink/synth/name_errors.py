"""String-level name errors: lost or wrong diacritics, typos, case and spacing, NFD."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.synth.vec import IntArray, codepoints, from_codepoints, pick_column

#: The five Vietnamese tone marks as combining characters: huyền, sắc, ngã, hỏi, nặng.
TONE_MARKS = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_T = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in TONE_MARKS) + "]"
_NT = _T.replace("[", "[^", 1)

_QWERTY = (
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)


def _neighbours() -> tuple[np.ndarray, np.ndarray]:
    """For each ASCII lowercase letter, its neighbours on a QWERTY keyboard."""
    pos = {ch: (r, c) for r, row in enumerate(_QWERTY) for c, ch in enumerate(row)}
    table = np.zeros((128, 8), dtype=np.uint32)
    count = np.zeros(128, dtype=np.int64)
    for ch, (r, c) in pos.items():
        near = [
            _QWERTY[rr][cc]
            for rr in (r - 1, r, r + 1)
            for cc in (c - 1, c, c + 1)
            if 0 <= rr < 3 and 0 <= cc < len(_QWERTY[rr]) and (rr, cc) != (r, c)
        ]
        table[ord(ch), : len(near)] = [ord(x) for x in near]
        count[ord(ch)] = len(near)
    return table, count


_NEAR, _NEAR_COUNT = _neighbours()


def nfc(x: pa.Array) -> pa.Array:
    """NFC form."""
    return pc.utf8_normalize(x, "NFC")


def tone_count(x: pa.Array) -> IntArray:
    """Number of tone marks in each string."""
    n = pc.count_substring_regex(pc.utf8_normalize(x, "NFD"), _T)
    return np.asarray(n.to_numpy(zero_copy_only=False), dtype=np.int64)


def no_diacritics(x: pa.Array) -> pa.Array:
    """Every accent dropped and đ written d, as typed on a keyboard without Vietnamese input."""
    d = pc.replace_substring_regex(pc.utf8_normalize(x, "NFD"), r"\p{Mn}", "")
    return pc.replace_substring(pc.replace_substring(d, "đ", "d"), "Đ", "D")


def wrong_tone(rng: np.random.Generator, x: pa.Array) -> pa.Array:
    """One tone mark replaced by another tone or dropped (the k-th mark, chosen at random)."""
    d = pc.utf8_normalize(x, "NFD")
    count = tone_count(x)
    k = np.minimum((rng.random(len(x)) * count).astype(np.int64), np.maximum(count - 1, 0))
    shift = rng.integers(1, 6, len(x))
    out = d
    for kk in np.unique(k[count > 0]):
        rows = np.flatnonzero((k == kk) & (count > 0))
        sub = d.take(pa.array(rows))
        found = pc.extract_regex(sub, f"^(?:{_NT}*{_T}){{{kk}}}{_NT}*(?P<t>{_T})").field("t")
        old = np.array([TONE_MARKS.index(t) + 1 for t in found.to_pylist()], dtype=np.int64)
        new = (old + shift[rows]) % 6  # 0 = no tone, 1..5 = TONE_MARKS; never the old one
        pattern = f"^((?:{_NT}*{_T}){{{kk}}}{_NT}*){_T}(\\p{{M}}*)"
        done = sub
        for t in range(6):
            sel = np.flatnonzero(new == t)
            if len(sel) == 0:
                continue
            mark = TONE_MARKS[t - 1] if t else ""
            fixed = pc.replace_substring_regex(
                done.take(pa.array(sel)), pattern, "\\1\\2" + mark, max_replacements=1
            )
            mask = np.zeros(len(rows), dtype=bool)
            mask[sel] = True
            done = pc.replace_with_mask(done, pa.array(mask), fixed)
        mask = np.zeros(len(x), dtype=bool)
        mask[rows] = True
        out = pc.replace_with_mask(out, pa.array(mask), done)
    return nfc(out)


def typo(rng: np.random.Generator, x: pa.Array) -> pa.Array:
    """One keyboard slip: a letter dropped, doubled, swapped with the next, or a neighbour key."""
    cp = codepoints(x)
    n, width = cp.shape
    cp = np.concatenate([cp, np.zeros((n, 1), dtype=np.uint32)], axis=1)
    letter = (cp != 0) & (cp != 32)
    kind = rng.choice(4, size=n, p=[0.3, 0.25, 0.3, 0.15])
    cols = np.arange(width + 1)
    out = cp.copy()
    # Inside a word only: never the capital that starts it.
    inner = letter & np.concatenate([np.zeros((n, 1), bool), letter[:, :-1]], axis=1)
    # 0: drop a letter
    r = np.flatnonzero(kind == 0)
    p = pick_column(rng, inner[r])
    p = np.where(p < 0, width + 1, p)
    src = cols[None, :] + (cols[None, :] >= p[:, None])
    out[r] = np.take_along_axis(cp[r], np.minimum(src, width), axis=1)
    # 1: swap two different neighbouring letters
    r = np.flatnonzero(kind == 1)
    pair = inner[r, :-1] & inner[r, 1:] & (cp[r, :-1] != cp[r, 1:])
    p = pick_column(rng, pair)
    ok = p >= 0
    rr, pp = r[ok], p[ok]
    out[rr, pp], out[rr, pp + 1] = cp[rr, pp + 1], cp[rr, pp]
    # 2: a neighbouring key instead of a plain lower-case letter
    r = np.flatnonzero(kind == 2)
    ascii_lower = inner[r] & (cp[r] >= 97) & (cp[r] <= 122)
    p = pick_column(rng, ascii_lower)
    ok = p >= 0
    rr, pp = r[ok], p[ok]
    ch = cp[rr, pp].astype(np.int64)
    j = (rng.random(len(rr)) * _NEAR_COUNT[ch]).astype(np.int64)
    out[rr, pp] = _NEAR[ch, j]
    # 3: a letter typed twice; also where the slip drawn found no place to happen
    r = np.flatnonzero((kind == 3) | (out == cp).all(axis=1))
    p = pick_column(rng, inner[r])
    src = cols[None, :] - (cols[None, :] > np.where(p < 0, width + 1, p)[:, None])
    out[r] = np.take_along_axis(cp[r], src, axis=1)
    return from_codepoints(out)


def case_spacing(rng: np.random.Generator, x: pa.Array) -> pa.Array:
    """Upper case (the most common), lower case, a doubled space, stray edge spaces, or the
    family name alone in capitals."""
    n = len(x)
    kind = rng.choice(5, size=n, p=[0.45, 0.15, 0.2, 0.1, 0.1])
    parts = pc.split_pattern(x, " ", max_splits=1)
    first, rest = pc.list_element(parts, 0), pc.list_element(parts, 1)
    options = [
        pc.utf8_upper(x),
        pc.utf8_lower(x),
        pc.replace_substring(x, " ", "  ", max_replacements=1),
        pc.binary_join_element_wise(" ", x, " ", ""),
        pc.binary_join_element_wise(pc.utf8_upper(first), rest, " ", null_handling="skip"),
    ]
    out = options[0]
    for i in range(1, 5):
        out = pc.if_else(pa.array(kind == i), options[i], out)
    return out


def nfd(x: pa.Array) -> pa.Array:
    """The same letters as decomposed code points (looks identical, compares different)."""
    return pc.utf8_normalize(x, "NFD")

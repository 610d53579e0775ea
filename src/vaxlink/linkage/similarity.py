"""String measures the comparison levels use, in pure Python, equal to DuckDB's on ASCII text."""

from __future__ import annotations


def jaro(a: str, b: str) -> float:
    """Jaro similarity; 0 when either string is empty (as DuckDB's jaro_similarity)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    used = [False] * len(b)
    a_hits: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not used[j] and b[j] == ch:
                used[j] = True
                a_hits.append(ch)
                break
    if not a_hits:
        return 0.0
    b_hits = [b[j] for j in range(len(b)) if used[j]]
    # Whole transpositions (half the out-of-order matches, rounded down), as DuckDB counts them.
    half = sum(x != y for x, y in zip(a_hits, b_hits, strict=True)) // 2
    m = len(a_hits)
    return (m / len(a) + m / len(b) + (m - half) / m) / 3


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler (prefix of up to 4 characters, scale 0.1, boost above 0.7), as in DuckDB."""
    sim = jaro(a, b)
    if sim <= 0.7:
        return sim
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return sim + prefix * 0.1 * (1 - sim)


def hamming(a: str, b: str) -> int | None:
    """Positions at which two equal-length strings differ; None for different lengths."""
    if len(a) != len(b):
        return None
    return sum(x != y for x, y in zip(a, b, strict=True))


def transposed(a: str, b: str) -> bool:
    """True when b is a with one pair of neighbouring characters swapped."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def words_in(a: str | None, b: str | None) -> bool:
    """Every word of a is also a word of b (a dropped middle name; an empty a is in anything)."""
    have = set((b or "").split(" "))
    return all(w in have for w in (a or "").split(" ") if w)


def levenshtein(a: str, b: str) -> int:
    """Edits (insert, delete or substitute one character) turning a into b, as DuckDB's and
    Spark's `levenshtein`."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def day_number(y: int | None, m: int | None, d: int | None) -> int | None:
    """The Julian day number of a full date (None when a part is unknown): the twin of the SQL
    macro lk_dday, integer arithmetic only, so every engine computes the same number."""
    if y is None or m is None or d is None:
        return None
    a = (14 - m) // 12
    yy = y + 4800 - a
    mm = m + 12 * a - 3
    return d + (153 * mm + 2) // 5 + 365 * yy + yy // 4 - yy // 100 + yy // 400 - 32045


def date_digits(y: int | None, m: int | None, d: int | None) -> str | None:
    """A full date as its eight digits yyyymmdd (the twin of the SQL macro lk_dob8)."""
    if y is None or m is None or d is None:
        return None
    return f"{y:04d}{m:02d}{d:02d}"

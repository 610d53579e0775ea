"""Vectorised building blocks: digit strings, dates, sampling and row edits over Arrow/NumPy arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Day 0 of the int day counts used throughout (the Unix epoch, as Arrow's date32).
EPOCH = np.datetime64("1970-01-01", "D")


def day(iso: str) -> int:
    """Days since 1970-01-01 for an ISO date."""
    return int((np.datetime64(iso, "D") - EPOCH).astype(np.int64))


def probs(weights: Sequence[float] | FloatArray) -> FloatArray:
    """Weights normalised to probabilities."""
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(w / w.sum(), dtype=np.float64)


def choice(rng: np.random.Generator, weights: Sequence[float] | FloatArray, size: int) -> IntArray:
    """`size` indices drawn with the given relative weights."""
    p = probs(weights)
    pick = np.searchsorted(np.cumsum(p), rng.random(size) * p.sum(), side="right")
    return np.asarray(pick.clip(0, len(p) - 1), dtype=np.int64)


def grouped_choice(
    rng: np.random.Generator, groups: IntArray, weights_of: Callable[[int], FloatArray]
) -> IntArray:
    """One draw per row from the weights of its group (a loop over groups, not rows)."""
    out = np.zeros(len(groups), dtype=np.int64)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        out[rows] = choice(rng, weights_of(int(g)), len(rows))
    return out


def row_choice(rng: np.random.Generator, weights: FloatArray) -> IntArray:
    """One column per row of a (rows x options) weight matrix; -1 where a row has no weight."""
    cum = np.cumsum(weights, axis=1)
    total = cum[:, -1]
    u = rng.random(len(weights)) * total
    pick = (cum <= u[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(pick, weights.shape[1] - 1), -1)


def zfill_int(values: npt.NDArray[np.integer[Any]], width: int) -> pa.StringArray:
    """Non-negative integers as zero-padded decimal strings of exactly `width` digits."""
    v = pa.array(np.asarray(values, dtype=np.int64))
    return pc.utf8_lpad(v.cast(pa.string()), width, "0")


def fixed_width_strings(chars: npt.NDArray[np.uint8]) -> pa.StringArray:
    """ASCII byte matrix (rows x width) to one string per row, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return arr


def unique_suffixes(
    rng: np.random.Generator, prefixes: IntArray, space: int, low: int = 0
) -> IntArray:
    """prefix * space + r with random r in [low, space), redrawn until every value is unique."""
    values = prefixes * space + rng.integers(low, space, len(prefixes))
    for _ in range(100):
        _, first = np.unique(values, return_index=True)
        dup = np.ones(len(values), dtype=bool)
        dup[first] = False
        if not dup.any():
            return values
        rows = np.flatnonzero(dup)
        values[rows] = prefixes[rows] * space + rng.integers(low, space, len(rows))
    raise RuntimeError("identifier space exhausted")  # pragma: no cover


def take(vocab: pa.Array, idx: npt.NDArray[np.integer[Any]]) -> pa.Array:
    """vocab[idx] as an Arrow array, null where idx < 0."""
    i = np.asarray(idx, dtype=np.int64)
    return vocab.take(pa.array(i, mask=i < 0))


def replace_rows(arr: pa.Array, rows: IntArray, values: pa.Array) -> pa.Array:
    """A copy of `arr` with arr[rows] = values (rows ascending, values aligned with rows)."""
    if len(rows) == 0:
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), values.cast(arr.type))


def changed(before: pa.Array, after: pa.Array) -> BoolArray:
    """Rows where two string arrays differ (nulls count as the empty string)."""
    a = pc.fill_null(before, "")
    b = pc.fill_null(after, "")
    return np.asarray(pc.not_equal(a, b).to_numpy(zero_copy_only=False), dtype=bool)


def date_strings(
    days: npt.NDArray[np.integer[Any]], style: npt.NDArray[np.integer[Any]]
) -> pa.Array:
    """Dates in a per-row style: 0 YYYY-MM-DD, 1 DD/MM/YYYY, 2 D/M/YYYY, 3 YYYY."""
    d = pa.array(np.asarray(days, dtype=np.int32), type=pa.date32())
    y = pc.year(d).cast(pa.string())
    m = pc.month(d).cast(pa.string())
    dd = pc.day(d).cast(pa.string())
    iso = d.cast(pa.string())
    padded = pc.binary_join_element_wise(pc.utf8_lpad(dd, 2, "0"), pc.utf8_lpad(m, 2, "0"), y, "/")
    bare = pc.binary_join_element_wise(dd, m, y, "/")
    s = np.asarray(style)
    out = pc.if_else(pa.array(s == 1), padded, iso)
    out = pc.if_else(pa.array(s == 2), bare, out)
    return pc.if_else(pa.array(s == 3), y, out)


def ymd(days: npt.NDArray[np.integer[Any]]) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of day counts."""
    dt = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


def from_ymd(y: IntArray, m: IntArray, d: IntArray) -> IntArray:
    """Day counts from year, month, day (the day is clipped to the month's length)."""
    month = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    nxt = month + np.timedelta64(1, "M")
    length = (nxt.astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
    start = month.astype("datetime64[D]").astype(np.int64)
    return np.asarray(start + np.minimum(d, length) - 1, dtype=np.int64)


def codepoints(arr: pa.Array) -> npt.NDArray[np.uint32]:
    """Strings as a (rows x max length) matrix of code points, 0-padded."""
    u = np.asarray(arr.to_numpy(zero_copy_only=False)).astype(str)
    width = max(int(u.dtype.itemsize // 4), 1)
    return u.view(np.uint32).reshape(len(u), width).copy()


def from_codepoints(mat: npt.NDArray[np.uint32]) -> pa.Array:
    """Inverse of `codepoints` (trailing zeros dropped)."""
    width = mat.shape[1]
    return pa.array(np.ascontiguousarray(mat).view(f"<U{width}").ravel())


def pick_column(rng: np.random.Generator, candidates: BoolArray) -> IntArray:
    """A random True column per row of a boolean matrix; -1 for rows without one."""
    score = np.where(candidates, rng.random(candidates.shape), -1.0)
    col = score.argmax(axis=1)
    return np.where(candidates.any(axis=1), col, -1)

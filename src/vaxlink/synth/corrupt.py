"""Writing identity fields into dose records, with the errors drawn for each record applied."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.synth import name_errors as ne
from vaxlink.synth.error_model import COL, INJECTED
from vaxlink.synth.names import assemble, vocabulary
from vaxlink.synth.population import Population
from vaxlink.synth.vec import (
    BoolArray,
    IntArray,
    changed,
    date_strings,
    fixed_width_strings,
    from_ymd,
    pick_column,
    replace_rows,
    ymd,
    zfill_int,
)

#: How sites write the sex: (male, female) per site style.
SEX_STYLES = (("M", "F"), ("Nam", "Nữ"), ("nam", "nữ"), ("NAM", "NỮ"), ("NAM", "NU"), ("m", "f"))
#: Share of records where the site left the sex empty (not counted as an error).
SEX_EMPTY = 0.015


def applicability(pop: Population) -> BoolArray:
    """applicable[person, type]: whether an error type can change this person's record at all."""
    v = vocabulary()
    a = np.ones((pop.size, len(INJECTED)), dtype=bool)
    a[:, COL["name_hoang_huynh"]] = np.isin(pop.family, [v.index["Hoàng"], v.index["Huỳnh"]])
    a[:, COL["name_vu_vo"]] = np.isin(pop.family, [v.index["Vũ"], v.index["Võ"]])
    a[:, COL["name_dropped_middle"]] = pop.mid1 >= 0
    a[:, COL["name_wrong_tone"]] = ne.tone_count(pop.full_name) > 0
    accented = changed(pop.full_name, ne.no_diacritics(pop.full_name))
    a[:, COL["name_no_diacritics"]] = accented
    a[:, COL["name_nfd"]] = accented
    _, m, d = ymd(pop.dob)
    a[:, COL["dob_day_month_swap"]] = (d <= 12) & (d != m)
    a[:, COL["dob_jan_first"]] = ~((m == 1) & (d == 1))
    a[:, COL["id_old_cmnd"]] = pop.old >= 0
    a[:, COL["id_relative"]] = pop.relative >= 0
    # A day of 28 or less fits every month and year a slip can make; the rest are checked.
    late = np.flatnonzero(d > 28)
    y = ymd(pop.dob[late])[0]
    for name in ("dob_month_off_by_one", "dob_month_digit", "dob_year_digit"):
        a[late, COL[name]] = (_DOB_SLIPS[name](y, m[late], d[late])[1]).any(axis=1)
    return a


def _step(
    flags: BoolArray, col: int, values: pa.Array, fn: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """Apply `fn` to the rows flagged `col`; unflag rows it left unchanged."""
    rows = np.flatnonzero(flags[:, col])
    if len(rows) == 0:
        return values
    before = values.take(pa.array(rows))
    after = fn(before)
    flags[rows[~changed(before, after)], col] = False
    return replace_rows(values, rows, after)


def _name_form(
    rng: np.random.Generator, pop: Population, person: IntArray, flags: BoolArray
) -> tuple[IntArray, pa.Array]:
    """Rows with a word-level name error and their rewritten names."""
    form_cols = [COL[c] for c in ("name_hoang_huynh", "name_vu_vo", "name_dropped_middle",
                                  "name_reversed_order")]  # fmt: skip
    rows = np.flatnonzero(flags[:, form_cols].any(axis=1))
    p = person[rows]
    v = vocabulary()
    fam, m1, m2, giv = pop.family[p], pop.mid1[p].copy(), pop.mid2[p].copy(), pop.given[p]
    for a, b, col in (("Hoàng", "Huỳnh", "name_hoang_huynh"), ("Vũ", "Võ", "name_vu_vo")):
        on = flags[rows, COL[col]]
        ia, ib = v.index[a], v.index[b]
        fam = np.where(on & (fam == ia), ib, np.where(on & (fam == ib), ia, fam))
    drop = flags[rows, COL["name_dropped_middle"]]
    u = rng.random(len(rows))
    two = m2 >= 0
    # "Nguyễn Thị Thu Hà" is most often shortened to "Nguyễn Thu Hà".
    first_only = drop & two & (u < 0.6)
    second_only = drop & two & (u >= 0.6) & (u < 0.8)
    both = drop & ~first_only & ~second_only
    m1 = np.where(first_only, m2, np.where(both, -1, m1))
    m2 = np.where(drop, -1, m2)
    rev = pa.array(flags[rows, COL["name_reversed_order"]])
    written = pc.if_else(
        rev, assemble(fam, m1, m2, giv, given_first=True), assemble(fam, m1, m2, giv)
    )
    return rows, written


def write_names(
    rng: np.random.Generator, pop: Population, person: IntArray, flags: BoolArray
) -> pa.Array:
    """full_name as written: the registry name with the record's name errors applied."""
    names = pop.full_name.take(pa.array(person))
    rows, written = _name_form(rng, pop, person, flags)
    if len(rows):
        same = ~changed(names.take(pa.array(rows)), written)
        for c in ("name_hoang_huynh", "name_vu_vo", "name_dropped_middle", "name_reversed_order"):
            flags[rows[same], COL[c]] = False
        names = replace_rows(names, rows, written)
    steps: tuple[tuple[str, Callable[[pa.Array], pa.Array]], ...] = (
        ("name_wrong_tone", lambda x: ne.wrong_tone(rng, x)),
        ("name_typo", lambda x: ne.typo(rng, x)),
        ("name_no_diacritics", ne.no_diacritics),
        ("name_case_spacing", lambda x: ne.case_spacing(rng, x)),
        ("name_nfd", ne.nfd),
    )
    for name, fn in steps:
        names = _step(flags, COL[name], names, fn)
    return names


#: Years a date-of-birth typo may produce: plausible for someone vaccinated as a teenager or adult.
DOB_YEAR_RANGE = (1920, 2009)
_Candidates = tuple[tuple[IntArray, IntArray, IntArray], BoolArray]


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _month_length(y: IntArray, m: IntArray) -> IntArray:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    return np.asarray(_DAYS_IN_MONTH[m] + ((m == 2) & leap), dtype=np.int64)


def _one_digit_apart(a: IntArray, b: IntArray) -> BoolArray:
    """Two-digit numbers written DD/MM that differ in exactly one of the two digits."""
    return np.asarray((a // 10 == b // 10) != (a % 10 == b % 10), dtype=bool)


def _wide(x: IntArray, k: int) -> IntArray:
    return np.repeat(x[:, None], k, axis=1)


def _day_off_by_one(y: IntArray, m: IntArray, d: IntArray) -> _Candidates:
    cd = d[:, None] + np.array([-1, 1])
    ok = (cd >= 1) & (cd <= _month_length(y, m)[:, None])
    return (_wide(y, 2), _wide(m, 2), cd), ok


def _day_digit(y: IntArray, m: IntArray, d: IntArray) -> _Candidates:
    cd = np.broadcast_to(np.arange(1, 32), (len(d), 31)).copy()
    ok = (cd <= _month_length(y, m)[:, None]) & _one_digit_apart(d[:, None], cd)
    return (_wide(y, 31), _wide(m, 31), cd), ok


def _months(y: IntArray, m: IntArray, d: IntArray, near: BoolArray) -> _Candidates:
    cm = np.broadcast_to(np.arange(1, 13), (len(m), 12)).copy()
    lengths = _month_length(np.repeat(y, 12), cm.ravel()).reshape(len(m), 12)
    ok = near & (cm != m[:, None]) & (d[:, None] <= lengths)
    return (_wide(y, 12), cm, _wide(d, 12)), ok


def _month_off_by_one(y: IntArray, m: IntArray, d: IntArray) -> _Candidates:
    near = np.abs(np.arange(1, 13)[None, :] - m[:, None]) == 1
    return _months(y, m, d, near)


def _month_digit(y: IntArray, m: IntArray, d: IntArray) -> _Candidates:
    return _months(y, m, d, _one_digit_apart(m[:, None], np.arange(1, 13)[None, :]))


def _year_digit(y: IntArray, m: IntArray, d: IntArray) -> _Candidates:
    """The tens or the units digit of the year typed as another digit (1985 -> 1995, 1988)."""
    digit = np.arange(10)
    tens = (y // 100 * 100 + y % 10)[:, None] + digit * 10
    units = (y // 10 * 10)[:, None] + digit
    cy = np.concatenate([tens, units], axis=1)
    lo, hi = DOB_YEAR_RANGE
    n = cy.shape[1]
    lengths = _month_length(cy.ravel(), np.repeat(m, n)).reshape(len(y), n)
    ok = (cy != y[:, None]) & (cy >= lo) & (cy <= hi) & (d[:, None] <= lengths)
    return (cy, _wide(m, n), _wide(d, n)), ok


#: Date slips as candidate dates (year, month, day matrices) and which are allowed; one is
#: picked at random per record. Each changes its own field only, and keeps a real date.
_DOB_SLIPS: dict[str, Callable[[IntArray, IntArray, IntArray], _Candidates]] = {
    "dob_day_off_by_one": _day_off_by_one,
    "dob_day_digit": _day_digit,
    "dob_month_off_by_one": _month_off_by_one,
    "dob_month_digit": _month_digit,
    "dob_year_digit": _year_digit,
}


def write_dobs(
    rng: np.random.Generator, dob: IntArray, style: IntArray, flags: BoolArray
) -> pa.Array:
    """date_of_birth as written in the site's date style, with the record's date errors."""
    days = dob.copy()
    y, m, d = ymd(days)
    days = np.where(flags[:, COL["dob_day_month_swap"]], from_ymd(y, d, m), days)
    days = np.where(
        flags[:, COL["dob_jan_first"]], from_ymd(y, np.ones_like(m), np.ones_like(d)), days
    )
    delta = np.where(rng.random(len(days)) < 0.5, -1, 1)
    days = np.where(flags[:, COL["dob_year_off_by_one"]], from_ymd(y + delta, m, d), days)
    for name, slip in _DOB_SLIPS.items():
        rows = np.flatnonzero(flags[:, COL[name]])
        if len(rows) == 0:
            continue
        (cy, cm, cd), ok = slip(y[rows], m[rows], d[rows])
        pick = pick_column(rng, ok)
        none = pick < 0
        flags[rows[none], COL[name]] = False
        rows, pick = rows[~none], pick[~none]
        r = np.arange(len(rows))
        days[rows] = from_ymd(cy[~none][r, pick], cm[~none][r, pick], cd[~none][r, pick])
    other = np.where(style == 0, np.where(rng.random(len(days)) < 0.7, 1, 2), 0)
    st = np.where(flags[:, COL["dob_format_variant"]], other, style)
    st = np.where(flags[:, COL["dob_year_only"]], 3, st)
    return date_strings(days, st)


def _digits(values: IntArray, width: int) -> IntArray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _wrong_digit(rng: np.random.Generator, cid: IntArray) -> pa.Array:
    dg = _digits(cid, 12)
    r = np.arange(len(cid))
    pos = rng.integers(0, 12, len(cid))
    dg[r, pos] = (dg[r, pos] + rng.integers(1, 10, len(cid))) % 10
    return fixed_width_strings((dg + 48).astype(np.uint8))


def _transposed(rng: np.random.Generator, cid: IntArray) -> pa.Array:
    dg = _digits(cid, 12)
    p = np.maximum(pick_column(rng, dg[:, :-1] != dg[:, 1:]), 0)
    r = np.arange(len(cid))
    dg[r, p], dg[r, p + 1] = dg[r, p + 1], dg[r, p].copy()
    return fixed_width_strings((dg + 48).astype(np.uint8))


#: Share of dropped ID digits that are the last one (the rest: any other position alike).
DROPPED_LAST = 0.4
#: Share of added ID digits that repeat their neighbour (a key pressed twice).
ADDED_DOUBLED = 0.6


def _dropped_digit(rng: np.random.Generator, cid: IntArray) -> pa.Array:
    """The 12 digits with one left out: 11 digits."""
    n = len(cid)
    dg = _digits(cid, 12)
    pos = np.where(rng.random(n) < DROPPED_LAST, 11, rng.integers(0, 11, n))
    cols = np.arange(11)
    src = cols[None, :] + (cols[None, :] >= pos[:, None])
    return fixed_width_strings((np.take_along_axis(dg, src, axis=1) + 48).astype(np.uint8))


def _added_digit(rng: np.random.Generator, cid: IntArray) -> pa.Array:
    """The 12 digits with one more typed before position `pos` (0..12): 13 digits."""
    n = len(cid)
    dg = _digits(cid, 12)
    r = np.arange(n)
    pos = rng.integers(0, 13, n)
    neighbour = dg[r, np.maximum(pos - 1, 0)]
    extra = np.where(rng.random(n) < ADDED_DOUBLED, neighbour, rng.integers(0, 10, n))
    cols = np.arange(13)
    src = np.minimum(cols[None, :] - (cols[None, :] > pos[:, None]), 11)
    out = np.take_along_axis(dg, src, axis=1)
    out[r, pos] = extra
    return fixed_width_strings((out + 48).astype(np.uint8))


def _spaces(rng: np.random.Generator, x: pa.Array) -> pa.Array:
    kind = rng.choice(4, size=len(x), p=[0.4, 0.25, 0.2, 0.15])
    options = [
        pc.utf8_rtrim_whitespace(pc.replace_substring_regex(x, r"(\d{3})", r"\1 ")),
        pc.utf8_rtrim_whitespace(pc.replace_substring_regex(x, r"(\d{4})", r"\1 ")),
        pc.binary_join_element_wise(x, " ", ""),
        pc.binary_join_element_wise(" ", x, ""),
    ]
    out = options[0]
    for i in range(1, 4):
        out = pc.if_else(pa.array(kind == i), options[i], out)
    return out


def write_ids(
    rng: np.random.Generator, pop: Population, person: IntArray, flags: BoolArray
) -> pa.Array:
    """id_number as written: the person's CCCD unless the record's ID error says otherwise."""
    cid = pop.cid[person]
    out = pop.citizen_id.take(pa.array(person))
    registered = np.flatnonzero(pop.in_registry)

    def other(rows: IntArray) -> pa.Array:
        """A housemate's ID most of the time, else a stranger's from the registry."""
        p = person[rows]
        i = rng.integers(0, len(registered), len(rows))
        stranger = np.where(
            registered[i] == p, registered[(i + 1) % len(registered)], registered[i]
        )
        pick = np.where(
            (pop.housemate[p] >= 0) & (rng.random(len(rows)) < 0.7), pop.housemate[p], stranger
        )
        return pop.citizen_id.take(pa.array(pick))

    by_rows: dict[str, Callable[[IntArray], pa.Array]] = {
        "id_wrong_digit": lambda r: _wrong_digit(rng, cid[r]),
        "id_transposed": lambda r: _transposed(rng, cid[r]),
        "id_lost_leading_zeros": lambda r: pa.array(cid[r]).cast(pa.string()),
        "id_old_cmnd": lambda r: zfill_int(pop.old[person[r]], 9),
        "id_missing": lambda r: pa.nulls(len(r), pa.string()),
        "id_other_person": other,
        "id_dropped_digit": lambda r: _dropped_digit(rng, cid[r]),
        "id_added_digit": lambda r: _added_digit(rng, cid[r]),
        "id_relative": lambda r: pop.citizen_id.take(pa.array(pop.relative[person[r]])),
    }
    for name, fn in by_rows.items():
        col = COL[name]
        rows = np.flatnonzero(flags[:, col])
        if len(rows) == 0:
            continue
        after = fn(rows)
        before = out.take(pa.array(rows))
        flags[rows[~changed(before, after)], col] = False
        out = replace_rows(out, rows, after)
    return _step(flags, COL["id_spaces"], out, lambda x: _spaces(rng, x))


def write_sex(
    rng: np.random.Generator, sex: IntArray, style: IntArray, flags: BoolArray
) -> pa.Array:
    """sex as the site writes it; sometimes the opposite one (an error) or nothing (not one)."""
    wrong = flags[:, COL["sex_wrong"]]
    s = np.where(wrong, 1 - sex, sex)
    words = pa.array([w for pair in SEX_STYLES for w in pair], pa.string())
    empty = (rng.random(len(sex)) < SEX_EMPTY) & ~wrong
    return words.take(pa.array(style * 2 + s, mask=empty))

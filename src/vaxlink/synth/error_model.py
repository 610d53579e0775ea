"""Which errors a dose record gets: the error types, their weights, conflicts and the draw."""

from __future__ import annotations

from typing import Final

import numpy as np

from vaxlink.synth.vec import BoolArray, FloatArray, IntArray, choice, row_choice

#: Injected error type -> relative weight when a record is dirty (before applicability).
WEIGHTS: Final[dict[str, float]] = {
    "name_no_diacritics": 5.0,
    "name_wrong_tone": 2.0,
    "name_typo": 3.0,
    "name_dropped_middle": 1.6,
    "name_hoang_huynh": 12.0,  # only for people named Hoàng or Huỳnh
    "name_vu_vo": 12.0,  # only for people named Vũ or Võ
    "name_reversed_order": 0.8,
    "name_nfd": 1.5,
    "name_case_spacing": 4.0,
    "dob_day_month_swap": 3.5,  # only when the day is 12 or less and differs from the month
    "dob_year_only": 1.0,
    "dob_jan_first": 1.0,
    "dob_year_off_by_one": 1.2,
    "dob_format_variant": 2.0,
    # Date slips of the keyboard, as registers show them (docs/formats.md §5 says what these
    # assumed weights rest on): a day typed one off, one digit of the day, month or year typed wrong.
    "dob_day_off_by_one": 1.5,
    "dob_day_digit": 1.0,
    "dob_month_off_by_one": 0.6,
    "dob_month_digit": 0.5,
    "dob_year_digit": 0.8,
    "id_wrong_digit": 2.5,
    "id_transposed": 1.5,
    "id_lost_leading_zeros": 2.0,
    "id_spaces": 1.5,
    "id_old_cmnd": 4.0,  # only for people holding an old 9-digit CMND
    "id_missing": 2.5,
    "id_other_person": 1.0,
    "id_dropped_digit": 1.5,  # any position; most often the last (the box ran out, or haste)
    "id_added_digit": 0.8,  # a digit typed twice, or a stray one
    "id_relative": 0.8,  # a parent's, child's or spouse's ID from the same household
    "sex_wrong": 1.0,
}

#: Errors that come together more often than chance: drawn as one unit, each member written to
#: truth's `errors` column under its own name. Someone who comes without papers is often written
#: down by the short name they go by ("Nguyễn Hà" for Nguyễn Thị Thu Hà).
COMBOS: Final[dict[tuple[str, ...], float]] = {
    ("name_dropped_middle", "id_missing"): 0.6,
}

#: Record-level conditions that are not injected errors but are reported in the same column.
NOT_IN_REGISTRY: Final = "not_in_registry"
INVALID_TYPES: Final[tuple[str, ...]] = (
    "invalid_future_date",
    "invalid_unknown_vaccine",
    "invalid_empty_name",
)

#: Every value that can appear in truth's `errors` column, in the order it is written.
ERROR_TYPES: Final[tuple[str, ...]] = (*WEIGHTS, NOT_IN_REGISTRY, *INVALID_TYPES)

INJECTED: Final[tuple[str, ...]] = tuple(WEIGHTS)
COL: Final[dict[str, int]] = {name: i for i, name in enumerate(INJECTED)}

#: How many errors a dirty record carries: 1, 2 or 3.
ERRORS_PER_DIRTY_RECORD: Final = (0.77, 0.19, 0.04)
#: Chance that a dirty record repeats the person's habitual mistake (the same site, the same form).
HABIT: Final = 0.4

_NAME_FORM = ("name_hoang_huynh", "name_vu_vo", "name_dropped_middle", "name_reversed_order")
_NAME_MARKS = ("name_no_diacritics", "name_wrong_tone", "name_nfd")
_DOB_VALUE = (
    "dob_day_month_swap", "dob_jan_first", "dob_year_off_by_one", "dob_day_off_by_one",
    "dob_day_digit", "dob_month_off_by_one", "dob_month_digit", "dob_year_digit",
)  # fmt: skip
_ID_VALUE = (
    "id_wrong_digit", "id_transposed", "id_lost_leading_zeros", "id_old_cmnd", "id_missing",
    "id_other_person", "id_dropped_digit", "id_added_digit", "id_relative",
)  # fmt: skip


def _conflicts() -> BoolArray:
    """conflict[a, b]: a record cannot carry both a and b (each type conflicts with itself)."""
    t = len(INJECTED)
    c = np.eye(t, dtype=bool)

    def exclusive(names: tuple[str, ...]) -> None:
        idx = [COL[n] for n in names]
        c[np.ix_(idx, idx)] = True

    # A family name misheard and a middle name left out do come together; a reversed order is
    # written from the whole name.
    exclusive(("name_hoang_huynh", "name_vu_vo", "name_reversed_order"))
    exclusive(("name_dropped_middle", "name_reversed_order"))
    exclusive(_NAME_MARKS)
    exclusive((*_DOB_VALUE, "dob_year_only"))
    exclusive(("dob_year_only", "dob_format_variant"))
    exclusive(_ID_VALUE)
    for a in ("id_lost_leading_zeros", "id_missing"):
        exclusive((a, "id_spaces"))
    return c


CONFLICTS: Final[BoolArray] = _conflicts()

#: What the draw picks from: every error type alone, then every combination (rows x types).
MEMBERS: Final[BoolArray] = np.vstack([
    np.eye(len(INJECTED), dtype=bool),
    np.array([[name in combo for name in INJECTED] for combo in COMBOS], dtype=bool).reshape(
        len(COMBOS), len(INJECTED)
    ),
])  # fmt: skip
_OPTION_WEIGHTS = np.array([*WEIGHTS.values(), *COMBOS.values()], dtype=np.float64)
#: An option rules out every option one of whose members conflicts with one of its own.
_OPTION_CONFLICTS: Final[BoolArray] = (
    MEMBERS.astype(np.int64) @ CONFLICTS.astype(np.int64) @ MEMBERS.T.astype(np.int64)
) > 0


def _option_weights(applicable: BoolArray) -> FloatArray:
    """Weight of each option per row: zero unless every member type applies to the row."""
    w = np.empty((len(applicable), len(MEMBERS)), dtype=np.float64)
    np.multiply(applicable, _OPTION_WEIGHTS[: len(INJECTED)], out=w[:, : len(INJECTED)])
    for i, combo in enumerate(COMBOS, start=len(INJECTED)):
        fits = applicable[:, [COL[c] for c in combo]].all(axis=1)
        w[:, i] = fits * _OPTION_WEIGHTS[i]
    return w


def draw(rng: np.random.Generator, applicable: BoolArray, habit: IntArray) -> BoolArray:
    """Error flags (rows x types) for dirty rows, given which types apply to each row."""
    n = len(applicable)
    w = _option_weights(applicable)
    flags = np.zeros_like(applicable)
    k = 1 + choice(rng, ERRORS_PER_DIRTY_RECORD, n)
    rows = np.arange(n)
    pick = row_choice(rng, w)
    use_habit = (rng.random(n) < HABIT) & (habit >= 0)
    pick = np.where(use_habit, habit, pick)
    for j in range(3):
        if j > 0:
            active = np.flatnonzero(k > j)
            rows, pick = active, row_choice(rng, w[active])
        ok = pick >= 0
        rows, pick = rows[ok], pick[ok]
        flags[rows] |= MEMBERS[pick]
        w[rows] *= ~_OPTION_CONFLICTS[pick]
    return flags


def habits(rng: np.random.Generator, applicable: BoolArray) -> IntArray:
    """Each person's habitual mistake (an option of `MEMBERS`), should their records be dirty."""
    return row_choice(rng, _option_weights(applicable))

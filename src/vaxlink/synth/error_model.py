"""Which errors a dose record gets: the error types, their weights, conflicts and the draw."""

from __future__ import annotations

from typing import Final

import numpy as np

from vaxlink.synth.vec import BoolArray, IntArray, choice, row_choice

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
    "id_wrong_digit": 2.5,
    "id_transposed": 1.5,
    "id_lost_leading_zeros": 2.0,
    "id_spaces": 1.5,
    "id_old_cmnd": 4.0,  # only for people holding an old 9-digit CMND
    "id_missing": 2.5,
    "id_other_person": 1.0,
    "sex_wrong": 1.0,
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
_DOB_VALUE = ("dob_day_month_swap", "dob_jan_first", "dob_year_off_by_one")
_ID_VALUE = (
    "id_wrong_digit", "id_transposed", "id_lost_leading_zeros", "id_old_cmnd", "id_missing",
    "id_other_person",
)  # fmt: skip


def _conflicts() -> BoolArray:
    """conflict[a, b]: a record cannot carry both a and b (each type conflicts with itself)."""
    t = len(INJECTED)
    c = np.eye(t, dtype=bool)

    def exclusive(names: tuple[str, ...]) -> None:
        idx = [COL[n] for n in names]
        c[np.ix_(idx, idx)] = True

    exclusive(_NAME_FORM)
    exclusive(_NAME_MARKS)
    exclusive((*_DOB_VALUE, "dob_year_only"))
    exclusive(("dob_year_only", "dob_format_variant"))
    exclusive(_ID_VALUE)
    for a in ("id_lost_leading_zeros", "id_missing"):
        exclusive((a, "id_spaces"))
    return c


CONFLICTS: Final[BoolArray] = _conflicts()


def draw(rng: np.random.Generator, applicable: BoolArray, habit: IntArray) -> BoolArray:
    """Error flags (rows x types) for dirty rows, given which types apply to each row."""
    n = len(applicable)
    w = applicable.astype(np.float64) * np.array(list(WEIGHTS.values()), dtype=np.float64)
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
        flags[rows, pick] = True
        w[rows] *= ~CONFLICTS[pick]
    return flags


def habits(rng: np.random.Generator, applicable: BoolArray) -> IntArray:
    """Each person's habitual mistake, should their records be dirty."""
    w = applicable.astype(np.float64) * np.array(list(WEIGHTS.values()), dtype=np.float64)
    return row_choice(rng, w)

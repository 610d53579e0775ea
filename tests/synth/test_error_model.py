"""The widened error model: the new slips come at their weights, from the right people, and
combine the way registers show (a missing ID with a short name)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from vaxlink.synth import SynthResult, generate
from vaxlink.synth.error_model import (
    COL,
    COMBOS,
    CONFLICTS,
    INJECTED,
    MEMBERS,
    WEIGHTS,
    draw,
)
from vaxlink.synth.population import RELATIONS, make_population

Row = dict[str, Any]


@pytest.fixture(scope="module")
def result() -> SynthResult:
    return generate(40_000, seed=31)


@pytest.fixture(scope="module")
def rows(result: SynthResult) -> list[tuple[Row, Row]]:
    return list(zip(result.doses.to_pylist(), result.truth.to_pylist(), strict=True))


@pytest.fixture(scope="module")
def counts(rows: list[tuple[Row, Row]]) -> Counter[str]:
    return Counter(e for _, t in rows if t["errors"] for e in t["errors"].split(";"))


#: Types that apply to (nearly) every record, each with a reference type of the same conflict
#: group and the same applicability: their counts must stand in the ratio of their weights.
SAME_FOOTING = {
    "dob_day_off_by_one": "dob_year_off_by_one",
    "dob_day_digit": "dob_year_off_by_one",
    "dob_month_off_by_one": "dob_year_off_by_one",
    "dob_month_digit": "dob_year_off_by_one",
    "dob_year_digit": "dob_year_off_by_one",
    "id_dropped_digit": "id_wrong_digit",
    "id_added_digit": "id_wrong_digit",
}


@pytest.mark.parametrize("error", sorted(SAME_FOOTING))
def test_new_type_comes_at_its_weight(counts: Counter[str], error: str) -> None:
    ref = SAME_FOOTING[error]
    want = WEIGHTS[error] / WEIGHTS[ref]
    got = counts[error] / counts[ref]
    assert abs(got / want - 1) < 0.25, (error, got, want)


def test_draw_follows_weights_exactly() -> None:
    """The draw itself, without habits or writers: first picks in the ratio of the weights."""
    rng = np.random.default_rng(3)
    n = 200_000
    flags = draw(rng, np.ones((n, len(INJECTED)), dtype=bool), np.full(n, -1))
    share = flags.sum(axis=0) / n
    for a, b in (("id_dropped_digit", "id_wrong_digit"), ("dob_day_digit", "dob_jan_first"),
                 ("id_relative", "id_other_person"), ("dob_month_digit", "dob_year_only")):  # fmt: skip
        want = WEIGHTS[a] / WEIGHTS[b]
        assert abs(share[COL[a]] / share[COL[b]] / want - 1) < 0.08, (a, b)


def test_dropped_digit_is_often_the_last(rows: list[tuple[Row, Row]]) -> None:
    last = other = 0
    for d, t in rows:
        if t["errors"] == "id_dropped_digit":
            last += d["id_number"] == t["citizen_id"][:11]
            other += d["id_number"] != t["citizen_id"][:11]
    # 40 % the last digit, plus drops elsewhere that read the same (a repeated digit).
    assert 0.35 < last / (last + other) < 0.6


def test_relative_is_a_family_member(result: SynthResult, rows: list[tuple[Row, Row]]) -> None:
    registry = {r["citizen_id"]: r for r in result.registry.to_pylist()}
    same_home = family = seen = 0
    for d, t in rows:
        if t["errors"] != "id_relative" or not t["in_registry"]:
            continue
        them, me = registry.get(d["id_number"]), registry[t["citizen_id"]]
        if them is None:  # the relative is missing from the registry
            continue
        seen += 1
        same_home += them["address"] == me["address"]
        gap = abs(int(them["date_of_birth"][:4]) - int(me["date_of_birth"][:4]))
        family += gap >= 16 or (them["sex"] != me["sex"] and gap <= 16)
    assert seen > 100
    assert same_home == seen
    assert family / seen > 0.7  # the rest: a housemate, where no family member lives


def test_relatives_are_parents_children_and_spouses() -> None:
    pop = make_population(np.random.default_rng(5), 20_000, 0)
    has = pop.relative >= 0
    assert (pop.household[pop.relative[has]] == pop.household[has]).all()
    assert (pop.relative[has] != np.flatnonzero(has)).all()
    assert ((pop.housemate >= 0) == has).all()
    kind = np.array(RELATIONS)[pop.relation]
    age, rel = pop.age, pop.relative
    parent = np.flatnonzero(kind == "parent")
    assert len(parent) > 1000
    assert (age[rel[parent]] >= age[parent] + 17).all()
    child = np.flatnonzero(kind == "child")
    assert len(child) > 500
    assert (age[rel[child]] <= age[child] - 17).all()
    spouse = np.flatnonzero(kind == "spouse")
    assert len(spouse) > 1000
    assert (pop.sex[rel[spouse]] != pop.sex[spouse]).all()
    assert (np.abs(age[rel[spouse]] - age[spouse]) <= 15).all()
    # Most people who live with others have a parent, child or spouse among them.
    assert np.isin(kind[has], ["parent", "child", "spouse"]).mean() > 0.6


def test_missing_id_comes_with_a_short_name(rows: list[tuple[Row, Row]]) -> None:
    missing = [set(t["errors"].split(";")) for _, t in rows if "id_missing" in t["errors"]]
    both = sum("name_dropped_middle" in e for e in missing) / len(missing)
    # Far more often than the two would meet by chance (about 1 %).
    assert 0.08 < both < 0.35, both
    pairs = [d for d, t in rows if t["errors"] == "name_dropped_middle;id_missing"]
    assert len(pairs) > 30
    assert all(d["id_number"] is None for d in pairs)


def test_combos_are_allowed_together() -> None:
    for combo in COMBOS:
        idx = [COL[c] for c in combo]
        assert not CONFLICTS[np.ix_(idx, idx)][~np.eye(len(idx), dtype=bool)].any(), combo
    assert MEMBERS.shape == (len(INJECTED) + len(COMBOS), len(INJECTED))
    # Realistic combinations the draw may make across fields and within the name.
    for a, b in (("id_dropped_digit", "dob_day_off_by_one"), ("id_relative", "name_no_diacritics"),
                 ("dob_day_digit", "dob_format_variant"), ("id_added_digit", "id_spaces"),
                 ("name_dropped_middle", "name_hoang_huynh"), ("id_missing", "dob_year_digit")):  # fmt: skip
        assert not CONFLICTS[COL[a], COL[b]], (a, b)


def test_dates_stay_real_dates_in_range(rows: list[tuple[Row, Row]]) -> None:
    import datetime as dt

    for d, t in rows:
        if any(e.startswith("dob_") for e in t["errors"].split(";")) and "/" in d["date_of_birth"]:
            day, month, year = (int(x) for x in d["date_of_birth"].split("/"))
            dt.date(year, month, day)  # raises if the slip made an impossible date
            assert 1919 <= year <= 2010

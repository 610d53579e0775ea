"""The density options of `generate`: birthdays crowded on a few days of each year (same birth
year, same ID number), and the doses of only a share of the vaccinated people."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow.compute as pc
import pytest

from vaxlink.synth import generate
from vaxlink.synth.errors import SynthError
from vaxlink.synth.generate import birthdays_on
from vaxlink.synth.vec import day, ymd


def test_birthdays_keep_the_year_and_take_k_evenly_spread_days() -> None:
    dob = np.arange(day("1950-01-01"), day("2009-12-31") + 1, dtype=np.int64)
    moved = birthdays_on(dob, 12)
    assert (ymd(moved)[0] == ymd(dob)[0]).all()
    per_year = Counter(zip(ymd(moved)[0].tolist(), moved.tolist(), strict=True))
    days = Counter(y for y, _ in per_year)
    assert set(days.values()) == {12}
    _, m, d = ymd(moved[ymd(moved)[0] == 1990])
    assert sorted(set(m.tolist())) == list(range(1, 13))  # one day in every month, never 1 Jan
    assert not ((m == 1) & (d == 1)).any()
    assert (birthdays_on(dob, 366) == dob).all()


def test_a_crowded_registry_has_more_namesakes_born_the_same_day() -> None:
    plain = generate(3000, seed=5)
    crowded = generate(3000, seed=5, birth_days_per_year=2, dose_people_share=0.5)

    def collisions(t: object) -> int:
        keys = Counter(zip(t["full_name"].to_pylist(), t["date_of_birth"].to_pylist(), strict=True))  # type: ignore[index]
        return sum(c * (c - 1) for c in keys.values())

    assert collisions(crowded.registry) > 5 * max(collisions(plain.registry), 1)
    assert plain.registry["citizen_id"].equals(crowded.registry["citizen_id"])
    years = pc.utf8_slice_codeunits(crowded.registry["date_of_birth"], 0, 4)
    assert years.equals(pc.utf8_slice_codeunits(plain.registry["date_of_birth"], 0, 4))
    people = set(crowded.truth["person_key"].to_pylist())
    all_people = set(plain.truth["person_key"].to_pylist())
    assert people < all_people
    assert 0.4 < len(people) / len(all_people) < 0.6
    # a person's doses are kept together
    kept = Counter(crowded.truth["person_key"].to_pylist())
    every = Counter(plain.truth["person_key"].to_pylist())
    assert all(kept[p] == every[p] for p in people)


@pytest.mark.parametrize("kwargs", [{"birth_days_per_year": 0}, {"dose_people_share": 0.0}])
def test_density_options_are_checked(kwargs: dict[str, float]) -> None:
    with pytest.raises(SynthError):
        generate(100, seed=1, **kwargs)  # type: ignore[arg-type]

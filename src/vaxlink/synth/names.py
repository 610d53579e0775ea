"""The name model: one word vocabulary and vectorised draws of family, middle and given names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.synth import names_data as nd
from vaxlink.synth.vec import FloatArray, IntArray, grouped_choice, take


@dataclass(frozen=True)
class Vocabulary:
    """Every name word once; the draws below return indices into `words`."""

    words: pa.StringArray
    index: dict[str, int]
    family: IntArray
    family_north: FloatArray
    family_south: FloatArray
    middle: tuple[IntArray, IntArray]
    middle_weights: tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]
    given: tuple[IntArray, IntArray]
    given_tier: tuple[IntArray, IntArray]
    given_era: tuple[IntArray, IntArray]


def _family_weights() -> tuple[list[str], FloatArray, FloatArray]:
    top = dict(nd.FAMILY_TOP)
    tail_total = 100.0 - sum(top.values())
    tail_sum = sum(nd.FAMILY_TAIL.values())
    names = [*top, "Huỳnh", "Võ", *nd.FAMILY_TAIL]
    base = {**top, "Huỳnh": 0.0, "Võ": 0.0}
    base.update({k: v * tail_total / tail_sum for k, v in nd.FAMILY_TAIL.items()})
    north, south = dict(base), dict(base)
    # The taboo on the Nguyễn lords' names turned Hoàng into Huỳnh and Vũ into Võ in the South.
    for a, b, share_n, share_s in (("Hoàng", "Huỳnh", 0.1, 0.8), ("Vũ", "Võ", 0.1, 0.85)):
        total = top[a]
        north[a], north[b] = total * (1 - share_n), total * share_n
        south[a], south[b] = total * (1 - share_s), total * share_s
    return (
        names,
        np.array([north[k] for k in names], dtype=np.float64),
        np.array([south[k] for k in names], dtype=np.float64),
    )


@cache
def vocabulary() -> Vocabulary:
    """The word table and name distributions, built once."""
    family, north, south = _family_weights()
    mids = (list(nd.MIDDLE_MALE), list(nd.MIDDLE_FEMALE))
    givens = ([g[0] for g in nd.GIVEN_MALE], [g[0] for g in nd.GIVEN_FEMALE])
    words: list[str] = []
    for group in (family, *mids, *givens):
        for w in group:
            if w not in words:
                words.append(w)
    index = {w: i for i, w in enumerate(words)}

    def ids(names: list[str]) -> IntArray:
        return np.array([index[w] for w in names], dtype=np.int64)

    def pair(table: dict[str, tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
        return (
            np.array([v[0] for v in table.values()], dtype=np.float64),
            np.array([v[1] for v in table.values()], dtype=np.float64),
        )

    era = {"o": 0, "n": 1, "m": 2}

    def column(i: int) -> tuple[IntArray, IntArray]:
        def one(t: tuple[tuple[str, int, str], ...]) -> IntArray:
            return np.array([g[i] if i == 1 else era[str(g[i])] for g in t], dtype=np.int64)

        return one(nd.GIVEN_MALE), one(nd.GIVEN_FEMALE)

    return Vocabulary(
        words=pa.array(words, pa.string()),
        index=index,
        family=ids(family),
        family_north=north,
        family_south=south,
        middle=(ids(mids[0]), ids(mids[1])),
        middle_weights=(pair(nd.MIDDLE_MALE), pair(nd.MIDDLE_FEMALE)),
        given=(ids(givens[0]), ids(givens[1])),
        given_tier=column(1),
        given_era=column(2),
    )


def _modernity(cohort: int) -> float:
    """0 for people born before 1960, 1 for those born 2005 or later (cohorts are 5-year bands)."""
    year = 1930 + 5 * cohort + 2
    return float(np.clip((year - 1960) / 45.0, 0.0, 1.0))


def draw_names(
    rng: np.random.Generator, sex: IntArray, birth_year: IntArray, south: np.ndarray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Family, first middle, second middle (-1 if none) and given name word indices."""
    v = vocabulary()
    n = len(sex)
    fam_pos = grouped_choice(
        rng, south.astype(np.int64), lambda g: v.family_south if g else v.family_north
    )
    family = v.family[fam_pos]
    cohort = np.clip((birth_year - 1930) // 5, 0, 20)
    group = cohort * 2 + sex

    def middle_weights(g: int, *, second: bool = False) -> FloatArray:
        old, young = v.middle_weights[g % 2]
        t = _modernity(g // 2)
        w = old * (1 - t) + young * t
        if second:  # the generic Văn/Thị never comes second
            generic = np.isin(v.words.take(v.middle[g % 2]).to_pylist(), list(nd.GENERIC_MIDDLE))
            w = np.where(generic, 0.0, w)
        return np.asarray(w, dtype=np.float64)

    mid1_pos = grouped_choice(rng, group, middle_weights)
    mid2_pos = grouped_choice(rng, group, lambda g: middle_weights(g, second=True))
    mid1 = np.where(sex == 0, v.middle[0][np.minimum(mid1_pos, len(v.middle[0]) - 1)], 0)
    mid1 = np.where(sex == 1, v.middle[1][np.minimum(mid1_pos, len(v.middle[1]) - 1)], mid1)
    mid2 = np.where(sex == 0, v.middle[0][np.minimum(mid2_pos, len(v.middle[0]) - 1)], 0)
    mid2 = np.where(sex == 1, v.middle[1][np.minimum(mid2_pos, len(v.middle[1]) - 1)], mid2)
    t = np.clip((birth_year - 1960) / 45.0, 0.0, 1.0)
    two = rng.random(n) < 0.06 + 0.2 * t
    mid2 = np.where(two & (mid2 != mid1), mid2, -1)
    none = rng.random(n) < 0.01
    mid1 = np.where(none, -1, mid1)
    mid2 = np.where(none, -1, mid2)

    def given_weights(g: int) -> FloatArray:
        s = g % 2
        tier = v.given_tier[s]
        era = v.given_era[s]
        rank = np.arange(len(tier))
        w = np.select([tier == 1, tier == 2], [12.0, 3.0], 1.0) * (1 + rank / 4) ** -0.7
        m = _modernity(g // 2)
        old_f = 1.8 - 1.55 * m
        new_f = 0.1 + 2.4 * m
        return np.asarray(w * np.select([era == 0, era == 2], [old_f, new_f], 1.0), np.float64)

    given_pos = grouped_choice(rng, group, given_weights)
    given = np.where(
        sex == 0,
        v.given[0][np.minimum(given_pos, len(v.given[0]) - 1)],
        v.given[1][np.minimum(given_pos, len(v.given[1]) - 1)],
    )
    return family, mid1, mid2, given


def assemble(
    family: IntArray, mid1: IntArray, mid2: IntArray, given: IntArray, *, given_first: bool = False
) -> pa.Array:
    """Full names from word indices (-1 words are left out), family name first by default."""
    w = vocabulary().words
    parts = [take(w, family), take(w, mid1), take(w, mid2), take(w, given)]
    if given_first:
        parts = [parts[3], *parts[:3]]
    return pc.binary_join_element_wise(*parts, " ", null_handling="skip")

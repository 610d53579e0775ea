"""The synthetic population: demography, households, names, ID numbers, phones and addresses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.synth.admin import PROVINCE_CODES, admin_units
from vaxlink.synth.names import assemble, draw_names
from vaxlink.synth.places_data import (
    CMND_PREFIX,
    MIGRATION_TARGETS,
    PHONE_PREFIXES,
    PROVINCE_POPULATION,
    SOUTH_FROM,
    STREETS,
)
from vaxlink.synth.vec import (
    BoolArray,
    FloatArray,
    IntArray,
    choice,
    day,
    take,
    unique_suffixes,
    ymd,
    zfill_int,
)

#: Ages are counted at this day (the start of the mass campaign).
REFERENCE_DAY = day("2021-07-01")

#: (first age, end age, population in millions) of Vietnam around 2019, ages 12 to 90.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (12, 15, 4.4), (15, 20, 6.6), (20, 25, 6.6), (25, 30, 7.5), (30, 35, 8.0), (35, 40, 7.6),
    (40, 45, 6.9), (45, 50, 6.2), (50, 55, 5.6), (55, 60, 5.0), (60, 65, 4.0), (65, 70, 2.9),
    (70, 75, 1.8), (75, 80, 1.2), (80, 85, 0.9), (85, 90, 0.6), (90, 91, 0.08),
)  # fmt: skip

#: Sizes of households counted over people aged 12 and over.
HOUSEHOLD_SIZES = {1: 0.2, 2: 0.28, 3: 0.25, 4: 0.16, 5: 0.07, 6: 0.04}


#: What a person's `relative` is to them (index 0: nobody, the person lives alone).
RELATIONS = ("none", "parent", "child", "spouse", "housemate")
#: Largest age gap between a household's head and the member taken for their spouse.
SPOUSE_AGE_GAP = 15


@dataclass
class Population:
    """Everyone who exists, registered or not; one row per person, arrays aligned."""

    sex: IntArray  # 0 male, 1 female
    dob: IntArray  # days since 1970-01-01
    age: FloatArray
    birth_province: IntArray
    ward: IntArray  # permanent residence, as in the registry
    current_ward: IntArray  # where the person lives during the campaign
    household: IntArray
    housemate: IntArray  # another member of the household, -1 for people living alone
    relative: IntArray  # a parent, child or spouse in the household (else a housemate), or -1
    relation: IntArray  # what `relative` is to the person: one of RELATIONS' indices
    family: IntArray
    mid1: IntArray
    mid2: IntArray
    given: IntArray
    in_registry: BoolArray
    cid: IntArray  # the citizen_id as a number
    old: IntArray  # the old_id as a number, -1 for none
    citizen_id: pa.Array
    old_id: pa.Array
    phone: pa.Array
    address: pa.Array
    full_name: pa.Array

    @property
    def size(self) -> int:
        """Number of people."""
        return len(self.sex)


def _ages(rng: np.random.Generator, n: int) -> FloatArray:
    band = choice(rng, [b[2] for b in AGE_BANDS], n)
    lo = np.array([b[0] for b in AGE_BANDS], dtype=np.float64)[band]
    hi = np.array([b[1] for b in AGE_BANDS], dtype=np.float64)[band]
    return lo + rng.random(n) * (hi - lo)


def _provinces(rng: np.random.Generator, age: FloatArray) -> tuple[IntArray, IntArray]:
    """Birth province and province of permanent residence (most people never moved)."""
    n = len(age)
    birth = choice(rng, [PROVINCE_POPULATION[c] for c in PROVINCE_CODES], n)
    index = {c: i for i, c in enumerate(PROVINCE_CODES)}
    targets = np.array([index[c] for c in MIGRATION_TARGETS], dtype=np.int64)
    moved_to = targets[choice(rng, list(MIGRATION_TARGETS.values()), n)]
    p_move = np.where((age >= 22) & (age < 50), 0.14, 0.06)
    moved = rng.random(n) < p_move
    return birth, np.where(moved, moved_to, birth)


def _households(rng: np.random.Generator, ward: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Household id per person (members share a ward), its members in order, and a housemate."""
    n = len(ward)
    order = np.lexsort((rng.random(n), ward))
    sizes = np.array(list(HOUSEHOLD_SIZES), dtype=np.int64)[
        choice(rng, list(HOUSEHOLD_SIZES.values()), n)
    ]
    starts = np.cumsum(sizes)
    starts = starts[starts < n]
    is_start = np.zeros(n, dtype=bool)
    is_start[0] = True
    is_start[starts] = True
    w = ward[order]
    is_start[1:] |= w[1:] != w[:-1]
    hh_sorted = np.cumsum(is_start) - 1
    household = np.empty(n, dtype=np.int64)
    household[order] = hh_sorted
    # The next member in the household, cycling round; people alone have none.
    first = np.flatnonzero(is_start)
    size = np.diff(np.append(first, n))
    pos = np.arange(n) - np.repeat(first, size)
    nxt_sorted = order[np.repeat(first, size) + (pos + 1) % np.repeat(size, size)]
    housemate = np.empty(n, dtype=np.int64)
    housemate[order] = np.where(np.repeat(size, size) > 1, nxt_sorted, -1)
    return household, order, housemate


def _family_ties(
    rng: np.random.Generator,
    pop_age: FloatArray,
    household: IntArray,
    order: IntArray,
    family: IntArray,
    sex: IntArray,
) -> tuple[IntArray, IntArray, BoolArray]:
    """Children take the head's family name; returns family, head per person, and child flags."""
    hh = household[order]
    age = pop_age[order]
    first = np.flatnonzero(np.r_[True, hh[1:] != hh[:-1]])
    size = np.diff(np.append(first, len(hh)))
    oldest = np.maximum.reduceat(age, first)
    is_oldest = age == np.repeat(oldest, size)
    cand = np.flatnonzero(is_oldest)
    head_pos = cand[np.searchsorted(cand, first)]
    head_sorted = order[np.repeat(head_pos, size)]
    head = np.empty(len(order), dtype=np.int64)
    head[order] = head_sorted
    child = pop_age <= pop_age[head] - 17
    p_copy = np.where(sex[head] == 0, 0.92, 0.45)
    takes = child & (rng.random(len(order)) < p_copy)
    return np.where(takes, family[head], family), head, child


def _twins(
    rng: np.random.Generator, order: IntArray, household: IntArray, child: BoolArray
) -> tuple[IntArray, IntArray]:
    """Pairs (elder, twin): consecutive children of one household, about 1 % of children."""
    hh = household[order]
    a, b = order[:-1], order[1:]
    ok = (hh[:-1] == hh[1:]) & child[a] & child[b]
    pick = ok & (rng.random(len(a)) < 0.03)
    pick[1:] &= ~pick[:-1]  # a person is twin of at most one other
    return a[pick], b[pick]


def _relatives(
    age: FloatArray,
    sex: IntArray,
    household: IntArray,
    head: IntArray,
    child: BoolArray,
    housemate: IntArray,
) -> tuple[IntArray, IntArray]:
    """Each person's closest relative in the household and the relation (RELATIONS' index).

    Households know only their head (the oldest) and who is young enough to be the head's child;
    the spouse is taken to be a member of the other sex within SPOUSE_AGE_GAP years of the head.
    Children point to the head (parent), the head to the spouse, else to a child; the spouse to
    the head; anyone else to a housemate. Deterministic: no random draws."""
    n = len(age)
    me = np.arange(n, dtype=np.int64)
    is_head = head == me
    kid = child & ~is_head
    spouse = ~is_head & ~kid & (sex != sex[head]) & (np.abs(age - age[head]) <= SPOUSE_AGE_GAP)
    n_hh = int(household.max()) + 1 if n else 0
    first_spouse = np.full(n_hh, n, dtype=np.int64)
    np.minimum.at(first_spouse, household[spouse], me[spouse])
    first_child = np.full(n_hh, n, dtype=np.int64)
    np.minimum.at(first_child, household[kid], me[kid])
    hs, hc = first_spouse[household], first_child[household]
    own_spouse = spouse & (hs == me)
    alone = np.where(housemate >= 0, 4, 0)
    head_rel = np.where(hs < n, hs, np.where(hc < n, hc, housemate))
    head_kind = np.where(hs < n, 3, np.where(hc < n, 2, alone))
    relative = np.select([kid, is_head, own_spouse], [head, head_rel, head], housemate)
    relation = np.select([kid, is_head, own_spouse], [1, head_kind, 3], alone)
    relative = np.where(relation == 0, -1, relative)
    return relative.astype(np.int64), relation.astype(np.int64)


def _ids(
    rng: np.random.Generator, birth: IntArray, sex: IntArray, year: IntArray
) -> tuple[IntArray, IntArray]:
    """12-digit CCCD (PPP + G + YY + 6 random) and the 9-digit CMND most adults still hold (-1
    for none), as integers."""
    ppp = np.array([int(c) for c in PROVINCE_CODES], dtype=np.int64)[birth]
    century = np.where(year >= 2000, 2, 0)
    prefix = ppp * 1000 + (century + sex) * 100 + year % 100
    cid = unique_suffixes(rng, prefix, 10**6)
    p_old = np.select([year < 1990, year < 2000, year < 2004], [0.93, 0.85, 0.35], 0.0)
    has_old = rng.random(len(year)) < p_old
    cmnd = np.array([int(CMND_PREFIX[c]) for c in PROVINCE_CODES], dtype=np.int64)[birth]
    old = unique_suffixes(rng, cmnd, 10**7)
    return cid, np.where(has_old, old, -1)


def id_strings(cid: IntArray, old: IntArray) -> tuple[pa.Array, pa.Array]:
    """The ID numbers as zero-padded strings (null where there is no old ID)."""
    old_s = zfill_int(np.maximum(old, 0), 9)
    return zfill_int(cid, 12), pc.if_else(pa.array(old < 0), pa.nulls(len(old), pa.string()), old_s)


def _phones(
    rng: np.random.Generator, age: FloatArray, head: IntArray, housemate: IntArray
) -> pa.Array:
    """Own mobile numbers; children and the very old often give the family phone."""
    n = len(age)
    prefixes = np.array([int(p) for p in PHONE_PREFIXES], dtype=np.int64)
    pre = prefixes[choice(rng, list(PHONE_PREFIXES.values()), n)]
    number = zfill_int(pre * 10**7 + rng.integers(0, 10**7, n), 10)
    p_own = np.select([age < 16, age < 18, age < 70, age < 80], [0.4, 0.75, 0.96, 0.8], 0.55)
    own = rng.random(n) < p_own
    family = (~own) & (housemate >= 0) & (rng.random(n) < 0.85)
    family |= own & (housemate >= 0) & (rng.random(n) < 0.04)
    src = np.where(family, head, np.arange(n))
    has = own[src] | family
    return pc.if_else(pa.array(has), number.take(pa.array(src)), pa.nulls(n, pa.string()))


def _addresses(rng: np.random.Generator, ward: IntArray, household: IntArray) -> pa.Array:
    """One free-text address per household, written the way each region writes them."""
    units = admin_units()
    n_hh = int(household.max()) + 1
    hw = np.zeros(n_hh, dtype=np.int64)
    hw[household] = ward
    prov = units.ward_province[hw]
    south = np.array([c >= SOUTH_FROM for c in PROVINCE_CODES])[prov]

    def num(lo: int, hi: int) -> pa.Array:
        return pa.array(rng.integers(lo, hi, n_hh)).cast(pa.string())

    street = take(pa.array(STREETS, pa.string()), rng.integers(0, len(STREETS), n_hh))
    house, sub = num(1, 300), num(1, 80)
    alley = pc.if_else(pa.array(south), "hẻm", "ngõ")
    plain = pc.binary_join_element_wise("Số", house, street, " ")
    slash = pc.binary_join_element_wise(
        pc.binary_join_element_wise("Số", pc.binary_join_element_wise(house, sub, "/"), " "),
        street,
        " ",
    )
    lane = pc.binary_join_element_wise(house, alley, sub, street, " ")
    style = rng.random(n_hh)
    urban = pc.if_else(
        pa.array(style < 0.55), plain, pc.if_else(pa.array(style < 0.75), slash, lane)
    )
    village_word = pc.if_else(
        pa.array(south), "Ấp", pc.if_else(pa.array(rng.random(n_hh) < 0.5), "Thôn", "Xóm")
    )
    rural = pc.binary_join_element_wise(village_word, num(1, 20), " ")
    line = pc.if_else(pa.array(units.ward_urban[hw]), urban, rural)
    full = pc.binary_join_element_wise(
        line,
        units.ward_name.take(pa.array(hw)),
        units.district_name.take(pa.array(hw)),
        units.province_name.take(pa.array(prov)),
        ", ",
    )
    return full.take(pa.array(household))


def make_population(rng: np.random.Generator, n: int, n_absent: int) -> Population:
    """`n` people, of whom `n_absent` are missing from the registry (all of them get vaccinated)."""
    units = admin_units()
    age = _ages(rng, n)
    p_female = np.select([age < 40, age < 60, age < 70, age < 80], [0.49, 0.5, 0.54, 0.58], 0.64)
    sex = (rng.random(n) < p_female).astype(np.int64)
    dob = REFERENCE_DAY - np.floor(age * 365.2425).astype(np.int64)
    birth, perm = _provinces(rng, age)
    ward = units.ward_in(rng, perm)
    household, order, housemate = _households(rng, ward)
    year = ymd(dob)[0]
    south = np.array([c >= SOUTH_FROM for c in PROVINCE_CODES])[birth]
    family, mid1, mid2, given = draw_names(rng, sex, year, south)
    family, head, child = _family_ties(rng, age, household, order, family, sex)
    elder, twin = _twins(rng, order, household, child)
    dob[twin], age[twin], birth[twin], family[twin] = (
        dob[elder],
        age[elder],
        birth[elder],
        family[elder],
    )
    same_mid = rng.random(len(twin)) < 0.6
    mid1[twin] = np.where(same_mid, mid1[elder], mid1[twin])
    year = ymd(dob)[0]
    relative, relation = _relatives(age, sex, household, head, child, housemate)
    cid, old = _ids(rng, birth, sex, year)
    citizen_id, old_id = id_strings(cid, old)
    moves = rng.random(n) < np.where((age >= 18) & (age < 45), 0.13, 0.05)
    index = {c: i for i, c in enumerate(PROVINCE_CODES)}
    targets = np.array([index[c] for c in MIGRATION_TARGETS], dtype=np.int64)
    far = np.where(
        rng.random(n) < 0.6,
        targets[choice(rng, list(MIGRATION_TARGETS.values()), n)],
        units.ward_province[ward],
    )
    current = np.where(moves, units.ward_in(rng, far), ward)
    absent = np.zeros(n, dtype=bool)
    absent[rng.choice(n, size=n_absent, replace=False)] = True
    return Population(
        sex=sex, dob=dob, age=age, birth_province=birth, ward=ward, current_ward=current,
        household=household, housemate=housemate, relative=relative, relation=relation,
        family=family, mid1=mid1, mid2=mid2,
        given=given, in_registry=~absent, cid=cid, old=old, citizen_id=citizen_id, old_id=old_id,
        phone=_phones(rng, age, head, housemate), address=_addresses(rng, ward, household),
        full_name=assemble(family, mid1, mid2, given),
    )  # fmt: skip

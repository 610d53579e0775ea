"""Who got which doses, when and where: products, schedules, facilities and lot numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.records.service import catalogue
from vaxlink.synth.admin import PROVINCE_CODES, admin_units
from vaxlink.synth.places_data import PROVINCE_POPULATION
from vaxlink.synth.population import Population
from vaxlink.synth.vec import BoolArray, IntArray, choice, day, zfill_int

#: Products in a fixed order; product indices point here.
PRODUCTS: tuple[str, ...] = (
    "Vaxzevria", "BBIBP-CorV", "Comirnaty", "Spikevax", "Abdala", "Sputnik V", "Hayat-Vax",
    "Jcovden", "Covishield",
)  # fmt: skip
PRIMARY_ADULT = (36.0, 31.0, 20.0, 5.5, 3.0, 1.8, 1.2, 0.5, 1.0)
PRIMARY_TEEN = (0, 0, 85.0, 15.0, 0, 0, 0, 0, 0)
BOOSTER = (28.0, 0, 45.0, 27.0, 0, 0, 0, 0, 0)
#: Days between primary doses: (shortest, longest).
INTERVAL = ((28, 84), (21, 35), (21, 42), (28, 42), (14, 21), (21, 28), (21, 35), (0, 0), (28, 84))
#: Lot number shapes: '#' a digit, '@' a capital letter.
LOT_SHAPES: tuple[tuple[str, ...], ...] = (
    ("ABV####", "ABW####", "MT####", "NF####", "A####"),
    ("202107B####", "202108B####", "202109B####", "202110A####", "202111A####"),
    ("F@####", "E@####", "PCA####"),
    ("0##@21A", "300####"),
    ("A####", "####@"),
    ("I-######", "II-######"),
    ("HB######",),
    ("XD###", "#######"),
    ("4121Z###", "4120Z###"),
)
CAMPAIGN_END = day("2022-12-31")
#: Dose-1 months from March 2021 and their weights, for adults and for children 12-17.
_MONTHS_ADULT = (1, 1.5, 2, 3, 12, 20, 25, 17, 9, 5, 2, 1, 0.8, 0.5, 0.3, 0.2)
_MONTHS_TEEN = (0, 0, 0, 0, 0, 0, 0, 15, 40, 25, 12, 5, 3, 0, 0, 0)


@dataclass
class Facilities:
    """Vaccination sites: code, province and the habits of the staff who enter data there."""

    code: pa.Array
    province: IntArray
    start: IntArray  # first facility of each province
    count: IntArray
    date_style: IntArray  # 0 YYYY-MM-DD, 1 DD/MM/YYYY, 2 D/M/YYYY
    sex_style: IntArray

    def pick(self, rng: np.random.Generator, province: IntArray) -> IntArray:
        """A random facility in each row's province."""
        return self.start[province] + (rng.random(len(province)) * self.count[province]).astype(
            np.int64
        )


@dataclass
class Doses:
    """One row per dose actually given, ordered as the records will be written."""

    person: IntArray
    dose_number: IntArray
    product: IntArray
    date: IntArray
    facility: IntArray
    lot: pa.Array


def make_facilities(rng: np.random.Generator, n_vaccinated: int) -> Facilities:
    """About one site per 300 vaccinated people, at least three per province."""
    pop = np.array([PROVINCE_POPULATION[c] for c in PROVINCE_CODES], dtype=np.float64)
    total = max(63 * 3, n_vaccinated // 300)
    count = np.clip(np.round(pop / pop.sum() * total), 3, 9999).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    province = np.repeat(np.arange(len(count)), count)
    numbers = np.concatenate([np.sort(rng.choice(9999, size=c, replace=False)) + 1 for c in count])
    ppp = np.array([int(c) for c in PROVINCE_CODES], dtype=np.int64)[province]
    digits = zfill_int(ppp * 10**4 + numbers, 7)
    code = pc.binary_join_element_wise("F", digits, "")
    n = len(province)
    return Facilities(
        code=code,
        province=province,
        start=start,
        count=count,
        date_style=choice(rng, [0.45, 0.42, 0.13], n),
        sex_style=choice(rng, [0.35, 0.4, 0.08, 0.07, 0.06, 0.04], n),
    )


def vaccinated(rng: np.random.Generator, pop: Population) -> BoolArray:
    """Registry people are vaccinated by age-dependent coverage; the unregistered all are."""
    a = pop.age
    cover = np.select([a < 18, a < 65, a < 80], [0.78, 0.87, 0.78], 0.6)
    return (rng.random(pop.size) < cover) | ~pop.in_registry


def _first_dates(rng: np.random.Generator, teen: BoolArray) -> IntArray:
    n = len(teen)
    months = np.arange(np.datetime64("2021-03"), np.datetime64("2022-07"))
    starts = months.astype("datetime64[D]").astype(np.int64)
    lengths = ((months + 1).astype("datetime64[D]").astype(np.int64)) - starts
    m = np.where(teen, choice(rng, _MONTHS_TEEN, n), choice(rng, _MONTHS_ADULT, n))
    d = starts[m] + (rng.random(n) * lengths[m]).astype(np.int64)
    return np.where(teen, np.maximum(d, day("2021-10-20")), d)


def _lots(rng: np.random.Generator, product: IntArray, date: IntArray) -> pa.Array:
    """Lot numbers drawn from a pool per product, roughly in the order the lots were shipped."""
    index = np.zeros(len(product), dtype=np.int64)
    pool: list[str] = []
    for p, shapes in enumerate(LOT_SHAPES):
        rows = np.flatnonzero(product == p)
        if len(rows) == 0:
            continue
        size = int(np.clip(len(rows) // 3000, 8, 2000))
        offset = len(pool)
        for _ in range(size):
            shape = shapes[int(rng.integers(0, len(shapes)))]
            digits = iter(rng.integers(0, 10, shape.count("#")).tolist())
            letters = iter(rng.integers(65, 91, shape.count("@")).tolist())
            pool.append(
                "".join(
                    str(next(digits)) if c == "#" else chr(next(letters)) if c == "@" else c
                    for c in shape
                )
            )
        d = date[rows]
        span = max(int(d.max() - d.min()), 1)
        pos = (d - d.min()) / span * (size - 1) + rng.normal(0, 1.5, len(rows))
        index[rows] = offset + np.clip(np.round(pos), 0, size - 1).astype(np.int64)
    return pa.array(pool, pa.string()).take(pa.array(index))


def _schedule(rng: np.random.Generator, age: np.ndarray) -> tuple[IntArray, IntArray, IntArray]:
    """Doses wanted, product and date per (person, dose 1..4) for vaccinated people."""
    n = len(age)
    teen = age < 18
    wanted = 1 + np.select(
        [teen, age < 50, age < 65],
        [choice(rng, [5, 80, 15, 0], n), choice(rng, [5, 40, 48, 7], n),
         choice(rng, [5, 30, 50, 15], n)],
        choice(rng, [7, 30, 43, 20], n),
    )  # fmt: skip
    primary = np.where(teen, choice(rng, PRIMARY_TEEN, n), choice(rng, PRIMARY_ADULT, n))
    n_primary = np.array([catalogue()[p].primary_doses for p in PRODUCTS], dtype=np.int64)[primary]
    booster1 = np.where(teen, PRODUCTS.index("Comirnaty"), choice(rng, BOOSTER, n))
    booster2 = np.where(rng.random(n) < 0.6, booster1, choice(rng, BOOSTER, n))
    lo = np.array([i[0] for i in INTERVAL])[primary]
    hi = np.array([i[1] for i in INTERVAL])[primary]
    product = np.zeros((n, 4), dtype=np.int64)
    date = np.zeros((n, 4), dtype=np.int64)
    date[:, 0] = _first_dates(rng, teen)
    product[:, 0] = primary
    az2 = (primary == 0) & (rng.random(n) < 0.1)  # AstraZeneca shortages: mRNA as dose 2
    mix = np.where(rng.random(n) < 0.7, PRODUCTS.index("Comirnaty"), PRODUCTS.index("Spikevax"))
    for k in range(1, 4):
        nth_booster = k + 1 - n_primary  # 1-based booster number, <= 0 while still primary
        late = np.where(rng.random(n) < 0.15, rng.exponential(30, n), 0).astype(np.int64)
        gap_primary = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64) + late
        first_b = np.maximum(
            date[:, k - 1] + rng.integers(90, 211, n), day("2021-11-20") + rng.exponential(35, n)
        )
        second_b = np.maximum(
            date[:, k - 1] + rng.integers(120, 241, n), day("2022-05-01") + rng.integers(0, 60, n)
        )
        date[:, k] = np.select(
            [nth_booster <= 0, nth_booster == 1],
            [date[:, k - 1] + gap_primary, first_b],
            second_b,
        ).astype(np.int64)
        product[:, k] = np.select(
            [nth_booster <= 0, nth_booster == 1], [primary, booster1], booster2
        )
        if k == 1:
            product[:, 1] = np.where(az2, mix, product[:, 1])
    return wanted, product, date


def make_doses(rng: np.random.Generator, pop: Population, facilities: Facilities) -> Doses:
    """Every dose given to the vaccinated people, in vaccination-date order."""
    people = np.flatnonzero(vaccinated(rng, pop))
    wanted, product, date = _schedule(rng, pop.age[people])
    units = admin_units()
    home_prov = units.ward_province[pop.current_ward[people]]
    facility = np.zeros((len(people), 4), dtype=np.int64)
    facility[:, 0] = facilities.pick(rng, home_prov)
    for k in range(1, 4):
        u = rng.random(len(people))
        elsewhere = facilities.pick(rng, np.where(u > 0.95, pop.birth_province[people], home_prov))
        facility[:, k] = np.where(u < 0.55, facility[:, k - 1], elsewhere)
    given = (np.arange(4)[None, :] < wanted[:, None]) & (date <= CAMPAIGN_END)
    given = np.cumprod(given, axis=1).astype(bool)  # a dose past the end drops the later ones
    rows, nth = np.nonzero(given)
    person = people[rows]
    d, f, p = date[rows, nth], facility[rows, nth], product[rows, nth]
    order = np.lexsort((rng.random(len(rows)), f, d))
    return Doses(
        person=person[order],
        dose_number=(nth + 1)[order],
        product=p[order],
        date=d[order],
        facility=f[order],
        lot=_lots(rng, p[order], d[order]),
    )

"""Dose records as sites write them, and the ground truth beside them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.records.service import site_spellings
from vaxlink.synth import corrupt
from vaxlink.synth.admin import PROVINCE_CODES, admin_units
from vaxlink.synth.doses import PRODUCTS, Doses, Facilities
from vaxlink.synth.error_model import (
    COL,
    INJECTED,
    INVALID_TYPES,
    NOT_IN_REGISTRY,
    draw,
    habits,
)
from vaxlink.synth.places_data import PHONE_PREFIXES
from vaxlink.synth.population import Population
from vaxlink.synth.vec import BoolArray, IntArray, choice, date_strings, from_ymd, ymd, zfill_int

DOSE_COLUMNS = (
    "record_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "province_code",
    "district_code", "ward_code", "vaccine", "lot_number", "vaccination_date", "dose_number",
    "facility_code",
)  # fmt: skip
TRUTH_COLUMNS = ("record_id", "citizen_id", "person_key", "errors", "in_registry")

#: Names written for products no catalogue knows (only in `invalid_unknown_vaccine` rows).
UNKNOWN_VACCINES = ("Nanocovax", "Covivac", "Vắc xin khác", "ARCT-154", "Không rõ")
#: Noise that is not an error of identity: missing or changed contact and place fields.
PHONE_MISSING, PHONE_OTHER, WARD_MISSING, DISTRICT_MISSING, LOT_MISSING = (
    0.10, 0.04, 0.04, 0.02, 0.015,
)  # fmt: skip


@dataclass(frozen=True)
class Shares:
    """Target shares of dirty, unregistered and invalid dose records."""

    dirty: float = 0.27
    not_in_registry: float = 0.01  # of vaccinated people
    invalid: float = 0.0015


def _spelling_table() -> tuple[pa.Array, list[IntArray], list[np.ndarray]]:
    """All site spellings in one array; per product the adult and the children's indices."""
    flat: list[str] = []
    adult: list[IntArray] = []
    child: list[np.ndarray] = []
    for key in PRODUCTS:
        names = site_spellings(key)
        kids = [n for n in names if "trẻ em" in n or n.endswith(" nhi")]
        grown = [n for n in names if n not in kids]
        start = len(flat)
        flat.extend(grown + kids)
        adult.append(np.arange(start, start + len(grown)))
        child.append(np.arange(start + len(grown), start + len(grown) + len(kids)))
    return pa.array(flat, pa.string()), adult, child


def _vaccine_names(
    rng: np.random.Generator, product: IntArray, facility: IntArray, n_fac: int, teen: BoolArray
) -> pa.Array:
    """Each site mostly keeps to its own spelling of a product; children's doses sometimes say so."""
    flat, adult, child = _spelling_table()
    out = np.zeros(len(product), dtype=np.int64)
    for p in range(len(PRODUCTS)):
        rows = np.flatnonzero(product == p)
        if len(rows) == 0:
            continue
        names = adult[p]
        w = np.array([5.0, 2.0] + [1.0] * (len(names) - 2))[: len(names)]
        preferred = names[choice(rng, w, n_fac)]
        any_site = names[choice(rng, w, len(rows))]
        out[rows] = np.where(rng.random(len(rows)) < 0.85, preferred[facility[rows]], any_site)
        if len(child[p]):
            kid = teen[rows] & (rng.random(len(rows)) < 0.3)
            pick = child[p][rng.integers(0, len(child[p]), len(rows))]
            out[rows] = np.where(kid, pick, out[rows])
    return flat.take(pa.array(out))


def _maybe_null(rng: np.random.Generator, values: pa.Array, share: float) -> pa.Array:
    gone = rng.random(len(values)) < share
    return pc.if_else(pa.array(gone), pa.nulls(len(values), values.type), values)


def _phones(rng: np.random.Generator, pop: Population, person: IntArray) -> pa.Array:
    n = len(person)
    prefixes = np.array([int(p) for p in PHONE_PREFIXES], dtype=np.int64)
    fresh = zfill_int(
        prefixes[choice(rng, list(PHONE_PREFIXES.values()), n)] * 10**7 + rng.integers(0, 10**7, n),
        10,
    )
    phone = pop.phone.take(pa.array(person))
    phone = pc.if_else(pa.array(rng.random(n) < PHONE_OTHER), fresh, phone)
    return _maybe_null(rng, phone, PHONE_MISSING)


def _error_strings(flags: BoolArray, absent: BoolArray, invalid: IntArray) -> pa.Array:
    """truth's `errors`: the names of each row's flags, ';'-joined in ERROR_TYPES order.

    Rows share few distinct sets of flags: each set is spelled once and taken per row."""
    extra = [absent, *(invalid == i for i in range(len(INVALID_TYPES)))]
    every = np.column_stack([flags, *extra])
    names = np.array([*INJECTED, NOT_IN_REGISTRY, *INVALID_TYPES], dtype=object)
    if every.shape[1] > 64:  # pragma: no cover - a key of one uint64 per row
        raise RuntimeError("more than 64 error types: widen the key of _error_strings")
    packed = np.packbits(every, axis=1, bitorder="little")
    key = np.zeros(len(every), dtype=np.uint64)
    for j in range(packed.shape[1]):  # a loop over bytes of the key, not rows
        key |= packed[:, j].astype(np.uint64) << np.uint64(8 * j)
    sets, inverse = np.unique(key, return_inverse=True)
    bits = (sets[:, None] >> np.arange(every.shape[1], dtype=np.uint64)) & np.uint64(1)
    spelled = [";".join(names[b.astype(bool)]) for b in bits]  # one per distinct set
    return pa.array(spelled, pa.string()).take(pa.array(inverse.ravel()))


def dose_tables(
    rng: np.random.Generator,
    pop: Population,
    doses: Doses,
    facilities: Facilities,
    shares: Shares,
) -> tuple[pa.Table, pa.Table]:
    """The dose records and the truth table, row for row."""
    n = len(doses.person)
    person, fac = doses.person, doses.facility
    absent = ~pop.in_registry[person]
    # The rest of the target dirty share comes from injected errors, per person propensities.
    rest = 1 - (1 - shares.dirty) / ((1 - absent.mean()) * (1 - shares.invalid))
    rest = float(np.clip(rest * 1.01, 0.0, 0.95))
    a = 1.2
    propensity = rng.beta(a, a * (1 - rest) / rest, pop.size) if rest > 0 else np.zeros(pop.size)
    dirty = np.flatnonzero(rng.random(n) < propensity[person])
    applicable = corrupt.applicability(pop)
    habit = habits(rng, applicable)
    flags = np.zeros((n, len(INJECTED)), dtype=bool)
    flags[dirty] = draw(rng, applicable[person[dirty]], habit[person[dirty]])

    invalid = np.full(n, -1, dtype=np.int64)
    bad = np.flatnonzero(rng.random(n) < shares.invalid)
    invalid[bad] = rng.integers(0, len(INVALID_TYPES), len(bad))
    empty_name = invalid == INVALID_TYPES.index("invalid_empty_name")
    flags[np.ix_(empty_name, [COL[c] for c in INJECTED if c.startswith("name_")])] = False

    full_name = corrupt.write_names(rng, pop, person, flags)
    full_name = pc.if_else(pa.array(empty_name), pa.nulls(n, pa.string()), full_name)
    style = facilities.date_style[fac]
    units = admin_units()
    ward = pop.current_ward[person]
    y, m, d = ymd(doses.date)
    future = invalid == INVALID_TYPES.index("invalid_future_date")
    vdate = np.where(future, from_ymd(y + 20, m, d), doses.date)
    vaccine = _vaccine_names(
        rng, doses.product, fac, len(facilities.province), pop.age[person] < 18
    )
    unknown = invalid == INVALID_TYPES.index("invalid_unknown_vaccine")
    vaccine = pc.if_else(
        pa.array(unknown),
        pa.array(UNKNOWN_VACCINES, pa.string()).take(
            pa.array(rng.integers(0, len(UNKNOWN_VACCINES), n))
        ),
        vaccine,
    )
    province = pa.array(PROVINCE_CODES, pa.string()).take(pa.array(units.ward_province[ward]))
    record_id = pc.binary_join_element_wise("MT", zfill_int(np.arange(1, n + 1), 9), "")
    doses_table = pa.table({
        "record_id": record_id,
        "full_name": full_name,
        "date_of_birth": corrupt.write_dobs(rng, pop.dob[person], style, flags),
        "sex": corrupt.write_sex(rng, pop.sex[person], facilities.sex_style[fac], flags),
        "id_number": corrupt.write_ids(rng, pop, person, flags),
        "phone": _phones(rng, pop, person),
        "province_code": province,
        "district_code": _maybe_null(rng, units.district_code.take(pa.array(ward)), DISTRICT_MISSING),
        "ward_code": _maybe_null(rng, units.ward_code.take(pa.array(ward)), WARD_MISSING),
        "vaccine": vaccine,
        "lot_number": _maybe_null(rng, doses.lot, LOT_MISSING),
        "vaccination_date": date_strings(vdate, np.where(style == 0, 0, 1)),
        "dose_number": pa.array(doses.dose_number, pa.int64()),
        "facility_code": facilities.code.take(pa.array(fac)),
    })  # fmt: skip
    truth = pa.table({
        "record_id": record_id,
        "citizen_id": pc.if_else(
            pa.array(absent), pa.nulls(n, pa.string()), pop.citizen_id.take(pa.array(person))
        ),
        "person_key": pc.binary_join_element_wise("P", zfill_int(person, 9), ""),
        "errors": _error_strings(flags, absent, invalid),
        "in_registry": pa.array(~absent),
    })  # fmt: skip
    return doses_table, truth

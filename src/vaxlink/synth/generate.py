"""`generate`: a registry snapshot, dirty dose records and their ground truth, for one seed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.synth.admin import PROVINCE_CODES, admin_units
from vaxlink.synth.doses import Doses, make_doses, make_facilities
from vaxlink.synth.errors import SynthError
from vaxlink.synth.population import Population, make_population
from vaxlink.synth.records import Shares, dose_tables
from vaxlink.synth.sites import site_list
from vaxlink.synth.vec import date_strings, ymd

REGISTRY_COLUMNS = (
    "citizen_id", "full_name", "date_of_birth", "sex", "province_code", "district_code",
    "ward_code", "old_id", "address", "phone",
)  # fmt: skip

#: Share of registry citizens who get vaccinated (from the age-dependent coverage).
EXPECTED_COVERAGE = 0.855
#: Dose records per registry citizen, for sizing a run by the number of doses wanted.
DOSES_PER_CITIZEN = 2.19


@dataclass(frozen=True)
class SynthResult:
    """The generated tables: `registry` (docs/formats.md §1), `doses` (§2), `truth` (row per
    dose) and `sites` (the vaccination sites the doses name, for `vaxlink facilities import`)."""

    registry: pa.Table
    doses: pa.Table
    truth: pa.Table
    seed: int
    sites: pa.Table

    def summary(self) -> dict[str, float]:
        """Counts and shares worth printing after a run."""
        errors = self.truth.column("errors")
        dirty = pc.sum(pc.not_equal(errors, "")).as_py() or 0
        in_reg = self.truth.column("in_registry")
        people = self.truth.group_by("person_key").aggregate([("in_registry", "min")])
        absent = people.num_rows - (pc.sum(people.column("in_registry_min")).as_py() or 0)
        return {
            "citizens": float(self.registry.num_rows),
            "dose_records": float(self.doses.num_rows),
            "vaccinated_people": float(people.num_rows),
            "dirty_share": dirty / max(self.doses.num_rows, 1),
            "not_in_registry_people_share": absent / max(people.num_rows, 1),
            "records_not_in_registry": float(len(in_reg) - (pc.sum(in_reg).as_py() or 0)),
        }


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per stage, so one stage's draws never shift another's."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def _registry(pop: Population) -> pa.Table:
    units = admin_units()
    rows = np.flatnonzero(pop.in_registry)
    rows = rows[np.argsort(pop.cid[rows], kind="stable")]
    idx = pa.array(rows)
    ward = pa.array(pop.ward[rows])
    return pa.table({
        "citizen_id": pop.citizen_id.take(idx),
        "full_name": pop.full_name.take(idx),
        "date_of_birth": date_strings(pop.dob[rows], np.zeros(len(rows), dtype=np.int64)),
        "sex": pa.array(np.array(["M", "F"])[pop.sex[rows]], pa.string()),
        "province_code": pa.array(PROVINCE_CODES, pa.string()).take(
            pa.array(units.ward_province[pop.ward[rows]])
        ),
        "district_code": units.district_code.take(ward),
        "ward_code": units.ward_code.take(ward),
        "old_id": pop.old_id.take(idx),
        "address": pop.address.take(idx),
        "phone": pop.phone.take(idx),
    })  # fmt: skip


def birthdays_on(dob: np.ndarray, days_per_year: int) -> np.ndarray:
    """Each date of birth moved to the middle of its `days_per_year`-th of its own year: the
    year (and so the ID number's birth year, ages within a year) stays, the day of the year is
    one of `days_per_year` evenly spread days. People born on one day become about
    365 / `days_per_year` times as many: a small registry as crowded per birthday as a large one.
    """
    year = ymd(dob)[0]
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    length = (year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    length -= jan1
    k = np.minimum(days_per_year, length)
    slot = (dob - jan1) * k // length
    return np.asarray(jan1 + (2 * slot + 1) * length // (2 * k), dtype=np.int64)


def _some_people(doses: Doses, rng: np.random.Generator, share: float) -> Doses:
    """The doses of a random `share` of the vaccinated people (all of each one's doses)."""
    people = np.unique(doses.person)
    chosen = people[rng.random(len(people)) < share]
    keep = np.isin(doses.person, chosen)
    rows = pa.array(np.flatnonzero(keep))
    return Doses(person=doses.person[keep], dose_number=doses.dose_number[keep],
                 product=doses.product[keep], date=doses.date[keep],
                 facility=doses.facility[keep], lot=doses.lot.take(rows))  # fmt: skip


def generate(
    n_citizens: int,
    seed: int = 0,
    *,
    dirty_share: float = 0.27,
    not_in_registry_share: float = 0.01,
    invalid_share: float = 0.0015,
    birth_days_per_year: int | None = None,
    dose_people_share: float = 1.0,
) -> SynthResult:
    """A registry of `n_citizens` people aged 12-90 and the dose records of those vaccinated,
    plus about `not_in_registry_share` of vaccinated people who are missing from the registry.

    For density benchmarks: `birth_days_per_year` puts everyone's birthday on one of that many
    days of their birth year (`birthdays_on`), so namesakes born on one day are as frequent as
    in a registry 365 / `birth_days_per_year` times larger; `dose_people_share` keeps the dose
    records of only that share of the vaccinated people (the registry stays whole).

    Same arguments, same tables (deterministic for a seed)."""
    if n_citizens < 10:
        raise SynthError("ask for at least 10 citizens")
    for name, share in (("dirty", dirty_share), ("not-in-registry", not_in_registry_share),
                        ("invalid", invalid_share)):  # fmt: skip
        if not 0.0 <= share < 0.9:
            raise SynthError(f"the {name} share must be between 0 and 0.9, got {share}")
    if birth_days_per_year is not None and not 1 <= birth_days_per_year <= 366:
        raise SynthError(f"birth days per year must be 1 to 366, got {birth_days_per_year}")
    if not 0.0 < dose_people_share <= 1.0:
        raise SynthError(
            f"the share of people with doses must be in (0, 1], got {dose_people_share}"
        )
    if dirty_share < not_in_registry_share + invalid_share:
        raise SynthError("the dirty share must cover the not-in-registry and invalid shares")
    s = not_in_registry_share
    n_absent = round(n_citizens * EXPECTED_COVERAGE * s / (1 - s))
    pop = make_population(_stream(seed, "population"), n_citizens + n_absent, n_absent)
    if birth_days_per_year is not None:
        pop.dob = birthdays_on(pop.dob, birth_days_per_year)
    n_vacc = int(n_citizens * EXPECTED_COVERAGE) + n_absent
    facilities = make_facilities(_stream(seed, "facilities"), n_vacc)
    doses = make_doses(_stream(seed, "doses"), pop, facilities)
    if dose_people_share < 1.0:
        doses = _some_people(doses, _stream(seed, "dose people"), dose_people_share)
    shares = Shares(dirty=dirty_share, not_in_registry=s, invalid=invalid_share)
    dose_table, truth = dose_tables(_stream(seed, "records"), pop, doses, facilities, shares)
    sites = site_list(_stream(seed, "sites"), facilities, doses.facility)
    return SynthResult(registry=_registry(pop), doses=dose_table, truth=truth, seed=seed,
                       sites=sites)  # fmt: skip

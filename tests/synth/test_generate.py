"""The generated tables: shapes, the registry's internal consistency, distributions and truth."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from typing import Any

import pytest

from vaxlink.identity.provinces import BIRTH_PROVINCES
from vaxlink.records.vaccines import lookup
from vaxlink.synth import ERROR_TYPES, SynthResult, generate
from vaxlink.synth.errors import SynthError

N = 50_000
REGISTRY_COLUMNS = [
    "citizen_id", "full_name", "date_of_birth", "sex", "province_code", "district_code",
    "ward_code", "old_id", "address", "phone",
]  # fmt: skip
DOSE_COLUMNS = [
    "record_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "province_code",
    "district_code", "ward_code", "vaccine", "lot_number", "vaccination_date", "dose_number",
    "facility_code",
]  # fmt: skip
TRUTH_COLUMNS = ["record_id", "citizen_id", "person_key", "errors", "in_registry"]


@pytest.fixture(scope="module")
def result() -> SynthResult:
    return generate(N, seed=20211)


@pytest.fixture(scope="module")
def registry(result: SynthResult) -> list[dict[str, Any]]:
    return result.registry.to_pylist()


@pytest.fixture(scope="module")
def rows(result: SynthResult) -> list[dict[str, Any]]:
    """Dose record joined with its truth row (truth columns prefixed `t_`)."""
    doses = result.doses.to_pylist()
    truth = result.truth.to_pylist()
    assert len(doses) == len(truth)
    return [d | {f"t_{k}": v for k, v in t.items()} for d, t in zip(doses, truth, strict=True)]


@pytest.fixture(scope="module")
def by_id(registry: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["citizen_id"]: r for r in registry}


def test_columns_follow_formats_md(result: SynthResult) -> None:
    assert result.registry.column_names == REGISTRY_COLUMNS
    assert result.doses.column_names == DOSE_COLUMNS
    assert result.truth.column_names == TRUTH_COLUMNS
    assert result.registry.num_rows == N


def test_registry_rows_are_internally_consistent(registry: list[dict[str, Any]]) -> None:
    ids = [r["citizen_id"] for r in registry]
    assert len(set(ids)) == len(ids)
    olds = [r["old_id"] for r in registry if r["old_id"]]
    assert len(set(olds)) == len(olds)
    lives_where_born = 0
    for r in registry:
        cid, dob, sex = r["citizen_id"], r["date_of_birth"], r["sex"]
        assert re.fullmatch(r"\d{12}", cid), cid
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob), dob
        assert sex in ("M", "F")
        year = int(dob[:4])
        assert 1930 <= year <= 2009, dob
        assert cid[:3] in BIRTH_PROVINCES
        century = 0 if year < 2000 else 2
        assert int(cid[3]) == century + (sex == "F"), (cid, dob, sex)
        assert cid[4:6] == dob[2:4], (cid, dob)
        assert r["province_code"] in BIRTH_PROVINCES
        assert re.fullmatch(r"\d{3}", r["district_code"])
        assert re.fullmatch(r"\d{5}", r["ward_code"])
        if r["old_id"] is not None:
            assert re.fullmatch(r"\d{9}", r["old_id"])
            assert year < 2004
        if r["phone"] is not None:
            assert re.fullmatch(r"0[35789]\d{8}", r["phone"]), r["phone"]
        assert unicodedata.is_normalized("NFC", r["full_name"])
        assert 2 <= len(r["full_name"].split()) <= 5
        assert r["address"]
        lives_where_born += cid[:3] == r["province_code"]
    assert 0.8 < lives_where_born / len(registry) < 0.97
    born_before_2000 = [r for r in registry if r["date_of_birth"] < "2000"]
    with_old = sum(r["old_id"] is not None for r in born_before_2000)
    assert with_old / len(born_before_2000) > 0.8


def test_age_pyramid_and_sex(registry: list[dict[str, Any]]) -> None:
    years = Counter(int(r["date_of_birth"][:4]) // 10 * 10 for r in registry)
    # More people in their thirties than in their seventies; every decade present.
    assert years[1980] > 2 * years[1940]
    assert all(years[d] > 0 for d in range(1930, 2010, 10))
    women = sum(r["sex"] == "F" for r in registry) / len(registry)
    assert 0.47 < women < 0.54


def test_family_names_follow_real_frequencies(registry: list[dict[str, Any]]) -> None:
    family = Counter(r["full_name"].split()[0] for r in registry)
    share = {k: v / len(registry) * 100 for k, v in family.items()}
    expected = {"Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7, "Phan": 4.5}
    for name, pct in expected.items():
        assert abs(share[name] - pct) < max(1.5, pct * 0.08), (name, share[name])
    assert abs(share["Hoàng"] + share["Huỳnh"] - 5) < 0.8
    assert abs(share["Vũ"] + share["Võ"] - 3.9) < 0.8
    assert len(family) > 50
    south = Counter(r["full_name"].split()[0] for r in registry if r["citizen_id"][:3] >= "046")
    north = Counter(r["full_name"].split()[0] for r in registry if r["citizen_id"][:3] < "046")
    assert south["Huỳnh"] > 2 * south["Hoàng"]
    assert north["Hoàng"] > 2 * north["Huỳnh"]
    assert south["Võ"] > 2 * south["Vũ"]


def test_given_and_middle_names(registry: list[dict[str, Any]]) -> None:
    givens = {s: Counter() for s in "MF"}  # type: ignore[var-annotated]
    for r in registry:
        givens[r["sex"]][r["full_name"].split()[-1]] += 1
    for counter in givens.values():
        assert len(counter) >= 120
        top = counter.most_common(1)[0][1] / sum(counter.values())
        assert 0.02 < top < 0.15
    old_women = [r for r in registry if r["sex"] == "F" and r["date_of_birth"] < "1960"]
    young_women = [r for r in registry if r["sex"] == "F" and r["date_of_birth"] >= "2000"]

    def thi(rs: list[dict[str, Any]]) -> float:
        return sum(r["full_name"].split()[1] == "Thị" for r in rs) / len(rs)

    assert thi(old_women) > thi(young_women) + 0.2
    men = [r for r in registry if r["sex"] == "M"]
    assert 0.15 < sum(r["full_name"].split()[1] == "Văn" for r in men) / len(men) < 0.5


def test_truth_joins_doses_one_to_one(result: SynthResult, by_id: dict[str, Any]) -> None:
    rid = result.doses.column("record_id").to_pylist()
    assert rid == result.truth.column("record_id").to_pylist()
    assert len(set(rid)) == len(rid)
    key_to_id: dict[str, set[str | None]] = defaultdict(set)
    for t in result.truth.to_pylist():
        key_to_id[t["person_key"]].add(t["citizen_id"])
        assert t["in_registry"] == (t["citizen_id"] is not None)
        if t["in_registry"]:
            assert t["citizen_id"] in by_id
    assert all(len(ids) == 1 for ids in key_to_id.values())


def test_not_in_registry_is_about_one_percent_of_vaccinated(
    rows: list[dict[str, Any]], by_id: dict[str, Any]
) -> None:
    people = {r["t_person_key"]: r["t_in_registry"] for r in rows}
    absent = [k for k, v in people.items() if not v]
    assert 0.007 < len(absent) / len(people) < 0.013
    for r in rows:
        marked = "not_in_registry" in (r["t_errors"] or "").split(";")
        assert marked == (not r["t_in_registry"])
        if not r["t_in_registry"] and r["id_number"]:
            assert r["id_number"].replace(" ", "") not in by_id or {
                "id_other_person",
                "id_relative",
            } & set(r["t_errors"].split(";"))
    vaccinated = len(people) - len(absent)
    assert 0.8 < vaccinated / N < 0.9


def test_dirty_share_and_error_counts(rows: list[dict[str, Any]]) -> None:
    counts = [len(r["t_errors"].split(";")) if r["t_errors"] else 0 for r in rows]
    dirty = sum(c > 0 for c in counts) / len(rows)
    assert 0.24 <= dirty <= 0.30
    two_plus = sum(c >= 2 for c in counts) / sum(c > 0 for c in counts)
    assert 0.12 < two_plus < 0.4
    seen = Counter(e for r in rows if r["t_errors"] for e in r["t_errors"].split(";"))
    assert set(seen) == set(ERROR_TYPES)
    invalid = sum(v for k, v in seen.items() if k.startswith("invalid_"))
    assert invalid / len(rows) < 0.002


def test_doses_look_like_a_campaign(rows: list[dict[str, Any]]) -> None:
    per_person: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        assert re.fullmatch(r"F\d{7}", r["facility_code"])
        assert r["facility_code"][1:4] in BIRTH_PROVINCES
        when = _iso(r["vaccination_date"])
        if "invalid_future_date" in r["t_errors"]:
            when = ""  # left out of the date order below
        per_person[r["t_person_key"]].append((r["dose_number"], when))
    for doses in per_person.values():
        doses.sort()
        assert [d for d, _ in doses] == list(range(1, len(doses) + 1))
        assert len(doses) <= 4
        dates = [v for _, v in doses if v]
        assert dates == sorted(dates)
        assert not dates or (dates[0] >= "2021-03-01" and dates[-1] <= "2022-12-31")
    products = Counter(
        p.key
        for r in rows
        if "invalid_unknown_vaccine" not in r["t_errors"]
        for p in [lookup(r["vaccine"])]
        if p is not None
    )
    total = sum(products.values())
    assert total == sum("invalid_unknown_vaccine" not in r["t_errors"] for r in rows)
    big = products["Vaxzevria"] + products["Comirnaty"] + products["BBIBP-CorV"]
    assert big / total > 0.7
    assert {"Spikevax", "Sputnik V", "Abdala", "Hayat-Vax", "Jcovden"} <= set(products)
    spellings = Counter(r["vaccine"] for r in rows)
    assert len(spellings) > 15
    missing_phone = sum(r["phone"] is None for r in rows) / len(rows)
    assert 0.07 < missing_phone < 0.16


def test_site_formats_vary(rows: list[dict[str, Any]]) -> None:
    clean = [r for r in rows if not r["t_errors"]]
    shapes = Counter(_date_shape(r["date_of_birth"]) for r in clean)
    assert set(shapes) == {"iso", "dmy", "d/m"}
    assert {r["sex"] for r in rows} <= {"M", "F", "Nam", "Nữ", "nam", "nữ", "NAM", "NỮ", "NU",
                                         "m", "f", None}  # fmt: skip
    assert {"M", "Nam", "Nữ", "NU", None} <= {r["sex"] for r in rows}
    for r in clean:
        assert (_date_shape(r["date_of_birth"]) == "iso") == (
            _date_shape(r["vaccination_date"]) == "iso"
        )


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(SynthError):
        generate(0)
    with pytest.raises(SynthError):
        generate(100, dirty_share=1.5)
    with pytest.raises(SynthError):
        generate(100, dirty_share=0.005)


def _date_shape(s: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return "iso"
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", s):
        return "dmy"
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", s):
        return "d/m"
    if re.fullmatch(r"\d{4}", s):
        return "year"
    raise AssertionError(f"unexpected date {s!r}")


def _iso(s: str) -> str:
    shape = _date_shape(s)
    if shape == "iso":
        return s
    d, m, y = s.split("/")
    return f"{y}-{int(m):02d}-{int(d):02d}"

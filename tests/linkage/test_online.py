"""`score_person`: one record against the candidates the registry service returned."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import pytest

from vaxlink.linkage import decide
from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.online import score_person
from vaxlink.linkage.pipeline import LinkStats, score
from vaxlink.linkage.train import term_frequencies

AN = {"citizen_id": "001085012345", "full_name": "Nguyễn Văn An", "date_of_birth": "1985-03-04",
      "sex": "M", "province_code": "001", "district_code": "005", "ward_code": "00166",
      "phone": "0912345678", "old_id": "012345678"}  # fmt: skip
# A namesake born the same day, elsewhere.
AN2 = {**AN, "citizen_id": "036085099999", "province_code": "036", "district_code": "356",
       "ward_code": "13501", "phone": "0987000111", "old_id": None}  # fmt: skip
DOSE = {"full_name": "Nguyễn Văn An", "date_of_birth": "04/03/1985", "sex": "Nam",
        "id_number": "001085012345", "phone": "0912345678", "province_code": "001",
        "district_code": "005", "ward_code": "00166"}  # fmt: skip


@pytest.fixture(scope="module")
def model() -> LinkModel:
    """The packaged model."""
    return LinkModel.load()


def test_verified(model: LinkModel) -> None:
    r = score_person(DOSE, [AN, AN2], model)
    assert (r.status, r.citizen_id, r.corrected_fields) == ("verified", AN["citizen_id"], [])


def test_one_wrong_digit_is_corrected(model: LinkModel) -> None:
    r = score_person({**DOSE, "id_number": "001085012346"}, [AN, AN2], model)
    assert (r.status, r.citizen_id) == ("auto_linked", AN["citizen_id"])
    assert r.corrected_fields == ["id_number"]
    assert r.candidates[0].fields["id"][0] == "one_digit"
    assert r.match_probability is not None
    assert r.match_probability > 0.999


def test_no_id_no_phone_namesakes_go_to_review(model: LinkModel) -> None:
    bare = {k: v for k, v in DOSE.items() if k not in ("id_number", "phone", "province_code",
                                                       "district_code", "ward_code")}  # fmt: skip
    r = score_person(bare, [AN, AN2], model)
    assert r.status == "review"
    # two citizens bear that folded name, date of birth and sex: uniqueness cannot decide
    assert r.reason == "not_unique_in_registry"
    assert {c.citizen_id for c in r.candidates} == {AN["citizen_id"], AN2["citizen_id"]}
    assert abs(r.candidates[0].probability - r.candidates[1].probability) < 0.05


def test_a_day_typed_one_off_is_a_near_miss(model: LinkModel) -> None:
    # A slip no training data showed: the day one off, ID and name exact.
    for dob in ("05/03/1985", "03/03/1985", "14/03/1985", "04/04/1985"):
        r = score_person({**DOSE, "date_of_birth": dob}, [AN, AN2], model)
        assert (r.status, r.citizen_id) == ("auto_linked", AN["citizen_id"]), dob
        assert r.corrected_fields == ["date_of_birth"]
    cases = {"05/03/1985": "day1", "14/03/1985": "one_digit", "04/03/1995": "one_digit",
             "26/02/1985": "days10", "20/03/1985": "days31", "17/09/1985": "same_year",
             "17/09/1960": "else"}  # fmt: skip
    for dob, level in cases.items():
        r = score_person({**DOSE, "date_of_birth": dob}, [AN], model)
        assert r.candidates[0].fields["dob"][0] == level, dob


def test_a_dropped_digit_is_the_holders(model: LinkModel) -> None:
    for written in ("00108501234", "00108012345", "0010850123456"):
        dose = {**DOSE, "id_number": written, "phone": None}
        r = score_person(dose, [AN, AN2], model)
        assert r.candidates[0].fields["id"][0] == "indel", written
        assert (r.status, r.citizen_id) == ("auto_linked", AN["citizen_id"]), written


def test_uniqueness_decides_where_the_id_cannot(model: LinkModel) -> None:
    bare = {k: v for k, v in DOSE.items() if k not in ("id_number", "phone")}
    an = AN["citizen_id"]
    # The registry holds one Nguyễn Văn An born that day: his.
    r = score_person(bare, [AN], model, name_dob_counts={an: (1, 1)})
    assert (r.status, r.citizen_id, r.reason) == ("auto_linked", an, None)
    # It holds another, elsewhere (the registry service did not return him): nobody's.
    r = score_person(bare, [AN], model, name_dob_counts={an: (2, 2)})
    assert (r.status, r.reason) == ("review", "not_unique_in_registry")
    # A namesake of the other sex makes the name and date of birth not unique, but the sex tells
    # them apart as evidence: the model's posterior, not the uniqueness rule, decides.
    r = score_person({**bare, "ward_code": None, "district_code": None}, [AN], model,
                     name_dob_counts={an: (2, 1)})  # fmt: skip
    assert r.reason in (None, "below_threshold")
    # The record's own ID, even one digit off, decides without the count.
    r = score_person({**bare, "id_number": "001085012346"}, [AN], model,
                     name_dob_counts={an: (5, 5)})  # fmt: skip
    assert (r.status, r.citizen_id) == ("auto_linked", an)


def test_unknown_id_is_never_linked(model: LinkModel) -> None:
    # Someone missing from the registry: their own valid-looking number is nobody's.
    r = score_person({**DOSE, "id_number": "001085777777", "phone": None}, [AN], model)
    assert r.status in ("review", "unmatched")
    assert r.citizen_id is None
    if r.status == "review":
        assert r.reason == "id_not_in_registry"


def test_no_candidates(model: LinkModel) -> None:
    r = score_person(DOSE, [], model)
    assert (r.status, r.reason) == ("unmatched", "no_candidate")


Inputs = tuple[dict[int, list[dict[str, Any]]], dict[int, dict[str, Any]], dict[str, Any]]


def _bulk_inputs(engine: DuckDBEngine, some: str) -> Inputs:
    """For the residual records `some` (a subquery of _row): their scored pairs, their dose
    rows, and the registry rows of their candidates and of their ID numbers' owners."""
    pairs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in engine.to_arrow(
        f"SELECT _row, cid, w FROM lk_scored WHERE _row IN {some}"
    ).to_pylist():
        pairs[r["_row"]].append(r)
    doses = {r["_row"]: r for r in engine.to_arrow(
        f"SELECT * FROM doses_in WHERE _row IN {some}").to_pylist()}  # fmt: skip
    citizens = {r["citizen_id"]: r for r in engine.to_arrow(
        "SELECT * FROM registry_in WHERE citizen_id IN (SELECT cid FROM lk_scored "
        "UNION SELECT cid FROM lk_idowner)").to_pylist()}  # fmt: skip
    return pairs, doses, citizens


def _rescore(prepared: tuple[DuckDBEngine, LinkStats], model: LinkModel) -> LinkModel:
    engine, stats = prepared
    same = copy.deepcopy(model)
    same.tf = term_frequencies(engine, min_count=1)  # the bulk run's TF: this registry's
    score(engine, same, stats.registry_rows)
    return same


def test_online_posteriors_equal_bulk(
    prepared: tuple[DuckDBEngine, LinkStats], model: LinkModel
) -> None:
    engine, stats = prepared
    same = _rescore(prepared, model)
    some = "(SELECT _row FROM lk_res ORDER BY _row LIMIT 300)"
    pairs, doses, citizens = _bulk_inputs(engine, some)
    ranked = {(r["_row"], r["cid"]): r["p"] for r in engine.to_arrow(
        f"SELECT _row, cid, p FROM lk_ranked WHERE _row IN {some}").to_pylist()}  # fmt: skip
    assert len(pairs) > 100
    for row, found in pairs.items():
        result = score_person(doses[row], [citizens[p["cid"]] for p in found], same,
                              registry_size=stats.registry_rows)  # fmt: skip
        assert len(result.candidates) == min(3, len(found)) or result.status == "unmatched"
        for cand in result.candidates:
            bulk = next(p for p in found if p["cid"] == cand.citizen_id)
            assert cand.match_weight == pytest.approx(bulk["w"], abs=0.01)
            assert cand.probability == pytest.approx(ranked[(row, cand.citizen_id)], abs=1e-6)


def test_online_guards_equal_bulk(
    prepared: tuple[DuckDBEngine, LinkStats], model: LinkModel
) -> None:
    """The guards and thresholds decide alike in SQL (`decide.decision_steps`) and in Python
    (`decide.guard` via `score_person`), on records linked and on records each guard stopped."""
    engine, stats = prepared
    same = _rescore(prepared, model)
    dp = decide.params(same)
    # lk_best, lk_near, lk_namesake_rows, lk_namesakes, lk_model_links
    for step in decide.decision_steps()[:5]:
        engine.execute(step.sql, {k: v for k, v in dp.items() if f"${k}" in step.sql})
    some = ("(SELECT _row FROM (SELECT _row, row_number() OVER (PARTITION BY block "
            "ORDER BY _row) AS n FROM lk_model_links) WHERE n <= 60)")  # fmt: skip
    blocks = {r["_row"]: r["block"] for r in engine.to_arrow(
        f"SELECT _row, block FROM lk_model_links WHERE _row IN {some}").to_pylist()}  # fmt: skip
    pairs, doses, citizens = _bulk_inputs(engine, some)
    # The registry port looks the ID up: its owner is a candidate even when too unlike to weigh.
    owners: dict[int, list[str]] = defaultdict(list)
    for r in engine.to_arrow(f"SELECT _row, cid FROM lk_idowner WHERE _row IN {some}").to_pylist():
        owners[r["_row"]].append(r["cid"])
    # The registry port's counts of citizens sharing a candidate's folded name and birth date.
    near = {r["cid"]: r["others"] for r in engine.to_arrow(
        "SELECT b.cid, n.others FROM lk_near n JOIN lk_best b ON b._row = n._row").to_pylist()}  # fmt: skip
    counts = {r["cid"]: (near.get(r["cid"], 0) + 1, r["n_nds"]) for r in engine.to_arrow(
        "SELECT cid, n_nds FROM lk_reg").to_pylist()}  # fmt: skip
    # ... and the namesake rule's risk of a candidate (decide.registry_namesakes).
    risks = {r["cid"]: r["risk"] for r in engine.to_arrow(
        "SELECT b.cid, k.risk FROM lk_namesakes k JOIN lk_best b ON b._row = k._row").to_pylist()}  # fmt: skip
    reasons: dict[str | None, int] = defaultdict(int)
    for row, found in pairs.items():
        cids = [p["cid"] for p in found]
        cids += [c for c in owners[row] if c not in cids]
        result = score_person(doses[row], [citizens[c] for c in cids], same,
                              registry_size=stats.registry_rows, name_dob_counts=counts,
                              namesake_risks=risks)  # fmt: skip
        if result.status == "unmatched":  # too weak for review: the block does not matter
            continue
        assert result.reason == blocks[row], row
        reasons[result.reason] += 1
    assert reasons[None] > 50, reasons
    assert {"id_not_in_registry", "dob_differs", "name_differs", "below_threshold"} <= set(
        reasons
    ), reasons


def test_housemate_id_is_not_taken_for_own(model: LinkModel) -> None:
    # A husband's dose carries his wife's ID; same address, family phone, same family name.
    wife = {**AN, "citizen_id": "001187054321", "full_name": "Nguyễn Thị Hoa",
            "date_of_birth": "1987-06-20", "sex": "F"}  # fmt: skip
    dose = {**DOSE, "id_number": wife["citizen_id"], "phone": wife["phone"], "sex": None}
    r = score_person(dose, [wife], model)
    assert r.status != "auto_linked"
    assert r.reason == "dob_differs"
    # Her twin sister's record: same birth date, another given name, her sister's ID; the
    # registry returns both sisters.
    sister = {**wife, "citizen_id": "001187099999", "full_name": "Nguyễn Thị Huệ"}
    twin_dose = {**dose, "full_name": sister["full_name"], "date_of_birth": "20/06/1987",
                 "sex": "Nữ"}  # fmt: skip
    r = score_person(twin_dose, [wife, sister], model)
    assert r.status == "review"
    assert r.reason in ("id_of_another_person", "ambiguous")


def _g(**levels: str) -> dict[str, int]:
    from vaxlink.linkage.comparisons import COMPARISONS

    names = {"family": "exact", "middle": "exact", "given": "exact", "dob": "exact",
             "sex": "exact", "id": "exact", "id_encoded": "null", "residence": "ward",
             "phone": "exact", **levels}  # fmt: skip
    return {c.name: [lv.name for lv in c.levels].index(names[c.name]) for c in COMPARISONS}


@pytest.mark.parametrize(
    ("levels", "second", "has_id", "registered", "reason"),
    [
        ({}, None, True, True, None),
        ({"given": "jw80"}, None, True, True, None),  # a typo in one's own name
        ({"given": "else"}, None, True, True, None),  # a short given name mistyped
        ({"id": "else"}, None, True, False, "id_not_in_registry"),
        ({"id": "one_digit"}, None, True, False, None),
        ({"id": "null"}, None, False, False, None),
        ({"dob": "same_year"}, None, True, True, "dob_differs"),
        ({"dob": "else"}, None, True, True, "dob_differs"),  # a mother's ID on her daughter's
        ({"dob": "day1"}, None, True, True, None),  # near misses are evidence, not a conflict
        ({"dob": "one_digit"}, None, True, True, None),
        ({"dob": "days31", "id": "null"}, None, False, False, None),
        ({"id": "indel"}, None, True, False, None),  # a digit dropped: the candidate's number
        ({"dob": "swap", "given": "jw90"}, None, True, True, None),
        ({"middle": "else", "given": "jw80"}, None, True, True, None),
        ({"given": "else"}, "exact", True, True, "id_of_another_person"),
        # the whole name another's under the candidate's own ID: a housemate's ID
        ({"given": "else", "family": "else"}, None, True, True, "id_of_another_person"),
        ({"given": "else", "family": "else", "id": "one_digit"}, None, True, True, None),
        ({"id": "null", "given": "else"}, None, False, False, "name_differs"),
        ({"id": "one_digit", "given": "else"}, None, True, False, None),
        ({"id": "null", "family": "syllables", "given": "null", "middle": "null"}, None, False,
         False, None),
    ],
)  # fmt: skip
def test_guard_known_answers(
    levels: dict[str, str], second: str | None, has_id: bool, registered: bool, reason: str | None
) -> None:
    from vaxlink.linkage.comparisons import GIVEN
    from vaxlink.linkage.decide import guard

    second_given = [lv.name for lv in GIVEN.levels].index(second) if second else None
    assert guard(_g(**levels), second_given, has_id, registered) == reason


def test_far_given_name_under_own_id() -> None:
    """An absent twin carrying her sister's ID: the given name is another name altogether (not
    a slip, not the same words in another order) and nobody in the registry bears it."""
    from vaxlink.linkage.decide import guard

    twin = _g(given="else", middle="similar")
    assert guard(twin, None, True, True, given_far=True) == "id_of_another_person"
    assert guard(twin, None, True, True, given_far=False) is None  # a short given name mistyped
    # a far given name with an ID that is only near the candidate's: the name guard decides
    assert guard(_g(given="else", id="one_digit"), None, True, False, given_far=True) is None


def test_uniqueness_known_answers() -> None:
    from vaxlink.linkage.decide import guard, unique_in_registry

    no_id = _g(id="null", phone="null", residence="district")
    assert guard(no_id, None, False, False, namesakes=1) == "not_unique_in_registry"
    assert guard(no_id, None, False, False, namesakes=0) is None
    # another person's ID (a housemate's): the ID cannot decide either
    assert guard(_g(id="else"), None, True, True, namesakes=2) == "not_unique_in_registry"
    # the record's own ID decides: namesakes do not matter
    assert guard(_g(id="one_digit"), None, True, False, namesakes=3) is None
    assert unique_in_registry(no_id, True, 0)
    assert unique_in_registry(_g(id="null", middle="dropped"), True, 0)  # middle name left out
    assert not unique_in_registry(no_id, True, 1)  # a namesake born that year or that day
    assert not unique_in_registry(no_id, False, 0)  # another family or given name
    assert not unique_in_registry(_g(id="null", middle="else"), True, 0)
    assert not unique_in_registry(_g(id="null", dob="day1"), True, 0)  # another date
    assert not unique_in_registry(_g(id="null", sex="else"), True, 0)
    assert not unique_in_registry(_g(id="null", residence="else"), True, 0)
    assert not unique_in_registry(_g(id="exact"), True, 0)  # the ID decides, not this rule


def test_namesake_risk_recomputed(
    prepared: tuple[DuckDBEngine, LinkStats], model: LinkModel
) -> None:
    """`lk_namesakes.risk` (the namesake rule's odds against the candidate, set-based) equals the
    same sum recomputed in Python from the registry's rows: each other citizen with the
    candidate's family and given name born within a year of the record's date or on its day and
    month, weighed by the model's bits of date of birth, residence, sex and middle name against
    the candidate's, plus the absent-person term."""
    from vaxlink.linkage.comparisons import DOB, MIDDLE, RESIDENCE, SEX

    engine, _ = prepared
    same = _rescore(prepared, model)
    dp = decide.params(same)
    for step in decide.decision_steps()[:4]:
        engine.execute(step.sql, {k: v for k, v in dp.items() if f"${k}" in step.sql})
    rows = engine.to_arrow(
        """
        SELECT k._row, k.risk, b.cid, b.g_dob, b.g_residence, b.g_sex, b.g_middle
        FROM lk_namesakes k JOIN lk_best b ON b._row = k._row ORDER BY k.risk DESC, k._row LIMIT 150
        """
    ).to_pylist()
    assert len(rows) > 20, len(rows)
    reg = engine.to_arrow("SELECT * FROM lk_reg").to_pylist()
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    days: dict[tuple[int, int, int], int] = defaultdict(int)
    names: dict[tuple[str, str, str], int] = defaultdict(int)
    for c in reg:
        by_name[(c["fam"], c["giv"])].append(c)
        days[(c["dy"], c["dm"], c["dd"])] += 1
        names[(c["fam"], c["giv"], c["sex"])] += 1
    cit = {c["cid"]: c for c in reg}
    res = {r["_row"]: r for r in engine.to_arrow(
        "SELECT * FROM lk_res WHERE _row IN (SELECT _row FROM lk_namesakes)").to_pylist()}  # fmt: skip

    def weight(dob: int, residence: int, sex: int, middle: int) -> float:
        return (same.level_bits("dob", dob) + same.level_bits("residence", residence)
                + same.level_bits("sex", sex) + same.level_bits("middle", middle))  # fmt: skip

    exact = decide.GUARD_LEVELS["dob_same"][0]
    mid_exact = [lv.name for lv in MIDDLE.levels].index("exact")
    ward = same.params["residence"][decide.GUARD_LEVELS["residence_near"][0]]
    weighed = 0
    for r in rows:
        x, cand = res[r["_row"]], cit[r["cid"]]
        wc = weight(r["g_dob"], r["g_residence"], r["g_sex"], r["g_middle"])
        others = 0.0
        for o in by_name[(x["fam"], x["giv"])]:
            near = abs(o["dy"] - x["dy"]) <= 1 or (o["dm"], o["dd"]) == (x["dm"], x["dd"])
            if o["cid"] == cand["cid"] or not near:
                continue
            w = weight(DOB.level_of(x, o), RESIDENCE.level_of(x, o), SEX.level_of(x, o),
                       MIDDLE.level_of(x, o))  # fmt: skip
            others += 2.0 ** (w - wc)
        lam = names[(x["fam"], x["giv"], cand["sex"])] * days[(cand["dy"], cand["dm"], cand["dd"])]
        level = same.params["residence"][r["g_residence"]]
        place = ward.m * level.u / level.m if level.m and level.u else 1.0
        slips = (same.level_bits("dob", exact) - same.level_bits("dob", r["g_dob"])
                 + same.level_bits("middle", mid_exact) - same.level_bits("middle", r["g_middle"]))  # fmt: skip
        absent = same.absent_share * lam / len(reg) * 2.0**slips * place
        assert r["risk"] == pytest.approx(others + absent, rel=1e-9), r
        weighed += others > 0
    assert weighed > 5, weighed  # records with registry namesakes weighed, not only the absent


def test_namesake_rule_known_answers() -> None:
    from vaxlink.linkage.decide import NAMESAKE_RISK, registry_namesakes

    moved = _g(id="null", phone="null", residence="else")
    assert registry_namesakes(moved, True, NAMESAKE_RISK / 2, 0.6)  # moved, rare enough
    assert not registry_namesakes(moved, True, NAMESAKE_RISK * 2, 0.6)  # too common a name
    assert not registry_namesakes(moved, True, 0.0, 0.3)  # the model finds it unlikely
    assert not registry_namesakes(moved, True, None, 0.6)  # the registry service gave no risk
    assert registry_namesakes(_g(id="else", dob="year"), True, 0.0, 0.6)  # another's ID
    assert not registry_namesakes(_g(id="exact"), True, 0.0, 0.6)  # the ID decides
    assert not registry_namesakes(moved, False, 0.0, 0.6)  # another family or given name
    assert not registry_namesakes(_g(id="null", middle="else"), True, 0.0, 0.6)
    assert not registry_namesakes(_g(id="null", dob="same_year"), True, 0.0, 0.6)
    assert not registry_namesakes(_g(id="null", sex="else"), True, 0.0, 0.6)


def test_words_run_together_are_not_a_far_given_name() -> None:
    from vaxlink.linkage.online import _run_together

    assert _run_together("thihanh", "nguyen thi hanh")
    assert _run_together("hanh", "nguyen thihanh")
    assert not _run_together("thao", "hoang thanh thuy phuong")
    assert not _run_together("phuong", None)

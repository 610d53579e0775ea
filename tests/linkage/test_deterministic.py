"""Known answers of the verified check and each rescue rule of the deterministic pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.linkage.conftest import load_tables
from vaxlink.linkage import deterministic
from vaxlink.linkage.engine import DuckDBEngine, run

AN = {
    "citizen_id": "001085012345", "full_name": "Nguyễn Văn An", "date_of_birth": "1985-03-04",
    "sex": "M", "province_code": "001", "old_id": "012345678", "phone": "0912345678",
}  # fmt: skip
HUYNH = {
    "citizen_id": "079190054321", "full_name": "Huỳnh Thị Hoà", "date_of_birth": "1990-07-02",
    "sex": "F", "province_code": "079",
}  # fmt: skip
TWIN_A = {
    "citizen_id": "001201000111", "full_name": "Trần Minh Long", "date_of_birth": "2001-05-05",
    "sex": "M", "province_code": "001",
}  # fmt: skip
TWIN_B = {**TWIN_A, "citizen_id": "001201000222", "full_name": "Trần Minh Lân"}
# Two registry rows sharing one old CMND (a data error): a record giving it is not unique.
SHARED_A = {"citizen_id": "002080000001", "full_name": "Lê Thị Mai", "date_of_birth": "1980-01-02",
            "sex": "F", "province_code": "002", "old_id": "099999999"}  # fmt: skip
SHARED_B = {**SHARED_A, "citizen_id": "002080000002"}
# Opposite-sex twins given one (unisex) name.
ANH_M = {"citizen_id": "077097722952", "full_name": "Phan Quang Anh", "date_of_birth": "1997-01-18",
         "sex": "M", "province_code": "077", "phone": "0361440232"}  # fmt: skip
ANH_F = {**ANH_M, "citizen_id": "077197766111", "sex": "F", "phone": "0847924174"}
REGISTRY = [AN, HUYNH, TWIN_A, TWIN_B, SHARED_A, SHARED_B, ANH_M, ANH_F]


def _an(**changes: Any) -> dict[str, Any]:
    dose = {"full_name": AN["full_name"], "date_of_birth": "04/03/1985", "sex": "Nam",
            "id_number": AN["citizen_id"]}  # fmt: skip
    return {**dose, **changes}


CASES: list[tuple[str, dict[str, Any], str | None, str | None, str | None]] = [
    # (case, dose fields, expected status, expected citizen, expected corrected fields)
    ("verified", _an(), "verified", AN["citizen_id"], None),
    ("verified_case_spacing_nfd", _an(full_name="  NGUYỄN   van AN ".replace("Ễ", "E\u0302\u0303")),
     "auto_linked", AN["citizen_id"], "full_name"),
    ("verified_nfd", _an(full_name="Nguye\u0302\u0303n Va\u0306n An"), "verified",
     AN["citizen_id"], None),
    ("id_spaces", _an(id_number="0010 8501 2345"), "auto_linked", AN["citizen_id"], "id_number"),
    ("id_dots", _an(id_number="001.085.012.345"), "auto_linked", AN["citizen_id"], "id_number"),
    ("id_lost_zeros", _an(id_number="1085012345"), "auto_linked", AN["citizen_id"], "id_number"),
    ("id_old_cmnd", _an(id_number="012345678"), "auto_linked", AN["citizen_id"], "id_number"),
    ("cmnd_lost_zero", _an(id_number="12345678"), "auto_linked", AN["citizen_id"], "id_number"),
    ("dob_swapped", _an(date_of_birth="03/04/1985"), "auto_linked", AN["citizen_id"],
     "date_of_birth"),
    ("dob_year_only", _an(date_of_birth="1985"), "auto_linked", AN["citizen_id"], "date_of_birth"),
    ("dob_jan_first", _an(date_of_birth="01/01/1985"), "auto_linked", AN["citizen_id"],
     "date_of_birth"),
    ("dob_year_off", _an(date_of_birth="04/03/1986"), "auto_linked", AN["citizen_id"],
     "date_of_birth"),
    ("name_no_diacritics", _an(full_name="Nguyen Van An"), "auto_linked", AN["citizen_id"],
     "full_name"),
    ("name_wrong_tone", _an(full_name="Nguyến Văn Ân"), "auto_linked", AN["citizen_id"],
     "full_name"),
    ("name_reversed", _an(full_name="An Nguyễn Văn"), "auto_linked", AN["citizen_id"], "full_name"),
    ("name_dropped_middle", _an(full_name="Nguyễn An"), "auto_linked", AN["citizen_id"],
     "full_name"),
    ("sex_missing", _an(sex=None), "auto_linked", AN["citizen_id"], "sex"),
    ("sex_wrong", _an(sex="Nữ"), "auto_linked", AN["citizen_id"], "sex"),
    ("two_slips", _an(id_number="0010 8501 2345", full_name="Nguyen Van An", date_of_birth="1985"),
     "auto_linked", AN["citizen_id"], "id_number;full_name;date_of_birth"),
    ("huynh_is_hoang", {"full_name": "Hoàng Thị Hòa", "date_of_birth": "02/07/1990", "sex": "Nữ",
                        "id_number": HUYNH["citizen_id"]},
     "auto_linked", HUYNH["citizen_id"], "full_name"),
    ("new_tone_style_is_verified", {"full_name": "Huỳnh Thị Hoà", "date_of_birth": "1990-07-02",
                                    "sex": "F", "id_number": HUYNH["citizen_id"]},
     "verified", HUYNH["citizen_id"], None),
    # Not rescued: the evidence does not hold together or is not unique.
    ("other_given_name", _an(full_name="Nguyễn Văn Bình"), None, None, None),
    ("twin_holding_sibling_id", {"full_name": "Trần Minh Long", "date_of_birth": "2001-05-05",
                                 "sex": "M", "id_number": TWIN_B["citizen_id"]}, None, None, None),
    ("sex_wrong_and_name_slip", _an(sex="Nữ", full_name="Nguyễn An"), None, None, None),
    ("dob_unexplained", _an(date_of_birth="20/09/1985"), None, None, None),
    ("id_unknown", _an(id_number="001085099999"), None, None, None),
    ("twin_of_other_sex_with_her_id", {"full_name": "Phan Quang Anh", "date_of_birth": "18/01/1997",
                                       "sex": "Nam", "id_number": ANH_F["citizen_id"],
                                       "phone": ANH_M["phone"]}, None, None, None),
    ("sex_wrong_phone_agrees", {"full_name": "Phan Quang Anh", "date_of_birth": "18/01/1997",
                                "sex": "Nam", "id_number": ANH_F["citizen_id"],
                                "phone": ANH_F["phone"]}, "auto_linked", ANH_F["citizen_id"], "sex"),
    ("shared_cmnd", {"full_name": "Lê Thị Mai", "date_of_birth": "1980-01-02", "sex": "F",
                     "id_number": "099999999"}, None, None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def decided() -> dict[str, tuple[str | None, str | None, str | None, str | None]]:
    """status, citizen, corrected fields and rule of each case's dose."""
    engine = DuckDBEngine()
    try:
        load_tables(engine, REGISTRY, [case[1] for case in CASES])
        run(engine, deterministic.steps())
        rows = engine.to_arrow(
            "SELECT d.record_id, t.status, t.cid, t.corrected, t.rule FROM lk_dose d "
            "LEFT JOIN lk_det t ON t._row = d._row ORDER BY d._row"
        ).to_pylist()
    finally:
        engine.close()
    return {case[0]: (r["status"], r["cid"], r["corrected"], r["rule"])
            for case, r in zip(CASES, rows, strict=True)}  # fmt: skip


@pytest.mark.parametrize(("name", "status", "cid", "corrected"),
                         [(c[0], c[2], c[3], c[4]) for c in CASES])  # fmt: skip
def test_rule(
    decided: dict[str, tuple[str | None, str | None, str | None, str | None]],
    name: str,
    status: str | None,
    cid: str | None,
    corrected: str | None,
) -> None:
    got = decided[name]
    assert got[:3] == (status, cid, corrected), f"{name}: rule {got[3]}"


def test_rules_are_named(
    decided: dict[str, tuple[str | None, str | None, str | None, str | None]],
) -> None:
    assert decided["dob_year_only"][3] == "id_exact+name_exact+dob_year_only+sex_exact"
    assert decided["id_old_cmnd"][3] == "id_cmnd+name_exact+dob_exact+sex_exact"
    assert decided["huynh_is_hoang"][3] == "id_exact+name_family_variant+dob_exact+sex_exact"

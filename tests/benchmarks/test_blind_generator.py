"""The blind linkage test set's generator (benchmarks/blind) still writes files in the §1/§2
formats with consistent labels, so the tooling cannot rot. Small: 2,000 citizens."""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from blind import doses, model
from blind.names import strip_diacritics

DOB_FORMS = [r"\d{4}-\d{2}-\d{2}", r"\d{1,2}/\d{1,2}/\d{4}", r"\d{4}", r"\d{2}/\d{2}/\d{2}"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return doses.write_all(tmp_path_factory.mktemp("blind"), 2000, 40, seed=5)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _parse_dob(s: str) -> date | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return date.fromisoformat(s)
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", s):
        d, m, y = (int(x) for x in s.split("/"))
        return date(y, m, d)
    return None


def test_registry_follows_section_1(files: dict[str, Path]) -> None:
    reg = _rows(files["registry"])
    assert len(reg) == 2000
    assert {"citizen_id", "full_name", "date_of_birth", "sex", "province_code"} <= set(reg[0])
    ids = [r["citizen_id"] for r in reg]
    assert len(set(ids)) == len(ids)
    for r in reg:
        cid = r["citizen_id"]
        assert re.fullmatch(r"\d{12}", cid)
        dob = date.fromisoformat(r["date_of_birth"])
        # CCCD: 4th digit = sex + century, 5-6th = year of birth
        assert int(cid[3]) == (0 if r["sex"] == "M" else 1) + (2 if dob.year >= 2000 else 0)
        assert cid[4:6] == f"{dob.year % 100:02d}"
        assert r["sex"] in ("M", "F")
        assert re.fullmatch(r"\d{3}", r["province_code"])
        assert not r["old_id"] or re.fullmatch(r"\d{9}", r["old_id"])
        assert unicodedata.is_normalized("NFC", r["full_name"])
        assert len(r["full_name"].split()) >= 2
    family = [r["full_name"].split()[0] for r in reg]
    assert 0.30 < family.count("Nguyễn") / len(family) < 0.46


def test_doses_follow_section_2_and_labels_are_consistent(files: dict[str, Path]) -> None:
    reg = {r["citizen_id"]: r for r in _rows(files["registry"])}
    dose_rows = _rows(files["doses"])
    truth = {r["record_id"]: r for r in _rows(files["truth"])}
    assert {
        "record_id",
        "full_name",
        "date_of_birth",
        "sex",
        "id_number",
        "vaccine",
        "vaccination_date",
        "dose_number",
        "facility_code",
    } <= set(dose_rows[0])
    assert len(dose_rows) == len(truth) > 2000
    assert len({r["record_id"] for r in dose_rows}) == len(dose_rows)
    dirty = absent = 0
    for d in dose_rows:
        t = truth[d["record_id"]]
        labels = t["errors"].split(";") if t["errors"] else []
        assert int(t["n_errors"]) == len(labels)
        assert all(lab in model.ERROR_WEIGHTS for lab in labels)
        if len(labels) == 2:
            assert tuple(labels) in model.COMBOS
        assert any(re.fullmatch(p, d["date_of_birth"]) for p in DOB_FORMS)
        assert d["sex"].lower() in ("m", "f", "nam", "nữ", "")
        assert d["dose_number"] in ("1", "2", "3")
        date.fromisoformat(d["vaccination_date"])
        dirty += bool(labels)
        if t["true_citizen_id"] == doses.ABSENT:
            absent += 1
            assert t["absent"] == "1"
            continue
        person = reg[t["true_citizen_id"]]
        id_plain = d["id_number"].replace(" ", "")
        id_labels = [lab for lab in labels if lab.startswith("id_")]
        if not id_labels:
            assert id_plain == person["citizen_id"]
        elif id_labels == ["id_missing"]:
            assert id_plain == ""
        elif id_labels == ["id_old_cmnd"]:
            assert id_plain == person["old_id"] != ""
        else:
            assert id_plain != person["citizen_id"]
        name_labels = [lab for lab in labels if lab.startswith("name_")]
        written = unicodedata.normalize("NFC", " ".join(d["full_name"].split()))
        if not name_labels:
            assert written.lower() == person["full_name"].lower()
        else:
            assert written.lower() != person["full_name"].lower()
        dob_labels = [lab for lab in labels if lab.startswith("dob_")]
        parsed = _parse_dob(d["date_of_birth"])
        if not dob_labels:
            assert parsed == date.fromisoformat(person["date_of_birth"])
        elif parsed is not None:
            assert parsed != date.fromisoformat(person["date_of_birth"])
        sex = {"m": "M", "nam": "M", "f": "F", "nữ": "F", "": ""}[d["sex"].lower()]
        if not [lab for lab in labels if lab.startswith("sex_")]:
            assert sex == person["sex"]
        else:
            assert sex != person["sex"]
        if "name_no_diacritics" in labels:
            assert strip_diacritics(written) == written
    assert absent > 40
    assert 0.22 < dirty / len(dose_rows) < 0.32


def test_scorer_counts_right_and_wrong_links(files: dict[str, Path], tmp_path: Path) -> None:
    from blind import score

    truth = _rows(files["truth"])
    out = tmp_path / "result.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "record_id",
                "status",
                "citizen_id",
                "match_probability",
                "corrected_fields",
                "candidates",
                "reason",
            ]
        )
        for i, t in enumerate(truth):
            if t["true_citizen_id"] == doses.ABSENT:
                w.writerow(
                    [
                        t["record_id"],
                        "auto_linked" if i % 2 else "unmatched",
                        truth[0]["true_citizen_id"] if i % 2 else "",
                        "0.5",
                        "",
                        "[]",
                        "",
                    ]
                )
            elif i % 10 == 0:
                cands = f'[{{"citizen_id": "{t["true_citizen_id"]}", "probability": 0.6}}]'
                w.writerow([t["record_id"], "review", "", "0.6", "", cands, "ambiguous"])
            else:
                w.writerow([t["record_id"], "verified", t["true_citizen_id"], "1.0", "", "[]", ""])
    rep = score.score(out, files["truth"])
    s = rep["summary"]
    absent_auto = sum(
        1 for i, t in enumerate(truth) if t["true_citizen_id"] == doses.ABSENT and i % 2
    )
    assert s["absent_linked_automatically"] == absent_auto > 0
    assert s["wrong_automatic_links"] == absent_auto
    assert s["recall_at_3_registered_pct"] == 100.0
    assert s["missing_rows"] == 0
    assert 0 < s["precision_automatic_pct"] < 100
    assert sum(r["records"] for r in rep["per_type"].values()) == len(truth)

"""`evaluate` on a hand-made truth and result: each metric has a known answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaxlink.linkage.evaluate import evaluate

TRUTH = """record_id,citizen_id,person_key,errors,in_registry
R1,C1,P1,,true
R2,C1,P1,name_typo,true
R3,C2,P2,id_missing,true
R4,C3,P3,id_missing;dob_year_only,true
R5,,P4,not_in_registry,false
R6,,P5,not_in_registry;id_missing,false
R7,C4,P6,invalid_future_date,true
R8,C5,P7,name_typo,true
"""
RESULT = """record_id,status,citizen_id,match_probability,corrected_fields,candidates,reason
R1,verified,C1,1.0,,"[{""citizen_id"": ""C1"", ""probability"": 1.0}]",
R2,auto_linked,C1,0.9999,full_name,"[{""citizen_id"": ""C1"", ""probability"": 0.9999}]",
R3,review,,0.8,,"[{""citizen_id"": ""C9"", ""probability"": 0.8}, {""citizen_id"": ""C2"", ""probability"": 0.1}]",below_threshold
R4,auto_linked,C7,0.9999,date_of_birth,"[{""citizen_id"": ""C7"", ""probability"": 0.9999}]",
R5,unmatched,,,,[],no_candidate
R6,auto_linked,C8,0.99999,id_number,"[{""citizen_id"": ""C8"", ""probability"": 0.99999}]",
R7,invalid,,,,[],vaccination_date_out_of_range
R8,unmatched,,,,[],no_candidate
"""


def test_known_metrics(tmp_path: Path) -> None:
    (tmp_path / "truth.csv").write_text(TRUTH)
    (tmp_path / "result.csv").write_text(RESULT)
    r = evaluate(tmp_path / "truth.csv", tmp_path / "result.csv")
    assert (r.records, r.auto_links, r.wrong_auto_links) == (8, 4, 2)
    assert r.precision == pytest.approx(0.5)
    assert r.auto_share_all == pytest.approx(4 / 8)
    # dirty registered valid records: R2, R3, R4, R8; right automatic link: R2
    assert r.auto_share_dirty == pytest.approx(1 / 4)
    # registered valid records R1 R2 R3 R4 R8; found: R1, R2, R3 (second candidate)
    assert r.recall_at_3 == pytest.approx(3 / 5)
    # all: + R5 (absent, unlinked), R7 (flagged invalid); R6 linked: wrong
    assert r.recall_at_3_all == pytest.approx(5 / 8)
    assert (r.absent_people, r.absent_people_linked) == (2, 1)
    assert (r.invalid_expected, r.invalid_found, r.invalid_correct) == (1, 1, 1)
    assert r.by_error["id_missing"].records == 2  # R3 and R4; R6 is an absent person's
    assert r.by_error["not_in_registry"].wrong_links == 1
    assert r.by_error["dob_year_only"].wrong_links == 1


def _many(tmp_path: Path) -> tuple[Path, Path]:
    """Records with one or two slips: 30 carry name_dropped_middle;id_missing (20 linked right,
    10 to review with the right citizen second), 19 carry dob_day_off_by_one;id_added_digit (too
    few to be a reported combination), 5 carry dob_month_digit alone (all unmatched)."""
    truth = ["record_id,citizen_id,person_key,errors,in_registry"]
    result = ["record_id,status,citizen_id,match_probability,corrected_fields,candidates,reason"]

    def cands(*ids: str) -> str:
        inner = ", ".join(f'{{""citizen_id"": ""{c}"", ""probability"": 0.5}}' for c in ids)
        return f'"[{inner}]"'

    for i in range(30):
        truth.append(f"A{i},C{i},P{i},name_dropped_middle;id_missing,true")
        if i < 20:
            result.append(f"A{i},auto_linked,C{i},0.9999,full_name,{cands(f'C{i}')},")
        else:
            result.append(f"A{i},review,,0.5,,{cands('X', f'C{i}')},below_threshold")
    for i in range(19):
        truth.append(f"B{i},D{i},Q{i},dob_day_off_by_one;id_added_digit,true")
        result.append(f"B{i},review,,0.5,,{cands(f'D{i}')},below_threshold")
    for i in range(5):
        truth.append(f"M{i},E{i},S{i},dob_month_digit,true")
        result.append(f"M{i},unmatched,,,,[],no_candidate")
    (tmp_path / "truth.csv").write_text("\n".join(truth) + "\n")
    (tmp_path / "result.csv").write_text("\n".join(result) + "\n")
    return tmp_path / "truth.csv", tmp_path / "result.csv"


def test_every_error_type_and_combination(tmp_path: Path) -> None:
    r = evaluate(*_many(tmp_path))
    assert set(r.by_error) == {"name_dropped_middle", "id_missing", "dob_day_off_by_one",
                               "id_added_digit", "dob_month_digit"}  # fmt: skip
    assert r.by_error["id_missing"].auto_share == pytest.approx(20 / 30)
    assert r.by_error["id_missing"].recall_at_3 == 1.0
    assert r.by_error["dob_month_digit"].recall_at_3 == 0.0
    assert r.by_error["dob_month_digit"].unmatched_share == 1.0
    assert list(r.by_combination) == ["name_dropped_middle+id_missing"]  # 19 < 20 records
    combo = r.by_combination["name_dropped_middle+id_missing"]
    assert (combo.records, combo.wrong_links) == (30, 0)
    assert combo.auto_share == pytest.approx(20 / 30)
    assert combo.review_share == pytest.approx(10 / 30)


def test_eval_command_prints_every_type_in_full(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vaxlink.linkage.cli import app

    truth, result = _many(tmp_path)
    out = CliRunner().invoke(app, ["eval", "--truth", str(truth), "--result", str(result)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    for name, auto, recall in (("name_dropped_middle", "66.67%", "100.00%"),
                               ("dob_day_off_by_one", "0.00%", "100.00%"),
                               ("dob_month_digit", "0.00%", "0.00%"),
                               ("name_dropped_middle+id_missing", "66.67%", "100.00%")):  # fmt: skip
        row = next(x for x in lines if f" {name} " in x)
        cells = [c.strip() for c in row.split("│") if c.strip()]
        assert cells[0] == name
        assert cells[2] == auto
        assert cells[-1] == recall

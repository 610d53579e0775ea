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

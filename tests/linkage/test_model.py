"""The model artefact: JSON round trip, refusal of foreign or stale files, the packaged model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaxlink.linkage.comparisons import COMPARISONS
from vaxlink.linkage.errors import ModelError
from vaxlink.linkage.model import COMPARISONS_BY_NAME, LevelParams, LinkModel


def _model() -> LinkModel:
    params = {
        c.name: [LevelParams(None, None) if lv.is_null else LevelParams(0.5 / (i + 1), 0.1)
                 for i, lv in enumerate(c.levels)]
        for c in COMPARISONS
    }  # fmt: skip
    return LinkModel(params=params, trained={"registry_size": 1000}, tf={"giv": {"an": 0.1}})


def test_round_trip(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "m.json"
    model.save(path)
    again = LinkModel.load(path)
    assert again.params == model.params
    assert again.thresholds == model.thresholds
    assert again.tf == model.tf
    data = json.loads(path.read_text())
    assert data["link_type"] == "link_only"  # a Splink settings dictionary
    assert data["comparisons"][0]["comparison_levels"][-1]["sql_condition"] == "ELSE"


def test_refuses_other_levels(tmp_path: Path) -> None:
    data = _model().to_json()
    data["vaxlink"]["levels"]["family"].pop(1)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="retrain"):
        LinkModel.load(path)


def test_refuses_changed_sql(tmp_path: Path) -> None:
    data = _model().to_json()
    data["comparisons"][1]["comparison_levels"][1]["sql_condition"] = "1 = 1; DROP TABLE lk_reg"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="other SQL"):
        LinkModel.load(path)


def test_refuses_other_version_and_junk(tmp_path: Path) -> None:
    data = _model().to_json()
    data["vaxlink"]["version"] = 99
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="version 99"):
        LinkModel.load(path)
    path.write_text("{not json")
    with pytest.raises(ModelError, match="not JSON"):
        LinkModel.load(path)
    path.write_text(json.dumps({"vaxlink": {}}))
    with pytest.raises(ModelError):
        LinkModel.load(path)


def test_packaged_model_loads() -> None:
    model = LinkModel.load()
    assert model.trained["registry_size"] >= 100_000
    assert 0.999 <= model.thresholds.auto_probability < 1
    # The evidence ranks as it should: an exact ID outweighs a same-year birth date; a near
    # birth date (a day off, one digit) is evidence for, a date merely in the same year against.
    dob = [lv.name for lv in COMPARISONS_BY_NAME["dob"].levels]
    assert model.level_bits("id", 1) > 10 > model.level_bits("dob", dob.index("same_year"))
    assert model.level_bits("dob", dob.index("same_year")) < 0
    assert model.level_bits("dob", dob.index("day1")) > 0
    assert model.level_bits("dob", dob.index("one_digit")) > 0
    assert model.level_bits("id", [lv.name for lv in COMPARISONS_BY_NAME["id"].levels]
                            .index("indel")) > 10  # fmt: skip
    assert model.tf["fam"]["nguyen"] > 0.2


def test_identifier_weights_follow_registry_size() -> None:
    model = _model()
    small = model.level_bits("id", 1, 1000)
    assert model.level_bits("id", 1, 8000) == pytest.approx(small + 3)
    assert model.level_bits("dob", 1, 8000) == model.level_bits("dob", 1, 1000)
    assert model.prior_bits(8000) == pytest.approx(model.prior_bits(1000) - 3, abs=0.01)

"""`vaxlink link` and `vaxlink eval` end to end on a small synthetic set, judged by its metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vaxlink.linkage.cli import app
from vaxlink.linkage.evaluate import EvalReport, evaluate
from vaxlink.linkage.files import RESULT_COLUMNS, explain_path

runner = CliRunner()


@pytest.fixture(scope="module")
def linked(synth_small: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The result file of `vaxlink link` on the small synthetic set (packaged model)."""
    out = tmp_path_factory.mktemp("link") / "result.csv"
    res = runner.invoke(app, ["link", "--registry", str(synth_small["registry"]),
                              "--doses", str(synth_small["doses"]), "--out", str(out),
                              "--today", "2025-01-01"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "auto_linked" in res.output
    return out


@pytest.fixture(scope="module")
def report(synth_small: dict[str, Path], linked: Path) -> EvalReport:
    """The evaluation of that result against the truth."""
    return evaluate(synth_small["truth"], linked)


def test_acceptance_metrics(report: EvalReport) -> None:
    assert report.precision >= 0.9999
    assert report.auto_share_dirty >= 0.95
    assert report.recall_at_3 >= 0.997
    assert report.recall_at_3_all >= 0.997
    assert report.absent_people > 100
    assert report.absent_people_linked == 0
    assert report.invalid_correct == report.invalid_expected == report.invalid_found > 0


def test_hard_errors_are_mostly_linked(report: EvalReport) -> None:
    for error in ("id_missing", "id_wrong_digit", "id_transposed", "id_other_person",
                  "name_typo", "dob_day_month_swap", "name_reversed_order"):  # fmt: skip
        stats = report.by_error[error]
        assert stats.wrong_links == 0, error
        assert stats.auto_share >= 0.9, error


def _text_csv(path: Path, columns: tuple[str, ...]) -> pa.Table:
    types = {c: pa.string() for c in columns}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))


def test_result_shape(synth_small: dict[str, Path], linked: Path) -> None:
    result = _text_csv(linked, RESULT_COLUMNS)
    doses = _text_csv(synth_small["doses"], ("record_id",))
    assert tuple(result.column_names) == RESULT_COLUMNS
    assert result.column("record_id").to_pylist() == doses.column("record_id").to_pylist()
    rows = result.to_pylist()
    for row in rows[:2000]:
        cands = json.loads(row["candidates"])
        assert len(cands) <= 3
        probabilities = [c["probability"] for c in cands]
        assert probabilities == sorted(probabilities, reverse=True)
        if row["status"] in ("verified", "auto_linked"):
            assert row["citizen_id"]
            assert cands[0]["citizen_id"] == row["citizen_id"]
        else:
            assert not row["citizen_id"]
        if row["status"] in ("review", "unmatched", "invalid"):
            assert row["reason"]
        if row["status"] != "auto_linked":
            assert not row["corrected_fields"]
    corrected = {f for r in rows if r["corrected_fields"] for f in r["corrected_fields"].split(";")}
    assert corrected == {"id_number", "full_name", "date_of_birth", "sex"}


def test_explanations(linked: Path) -> None:
    lines = [json.loads(x) for x in explain_path(linked).read_text().splitlines()]
    reviews = [x for x in lines if x["status"] == "review"]
    assert reviews, "no review record explained"
    first = reviews[0]["candidates"][0]
    assert set(first["fields"]) >= {"family", "given", "dob", "id", "phone"}
    assert {"level", "bits"} <= set(first["fields"]["dob"])
    assert any(x["rule"] and x["rule"].startswith("id_") for x in lines)


def test_eval_command_and_parquet(
    synth_small: dict[str, Path], linked: Path, tmp_path: Path
) -> None:
    res = runner.invoke(app, ["eval", "--truth", str(synth_small["truth"]), "--result", str(linked),
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["wrong_auto_links"] == 0
    res = runner.invoke(
        app, ["eval", "--truth", str(synth_small["truth"]), "--result", str(linked)]
    )
    assert "precision of automatic links" in res.output
    out = tmp_path / "result.parquet"
    res = runner.invoke(app, ["link", "--registry", str(synth_small["registry"]), "--doses",
                              str(synth_small["doses"]), "--out", str(out), "--no-explain",
                              "--today", "2025-01-01"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pq.read_table(out).column_names == list(RESULT_COLUMNS)
    assert not explain_path(out).exists()
    assert evaluate(synth_small["truth"], out).wrong_auto_links == 0


def test_bad_inputs(synth_small: dict[str, Path], tmp_path: Path) -> None:
    res = runner.invoke(app, ["link", "--registry", str(synth_small["registry"]), "--doses",
                              str(synth_small["doses"]), "--out", str(tmp_path / "r.txt")])  # fmt: skip
    assert res.exit_code != 0
    res = runner.invoke(app, ["link", "--registry", str(synth_small["registry"]), "--doses",
                              str(synth_small["doses"]), "--out", str(tmp_path / "r.csv"),
                              "--engine", "nosuch"])  # fmt: skip
    assert res.exit_code != 0

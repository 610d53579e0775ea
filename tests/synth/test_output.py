"""Files on disk: names, headers, byte-for-byte determinism, formats, and the Typer command."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from vaxlink.synth import DOSE_COLUMNS, REGISTRY_COLUMNS, TRUTH_COLUMNS, generate, write
from vaxlink.synth.cli import synth
from vaxlink.synth.errors import SynthError
from vaxlink.synth.output import DoseFormat


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize("fmt", list(DoseFormat))
def test_same_seed_same_bytes(tmp_path: Path, fmt: DoseFormat) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write(generate(1_500, seed=42), a, dose_format=fmt)
    write(generate(1_500, seed=42), b, dose_format=fmt)
    write(generate(1_500, seed=43), c, dose_format=fmt)
    assert _digest(a) == _digest(b)
    assert sorted(_digest(a)) == sorted(
        ["registry.csv", f"doses.{fmt.value}", "truth.csv", "facilities.csv"]
    )
    assert _digest(a)["registry.csv"] != _digest(c)["registry.csv"]


def test_csv_files_read_back(tmp_path: Path) -> None:
    result = generate(1_000, seed=1)
    paths = write(result, tmp_path)
    assert _header(paths["registry"]) == list(REGISTRY_COLUMNS)
    assert _header(paths["doses"]) == list(DOSE_COLUMNS)
    assert _header(paths["truth"]) == list(TRUTH_COLUMNS)
    with paths["registry"].open(encoding="utf-8", newline="") as f:
        registry = list(csv.DictReader(f))
    assert [r["citizen_id"] for r in registry] == result.registry.column("citizen_id").to_pylist()
    assert all(len(r["citizen_id"]) == 12 for r in registry)  # leading zeros kept
    assert any("," in r["address"] for r in registry)  # quoted where needed
    with paths["truth"].open(encoding="utf-8", newline="") as f:
        truth = list(csv.DictReader(f))
    assert len(truth) == result.doses.num_rows
    assert {t["in_registry"] for t in truth} == {"true", "false"}
    assert any(t["errors"] == "" for t in truth)


def test_parquet_and_xlsx_hold_the_same_records(tmp_path: Path) -> None:
    result = generate(300, seed=2)
    pq_path = write(result, tmp_path / "p", dose_format="parquet")["doses"]
    assert pq.read_table(pq_path).equals(result.doses)
    xlsx_path = write(result, tmp_path / "x", dose_format="xlsx")["doses"]
    wb = load_workbook(xlsx_path, read_only=True)
    try:
        ws = wb.active
        assert ws is not None
        values = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    assert list(values[0]) == list(DOSE_COLUMNS)
    assert len(values) == result.doses.num_rows + 1
    first = result.doses.slice(0, 1).to_pylist()[0]
    assert [v for v in values[1]] == [first[c] for c in DOSE_COLUMNS]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vaxlink.synth.output.XLSX_MAX_ROWS", 10)
    with pytest.raises(SynthError, match="Excel"):
        write(generate(100, seed=1), tmp_path, dose_format="xlsx")


def test_cli_writes_the_files(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["--citizens", "500", "--out", str(out), "--seed", "9", "--dose-format", "parquet"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "registry.csv").is_file()
    assert (out / "doses.parquet").is_file()
    assert (out / "truth.csv").is_file()
    assert "dose records" in res.output


def test_cli_rejects_a_bad_format(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(synth)
    res = CliRunner().invoke(app, ["--out", str(tmp_path), "--dose-format", "json"])
    assert res.exit_code != 0

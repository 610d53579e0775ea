"""Daily report files: the XLSX cells are the independent figures, the same inputs give the same
bytes, the PDF reads back in Vietnamese, and `vaxlink report daily` works for a past day."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.reports.expected import expected
from tests.reports.world import DAY2, NOW, TODAY, Built
from vaxlink.db import transaction
from vaxlink.geo.codes import NATION, Level, UnitKey
from vaxlink.reports import query
from vaxlink.reports.figures import end_of_day, refresh_due
from vaxlink.reports.labels import TABLE_COLUMNS
from vaxlink.reports.service import generate, render


def _busiest_province(built: Built, day: dt.date) -> UnitKey:
    with transaction(built.engine) as s:
        rows = query.children(s, day, NATION)
    best = max((r for r in rows if r.drill), key=lambda r: r.figures["doses_recorded"])
    assert best.drill is not None
    return best.drill


def test_xlsx_cells_are_the_independent_figures(
    built: Built, report_synth: dict[str, Path]
) -> None:
    with transaction(built.engine) as s:
        refresh_due(s, now=NOW, backfill_days=1)
    province = _busiest_province(built, DAY2)
    with transaction(built.engine) as s:
        files = render(s, province, DAY2)
    want, _ = expected(built.engine, report_synth["registry"], end_of_day(DAY2), NOW)
    wb = load_workbook(io.BytesIO(files.xlsx))
    summary = wb["Tong quan"]
    cells = {summary.cell(row=r, column=2).value: summary.cell(row=r, column=3).value
             for r in range(8, 8 + len(TABLE_COLUMNS))}  # fmt: skip
    mine = want[("province", province.code, "", "", "")]
    assert cells["Doses recorded"] == mine["doses_recorded"]
    assert cells["Sent for verification"] == mine.get("doses_sent", 0)
    linked = mine.get("doses_verified", 0) + mine.get("doses_auto_linked", 0)
    assert cells["Verified (matched to the registry)"] == linked
    assert cells["Wrong (not verified)"] == mine.get("doses_sent", 0) - linked
    assert cells["People verified"] == mine.get("people_verified", 0)
    below = wb["Don vi cap duoi"]
    header = [c.value for c in below[1]]
    col = {name.split("\n")[1]: i for i, name in enumerate(header) if name and "\n" in name}
    total_recorded = 0
    for line in below.iter_rows(min_row=2, values_only=True):
        if line[1] == "Tổng":
            assert line[col["Doses recorded"]] == mine["doses_recorded"]
            continue
        code = line[0] or ""
        district = want.get(("district", province.code, code, "", ""), {})
        assert line[col["Doses recorded"]] == district.get("doses_recorded", 0), code
        assert line[col["Citizen reports open"]] == district.get("tickets_open", 0), code
        total_recorded += line[col["Doses recorded"]]
    assert total_recorded == mine["doses_recorded"], "the districts add up to the province"
    sites = wb["Co so tiem"]
    site_total = sum(r[col["Doses recorded"]] for r in sites.iter_rows(min_row=2, values_only=True))
    assert site_total == mine["doses_recorded"]


def test_same_inputs_same_bytes_and_stored_once(built: Built, tmp_path: Path) -> None:
    with transaction(built.engine) as s:
        refresh_due(s, now=NOW, backfill_days=1)
    province = _busiest_province(built, DAY2)
    with transaction(built.engine) as s:
        a = render(s, province, DAY2)
    with transaction(built.engine) as s:
        b = render(s, province, DAY2)
        first = generate(s, tmp_path, province, DAY2, now=NOW, by="t")
        again = generate(s, tmp_path, province, DAY2, now=NOW + dt.timedelta(hours=1), by="t")
    assert a.xlsx == b.xlsx
    assert a.pdf == b.pdf
    assert first.id == again.id
    assert (tmp_path / first.xlsx_path).read_bytes() == a.xlsx
    assert (first.level, first.unit_code, first.province_code) == ("province", province.code,
                                                                   province.code)  # fmt: skip


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_reads_back(built: Built, tmp_path: Path) -> None:
    with transaction(built.engine) as s:
        refresh_due(s, now=NOW)
        files = render(s, NATION, TODAY)
        nation = query.unit_figures(s, TODAY, NATION)
    path = tmp_path / "r.pdf"
    path.write_bytes(files.pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert "Báo cáo tiến độ xác thực dữ liệu tiêm chủng" in out
    assert "Việt Nam" in out
    assert f"{nation['doses_sent']:,}".replace(",", ".") in out
    assert "Số liệu tính đến" in out


def test_cli_daily_for_a_past_day_is_reproducible(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaxlink.reports.cli import app
    from vaxlink.settings import get_settings

    monkeypatch.setenv("VAXLINK_DATABASE_URL", built.url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        with transaction(built.engine) as s:
            refresh_due(s, now=NOW, backfill_days=1)
        with transaction(built.engine) as s:
            district = query.children(s, DAY2, _busiest_province(built, DAY2))[0].drill
        assert district is not None
        assert district.level is Level.DISTRICT
        runner = CliRunner()
        outs = []
        for n in (1, 2):
            out = tmp_path / f"out{n}"
            result = runner.invoke(app, ["daily", "--unit", str(district), "--date",
                                         DAY2.isoformat(), "--out", str(out)])  # fmt: skip
            assert result.exit_code == 0, result.output
            assert "doses sent for verification" in result.output
            outs.append(out)
        names = sorted(p.name for p in outs[0].iterdir())
        assert names == [f"vaxlink-{DAY2}-district-{district.code}.pdf",
                         f"vaxlink-{DAY2}-district-{district.code}.xlsx"]  # fmt: skip
        for name in names:
            assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
        bad = runner.invoke(app, ["daily", "--unit", "001", "--date", DAY2.isoformat()])
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()

"""The SVG charts: bars coloured by level (a full bar is green, not red), labels that fit, numbers
per language; the daily PDF report carries the chart of the units below."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.reports.trend_world import LAST, write_figures
from vaxlink.db import make_engine, transaction
from vaxlink.geo.codes import NATION
from vaxlink.reports import charts, daily


def test_bars_are_coloured_by_level() -> None:
    svg = charts.share_bars([("Hà Nội", 1.0), ("Hà Giang", 0.85), ("Cao Bằng", 0.5),
                             ("Một tỉnh có cái tên rất là dài để thử", None)], "vi", title="T")  # fmt: skip
    levels = re.findall(r'data-level="(\w+)"', svg)
    assert levels == ["good", "fair", "low", "none"]
    fills = re.findall(r'<rect [^>]*fill="(#\w+)" data-level', svg)
    assert fills == [charts.GREEN, charts.AMBER, charts.RED, charts.GREY]
    assert "100,0 %" in svg
    assert "85,0 %" in svg
    assert "Một tỉnh có cái tên rất…" in svg  # shortened on the axis, whole in the tooltip
    assert "<title>Một tỉnh có cái tên rất là dài để thử: –</title>" in svg
    assert "<script" not in charts.share_bars([("<script>", 0.5)], "en", title="x")


def test_trend_labels_fit_and_numbers_are_vietnamese() -> None:
    days = [charts.TrendDay(dt.date(2021, 10, 1) + dt.timedelta(days=i), 1500 + i, 20)
            for i in range(30)]  # fmt: skip
    svg = charts.trend(days, "vi", title="T", verified_label="Khớp", corrected_label="Sửa")
    assert svg.count('<g class="day"') == 30
    x_labels = re.findall(r">(\d\d/\d\d)</text>", svg)
    assert 1 < len(x_labels) <= 8
    assert x_labels[0] == "01/10"
    assert "1.500" in svg  # an axis step, Vietnamese thousands
    assert 'width="100%"' in svg
    assert "1.529" in svg  # the last day's tooltip


def test_pdf_report_has_the_chart(store_url: str, tmp_path: Path) -> None:
    engine = make_engine(store_url)
    try:
        write_figures(engine)
        with transaction(engine) as s:
            data = daily.collect(s, NATION, LAST)
    finally:
        engine.dispose()
    html = daily.render_html(data)
    assert html.count('data-level="') == 3
    assert 'data-level="good"' in html
    assert 'data-level="fair"' in html
    assert 'data-level="low"' in html
    assert "Tỷ lệ xác thực theo đơn vị cấp dưới" in html
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    path = tmp_path / "r.pdf"
    path.write_bytes(daily.pdf_bytes(data))
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "Tỷ lệ xác thực theo đơn vị cấp dưới" in out
    assert "85,0 %" in out
    assert re.search(r"\b80 %.*\b95 %", out)  # the chart's axis: drawn, not left out
    assert "Tỉnh Cao Bằng" in out

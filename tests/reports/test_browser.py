"""In the browser: a national user drills down nation → province → district → ward, the charts
draw, and the XLSX export downloads and opens with the numbers of the page.

With VAXLINK_SCREENSHOTS=1 the national dashboard is saved to docs/screenshots/dashboard.png."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.reports.world import NOW, build
from tests.web_support import login
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.reports.figures import refresh_due

pytestmark = pytest.mark.browser
SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"


def _wait_charts(page) -> None:
    page.wait_for_selector("#dash[data-rendered='1']", timeout=15_000)
    box = page.locator("#chart-progress").bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 100


def test_drill_down_charts_and_export(
    live_server, make_user, page, report_synth: dict[str, Path], tmp_path: Path
) -> None:
    url = live_server.settings.resolved_database_url()
    build(url, live_server.engine, tmp_path / "data", report_synth)
    with transaction(live_server.engine) as s:
        refresh_due(s, now=NOW, backfill_days=2)
    account = make_user(live_server.engine, Role.NATIONAL_ISSUER, "VN")
    login(page, live_server.url, account, next_path="/dashboard")
    page.goto(live_server.url + "/dashboard")
    _wait_charts(page)
    assert page.locator("#dash-unit").inner_text() == "Việt Nam"
    if os.environ.get("VAXLINK_SCREENSHOTS"):
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.screenshot(path=str(SHOT), full_page=False)
    # The export holds the numbers the table shows.
    with page.expect_download() as info:
        page.click("#export-below")
    ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    shown = page.locator("#table-below tfoot td").first.inner_text()
    total = list(ws.iter_rows(min_row=2, values_only=True))[-1]
    assert f"{total[2]:,}".replace(",", ".") == shown
    # Drill down one level per click, the chart redrawn each time.
    for expected_level in ("province", "district", "ward"):
        link = page.locator("#table-below tbody tr[data-key] th a").first
        name = link.inner_text()
        link.click()
        page.wait_for_function(
            "name => document.getElementById('dash-unit')?.innerText === name", arg=name
        )
        assert page.locator("#dash").get_attribute("data-unit").startswith(expected_level)
        assert f"unit={expected_level}" in page.url
        _wait_charts(page)
    assert page.locator("#table-below").count() == 0, "a ward has no level below"

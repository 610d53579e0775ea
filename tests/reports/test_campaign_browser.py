"""In the browser (Chromium, Vietnamese): a district officer sees the campaign's phases on the
dashboard with their state, opens the ageing page of unfixed errors, sorts it, finds the site
head's name, and downloads the XLSX."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.reports.campaign_world import HEAD, build_ageing, build_phases
from tests.web_support import login
from vaxlink.auth.roles import Role

pytestmark = pytest.mark.browser


def test_district_officer_sees_phases_and_ageing(live_server, make_user, page) -> None:
    now = dt.datetime.now(dt.UTC)
    made = build_phases(live_server.engine, now)
    build_ageing(live_server.engine, now)
    account = make_user(live_server.engine, Role.DISTRICT_HEALTH, "district:001")
    login(page, live_server.url, account, next_path="/dashboard")
    page.goto(live_server.url + "/dashboard")
    phases = page.locator("#phases li.phase")
    assert phases.count() == 4
    late = page.locator(f'li[data-phase="{made["late"]}"]')
    assert late.get_attribute("data-state") == "late"
    assert "Trễ hạn" in late.inner_text()
    assert "Quá hạn 1 ngày" in late.inner_text()
    # the colour carries the state too: red border for late, green for on track
    red = late.evaluate("e => getComputedStyle(e).borderLeftColor")
    green = page.locator(f'li[data-phase="{made["on_track"]}"]').evaluate(
        "e => getComputedStyle(e).borderLeftColor"
    )
    assert red == "rgb(207, 34, 46)"
    assert green == "rgb(26, 127, 55)"
    assert page.locator(f'li[data-phase="{made["elsewhere"]}"]').count() == 0
    # The ageing page, from the menu.
    page.click('a[href="/ageing"]')
    page.wait_for_selector("#table-ageing")
    assert "Lỗi chưa sửa theo cơ sở" in page.locator("h1").inner_text()
    rows = page.locator("#table-ageing tbody tr")
    assert [rows.nth(i).get_attribute("data-site") for i in range(rows.count())] == [
        "F-BD",
        "F-NEW",
    ]
    bd = page.locator('tr[data-site="F-BD"]')
    assert bd.locator("td.head").inner_text() == HEAD
    assert bd.locator("td.total").inner_text() == "4"
    assert bd.locator("td.d15").inner_text() == "1"
    page.select_option("#ageing-sort", "site")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "sort=site" in page.url
    with page.expect_download() as info:
        page.click("#export-ageing")
    ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    assert ws is not None
    assert ws.cell(3, 4).value == HEAD

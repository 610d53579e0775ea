"""The dashboard on a 390 px phone in Chromium: the trend chart fits, the units' bars are coloured
by level (not all red), and typed dates pick the period."""

from __future__ import annotations

import pytest

from tests.reports.trend_world import write_figures
from tests.web_support import login
from vaxlink.auth.roles import Role

pytestmark = pytest.mark.browser


def test_dashboard_fits_a_phone_and_picks_a_period(live_server, make_user, phone_page) -> None:
    page = phone_page
    write_figures(live_server.engine)
    account = make_user(live_server.engine, Role.NATIONAL_ISSUER, "VN")
    login(page, live_server.url, account, next_path="/dashboard")
    page.wait_for_selector("#dash[data-rendered='1']", timeout=20_000)
    colours = page.get_attribute("#dash", "data-worst-colours") or ""
    assert set(colours.split()) == {"#1a7f37", "#bf8700", "#cf222e"}  # green, amber, red
    trend = page.locator("#trend svg").bounding_box()
    assert trend is not None
    assert trend["width"] <= 390
    assert trend["height"] > 80
    assert page.locator("#trend g.day").count() == 7
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.select_option("#period-choice", "custom")
    page.fill("#period-from", "01/11/2021")
    page.fill("#period-to", "14/11/2021")
    with page.expect_navigation():
        page.click("#period-show")
    page.wait_for_selector("#dash[data-rendered='1']", timeout=20_000)
    assert page.inner_text("#period-range") == "Từ 01/11/2021 đến 14/11/2021"
    assert page.locator("#trend g.day").count() == 14
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

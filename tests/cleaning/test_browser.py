"""In Chromium: a police officer confirms a candidate from the worklist and sees the dose
verified; two people edit the same dose in two browsers and the second is shown the conflict."""

from __future__ import annotations

from typing import Any

from tests.cleaning.world import build
from tests.web_support import LiveServer, MakeUser, login
from vaxlink.auth.roles import Role


def test_police_confirms_a_candidate(
    live_server: LiveServer, make_user: MakeUser, page: Any
) -> None:
    with live_server.session() as s:
        world = build(s)
    police = make_user(live_server.engine, Role.COMMUNE_POLICE, "ward:00001")
    login(page, live_server.url, police, next_path="/worklist")
    page.goto(f"{live_server.url}/worklist")
    page.click(f'tr[data-dose="{world.doses["an1"]}"] a')
    page.wait_for_selector("#comparison")
    assert "Nguyễn Văn An" in page.inner_text("#comparison")
    with page.expect_navigation():
        page.click("#confirm-1")
    assert page.get_attribute("#dose-status", "data-status") == "verified"
    assert page.inner_text("#dose-citizen") == "001085012345"
    page.goto(f"{live_server.url}/worklist")
    assert page.locator(f'tr[data-dose="{world.doses["an1"]}"]').count() == 0


def test_second_of_two_browsers_is_shown_the_conflict(
    live_server: LiveServer, make_user: MakeUser, browser: Any, page: Any
) -> None:
    with live_server.session() as s:
        world = build(s)
    health = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    committee = make_user(live_server.engine, Role.COMMUNE_COMMITTEE, "ward:00001")
    other_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    other = other_context.new_page()
    try:
        url = f"{live_server.url}/worklist/doses/{world.doses['an2']}"
        for p, account in ((page, health), (other, committee)):
            login(p, live_server.url, account)
            p.goto(url)
            p.click("#correct summary")
        page.fill("#correction-form input[name=lot_number]", "LOT-A")
        page.fill("#correction-form input[name=reason]", "sổ tiêm chủng")
        with page.expect_navigation():
            page.click("#save-correction")
        assert page.is_visible("#saved")
        other.fill("#correction-form input[name=lot_number]", "LOT-B")
        other.fill("#correction-form input[name=reason]", "giấy của trạm")
        with other.expect_navigation():
            other.click("#save-correction")
        assert other.is_visible("#conflict-title")
        assert "LOT-A" in other.inner_text("main")
        assert health.username in other.inner_text("main")
        page.reload()
        assert page.input_value("#correction-form input[name=lot_number]") == "LOT-A"
    finally:
        other_context.close()

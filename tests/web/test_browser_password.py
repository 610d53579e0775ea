"""A health-station worker changes their own password in Chromium on a phone: from the home
page's link, a refused attempt with the reason in Vietnamese, then the confirmation."""

from __future__ import annotations

import pytest
from tests.web_support import login

from vaxlink.auth.roles import Role

pytestmark = pytest.mark.browser


def test_phone_changes_own_password(live_server, make_user, phone_page) -> None:
    page = phone_page
    account = make_user(live_server.engine, Role.HEALTH_STATION)
    login(page, live_server.url, account)
    page.click("#change-password")
    page.wait_for_selector("#password-form")
    page.fill("#password-current", account.password)
    page.fill("#password-new", "lantern orchard 58 velvet canyon")
    page.fill("#password-repeat", "lantern orchard 58 velvet canyonx")
    page.click("#password-submit")
    page.wait_for_selector("#password-error")
    assert "không giống nhau" in page.inner_text("#password-error")
    page.fill("#password-current", account.password)
    page.fill("#password-new", "lantern orchard 58 velvet canyon")
    page.fill("#password-repeat", "lantern orchard 58 velvet canyon")
    page.click("#password-submit")
    page.wait_for_selector("#password-changed")
    assert "Đã đổi mật khẩu" in page.inner_text("#password-changed")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#password-home")
    page.wait_for_selector("#abilities")  # still logged in

"""A real browser logs in, sees its role and unit, switches language and logs out."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web_support import LiveServer, MakeUser, login

from vaxlink.auth.roles import Role

pytestmark = pytest.mark.browser


def test_login_home_language_logout(live_server: LiveServer, make_user: MakeUser,
                                    page: Any) -> None:  # fmt: skip
    account = make_user(live_server.engine, Role.COMMUNE_POLICE, "ward:00001")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/login?next=")
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", "wrong password!")
    page.click("#login-form button[type=submit]")
    assert "không đúng" in page.inner_text("#login-error")
    login(page, live_server.url, account)
    assert page.url == live_server.url + "/"
    assert page.inner_text("#who-role") == "Công an xã"
    assert page.inner_text("#who-unit") == "Phường Phúc Xá"
    assert page.evaluate("typeof htmx") == "object"  # vendored script allowed by the CSP
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == (
        "rgb(255, 255, 255)"
    )  # the stylesheet loaded
    page.click("#switch-language")
    assert page.inner_text("#who-role") == "Commune police"
    page.goto(live_server.url + "/")
    assert page.inner_text("#who-role") == "Commune police"  # remembered
    page.click("#logout")
    page.wait_for_url(live_server.url + "/login")
    page.goto(live_server.url + "/")
    assert "/login" in page.url
    blocked = [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    assert not blocked, blocked
    assert not missing, missing


def test_phone_layout(live_server: LiveServer, make_user: MakeUser, phone_page: Any) -> None:
    account = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    login(phone_page, live_server.url, account)
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the home page scrolls sideways on a phone ({width}px)"
    assert phone_page.is_visible("#logout")


def test_htmx_requests_carry_the_csrf_token(
    live_server: LiveServer, make_user: MakeUser, page: Any
) -> None:
    """htmx sends the token from `hx-headers`: an htmx POST to /logout is accepted."""
    account = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    login(page, live_server.url, account)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/logout") else None)
    page.evaluate("htmx.ajax('POST', '/logout', {target: 'main', swap: 'innerHTML'})")
    page.wait_for_selector("#login-form")
    assert statuses == [303]
    page.goto(live_server.url + "/")
    assert "/login" in page.url


def test_admin_reads_the_audit_log_on_a_phone(
    live_server: LiveServer, make_user: MakeUser, phone_page: Any
) -> None:
    admin = make_user(live_server.engine, Role.ADMIN, "VN")
    login(phone_page, live_server.url, admin)
    phone_page.click("nav.menu a[href='/audit']")
    phone_page.wait_for_selector("#audit-entries")
    actions = phone_page.locator("#audit-entries tbody tr td:nth-child(4)").all_inner_texts()
    assert any("auth.login" in a for a in actions)  # the label, with the code beside it
    assert any("user.create" in a for a in actions)
    assert any("Đăng nhập" in a for a in actions)
    width = phone_page.evaluate("document.body.scrollWidth")
    assert width <= 390 + 1, f"the audit page scrolls sideways ({width}px)"

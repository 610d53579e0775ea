"""In the browser (#18): the national administrator (password and TOTP) adds a partner
application on `/admin/partners`, copies its token shown once, rotates it after ticking the
confirmation, revokes it; the page is Vietnamese and the old tokens stop working at once."""

from __future__ import annotations

import httpx
import pytest
from tests.web_language import assert_page_language
from tests.web_support import login

from vaxlink.auth.roles import Role

pytestmark = pytest.mark.browser


def _feed(base: str, token: str) -> int:
    answer = httpx.get(base + "/api/v1/certificates/changes",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return answer.status_code


def test_the_administrator_manages_a_partner_in_the_browser(
    live_server, make_user, page, tmp_path
) -> None:
    admin = make_user(live_server.engine, Role.ADMIN, "VN")
    login(page, live_server.url, admin, next_path="/admin/partners")
    page.goto(live_server.url + "/admin/partners")
    assert page.locator("h1").inner_text() == "Ứng dụng đối tác nhận chứng nhận"
    page.click("#add summary")
    page.fill("#add-form input[name=name]", "So suc khoe")
    page.check("#add-form input[name=scopes][value='changes:read']")
    page.check("#add-form input[name=fields][value=minimal]")
    page.uncheck("#add-form input[name=kinds][value=r]")
    page.fill("#add-form input[name=per_minute]", "120")
    page.click("#add-partner")
    page.wait_for_selector("#token")
    token = page.locator("#token").inner_text()
    assert token.startswith("vxl_")
    row = page.locator("tr[data-client='So suc khoe']").inner_text()
    for shown in ("Đang hoạt động", "Tối thiểu", "Tiêm chủng", "120", "Chưa dùng"):
        assert shown in row, shown
    assert_page_language(page, "vi")
    page.screenshot(path=str(tmp_path / "partners.png"), full_page=True)
    assert _feed(live_server.url, token) == 200

    page.goto(live_server.url + "/admin/partners")
    assert page.locator("#token").count() == 0  # shown once
    actions = page.locator("tr[data-client='So suc khoe'] details")
    actions.locator("summary").click()
    rotate = actions.locator("form:has(button[data-action=rotate])")
    rotate.locator("button").click()  # not ticked: the browser keeps the form
    assert page.locator("#token").count() == 0
    rotate.locator("input[name=confirm]").check()
    rotate.locator("button").click()
    page.wait_for_selector("#token")
    fresh = page.locator("#token").inner_text()
    assert fresh != token
    assert _feed(live_server.url, token) == 401
    assert _feed(live_server.url, fresh) == 200

    actions = page.locator("tr[data-client='So suc khoe'] details")
    actions.locator("summary").click()
    revoke = actions.locator("form:has(button[data-action=revoke])")
    revoke.locator("input[name=confirm]").check()
    revoke.locator("button").click()
    page.wait_for_selector("#partner-done")
    assert "Đã thu hồi" in page.locator("tr[data-client='So suc khoe']").inner_text()
    assert _feed(live_server.url, fresh) == 401

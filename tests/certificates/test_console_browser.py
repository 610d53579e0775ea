"""In the browser (#14): the national issuer signs in with password and TOTP, runs an issue from
the console and sees its result, revokes a certificate with a reason, and sees both actions in
the console's audit list; an administrator finds them in the audit log page under the issuer's
name."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from tests.web_support import login

from vaxlink.auth.roles import Role
from vaxlink.certificates.models import Certificate

from .conftest import World

pytestmark = pytest.mark.browser
REASON = "thẻ bị mất, báo cáo ngày 07/12"


def test_the_issuer_issues_revokes_and_finds_both_in_the_audit_log(
    live_server, make_user, page, browser, pki
) -> None:
    world = World(live_server.engine, pki)
    for i in range(3):
        world.citizen(f"00108500080{i}", f"Người Thứ {i}")
        world.dose(f"00108500080{i}", 1, dt.date(2021, 8, 2))
        world.dose(f"00108500080{i}", 2, dt.date(2021, 8, 30))
    world.approve()
    pki.save(live_server.settings.data_dir / "keys")
    issuer = make_user(live_server.engine, Role.NATIONAL_ISSUER, "VN")
    assert issuer.totp_secret is not None  # the role must pass a second factor

    login(page, live_server.url, issuer, next_path="/issuer")  # password, then the TOTP code
    page.goto(live_server.url + "/issuer")
    assert pki.dsc.kid.hex() in page.locator("#issuer-keys").inner_text()
    # the test DSC ends within the rollover notice: the custodian is told, in Vietnamese
    due = page.locator("#issuer-warnings [data-warning='issuer.warn.dsc_due']").inner_text()
    assert "tạo khóa kế tiếp trước ngày đó" in due
    page.check("#issue-form input[name=kind][value=v]")
    page.uncheck("#issue-form input[name=kind][value=r]")
    page.click("#issue-go")
    page.wait_for_selector("#run-done", timeout=60_000)  # the run page refreshes itself
    assert "3" in page.locator("#run-done").inner_text()
    assert page.locator("#run-failed").count() == 0

    with live_server.session() as s:
        issued = list(s.scalars(select(Certificate).order_by(Certificate.id)))
    assert len(issued) == 3
    assert {c.created_by for c in issued} == {issuer.username}
    target = issued[1]

    page.goto(live_server.url + "/issuer")
    volume = page.locator(f"#issuer-volume tr[data-account='{issuer.username}'] td")
    assert volume.all_inner_texts() == [issuer.username, "3", "3"]
    page.fill("#revoke-uvci", target.uvci)
    page.fill("#revoke-reason", REASON)
    page.click("#revoke-go")
    page.wait_for_selector("#issuer-revoked")
    assert str(target.id) in page.locator("#issuer-revoked").inner_text()
    with live_server.session() as s:
        assert s.get(Certificate, target.id).status == "revoked"  # type: ignore[union-attr]

    actions = page.locator("#issuer-actions")
    revoked = actions.locator("tr[data-action='certificate.revoke']")
    assert revoked.count() == 1
    assert issuer.username in revoked.inner_text()
    assert REASON in revoked.inner_text()
    run = actions.locator("tr[data-action='certificate.issue_run']")
    assert run.count() == 1
    assert issuer.username in run.inner_text()
    assert "issued: 3" in run.inner_text()

    # The same entries in the audit log, for the administrator who reads it.
    admin = make_user(live_server.engine, Role.ADMIN, "VN")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    try:
        other = context.new_page()
        login(other, live_server.url, admin, next_path="/audit")
        other.goto(live_server.url + "/audit?action=certificate.")
        rows = other.locator("#audit-entries tbody tr")
        texts = rows.all_inner_texts()
        revoke_rows = [t for t in texts if "certificate.revoke" in t]
        issue_rows = [t for t in texts if "certificate.issue_run" in t]
        assert len(revoke_rows) == 1
        assert len(issue_rows) == 1
        assert issuer.username in revoke_rows[0]
        assert REASON in revoke_rows[0]
        assert f"Chứng nhận {target.id}" in revoke_rows[0].replace("\n", " ")
        assert issuer.username in issue_rows[0]
    finally:
        context.close()

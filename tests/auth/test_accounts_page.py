"""The administrator's accounts page: create (a system-made password shown once), disable,
enable, new password, second-factor reset; scoped to the administrator's unit; audited with the
administrator as actor (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_support import PASSWORD, home_waiting
from vaxlink.auth import service
from vaxlink.auth.models import AuditEntry, User
from vaxlink.auth.roles import Role
from vaxlink.db import transaction


def _password(html: str) -> str:
    found = re.search(r'id="new-password">[^<]*<code translate="no">([^<]+)</code>', html)
    assert found is not None, html[:2000]
    return found[1]


def _logs_in(admin: Any, username: str, password: str) -> bool:
    client = TestClient(admin.app)
    client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "next": "/",
                    "csrf_token": client.cookies.get("vaxlink_csrf")}, follow_redirects=False)  # fmt: skip
    return r.status_code == 303


def test_the_administrator_manages_accounts(staff_client: Callable[..., Any]) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    page = admin.get("/admin/accounts")
    assert page.status_code == 200
    assert 'id="create-form"' in page.text
    r = admin.post("/admin/accounts", data={"username": "ca.phucxa", "role": "commune_police",
                   "unit": "ward:00001", "display_name": "Trần Văn Công"})  # fmt: skip
    assert r.status_code == 201, r.text[:500]
    first = _password(r.text)
    assert len(first) == 16
    assert 'data-user="ca.phucxa"' in r.text
    assert _logs_in(admin, "ca.phucxa", first)
    with transaction(admin.engine) as s:
        uid = s.scalar(select(User.id).where(User.username == "ca.phucxa"))
    assert admin.post(f"/admin/accounts/{uid}/disable", follow_redirects=False).status_code == 303
    assert not _logs_in(admin, "ca.phucxa", first)
    assert admin.post(f"/admin/accounts/{uid}/enable", follow_redirects=False).status_code == 303
    reset = admin.post(f"/admin/accounts/{uid}/password")
    second = _password(reset.text)
    assert second != first
    assert not _logs_in(admin, "ca.phucxa", first)
    assert _logs_in(admin, "ca.phucxa", second)
    assert (
        admin.post(f"/admin/accounts/{uid}/second-factor", follow_redirects=False).status_code
        == 303
    )
    # a bad unit is refused with what was typed kept
    bad = admin.post("/admin/accounts", data={"username": "x.y", "role": "commune_police",
                     "unit": "district:001", "display_name": "Lê Thị Hoa"})  # fmt: skip
    assert bad.status_code == 422
    assert 'value="Lê Thị Hoa"' in bad.text
    with transaction(admin.engine) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
                         .where(AuditEntry.object_type == "user",
                                AuditEntry.object_id == str(uid))).all()  # fmt: skip
    rows = [r for r in rows if r[0].startswith("user.")]  # not the account's own logins
    actions = [a for a, _u, _d in rows]
    assert actions == ["user.create", "user.disable", "user.enable", "user.password_reset",
                       "user.second_factor_reset"]  # fmt: skip
    assert {u for _a, u, _d in rows} == {admin.account.user_id}
    assert not any(first in (d or "") or second in (d or "") for _a, _u, d in rows)


def test_a_provincial_administrator_stays_in_the_province(
    staff_client: Callable[..., Any],
) -> None:
    admin = staff_client(Role.ADMIN, "province:001")
    elsewhere = staff_client(Role.HEALTH_STATION, "ward:26734")  # Hồ Chí Minh City
    assert f'data-user="{elsewhere.account.username}"' not in admin.get("/admin/accounts").text
    r = admin.post("/admin/accounts", data={"username": "tyt.q1", "role": "health_station",
                   "unit": "ward:26734"})  # fmt: skip
    assert r.status_code == 403
    assert 'id="account-error"' in r.text
    national = admin.post("/admin/accounts", data={"username": "issuer2",
                          "role": "national_issuer", "unit": "VN"})  # fmt: skip
    assert national.status_code == 403
    with transaction(admin.engine) as s:
        other = s.scalar(select(User.id).where(User.username == elsewhere.account.username))
    assert admin.post(f"/admin/accounts/{other}/disable", follow_redirects=False).status_code == 403
    with transaction(admin.engine) as s:
        assert s.get(User, other).active  # type: ignore[union-attr]


def test_only_administrators(staff_client: Callable[..., Any]) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    assert police.get("/admin/accounts").status_code == 403


def test_the_home_page_counts_the_accounts_that_cannot_work_yet(
    staff_client: Callable[..., Any],
) -> None:
    """An administrator or issuer with no second factor cannot work; the administrator's home
    page counts those of its unit and below (not another province's), and the count falls when
    one enrols or is disabled."""
    admin = staff_client(Role.ADMIN, "province:001")
    before = home_waiting(admin, "/admin/accounts")
    with transaction(admin.engine) as s:
        now = dt.datetime.now(dt.UTC)
        mine = service.create_user(s, username="qt.xa1", password=PASSWORD, role=Role.ADMIN,
                                   unit="ward:00001", now=now)  # fmt: skip
        service.create_user(s, username="qt.hcm", password=PASSWORD, role=Role.ADMIN,
                            unit="ward:26734", now=now)  # another province: not counted
        service.create_user(s, username="tyt.xa1", password=PASSWORD,
                            role=Role.HEALTH_STATION, unit="ward:00001", facility_code="F-TEST",
                            now=now)  # needs no second factor  # fmt: skip
        mine_id = mine.id
    assert home_waiting(admin, "/admin/accounts") == before + 1
    assert admin.post(f"/admin/accounts/{mine_id}/disable",
                      follow_redirects=False).status_code == 303  # fmt: skip
    assert home_waiting(admin, "/admin/accounts") == before

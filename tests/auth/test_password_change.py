"""Staff change their own password (SQLite and PostgreSQL): the current one must be right, the
new one typed twice and within the rules; the account's other sessions end, this one goes on;
audited. A second-factor enrolment ends on a confirmation."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web_support import StaffClient, login_client
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.web.security import CSRF_COOKIE

NEW = "lantern orchard 58 velvet canyon"


def _post(c: StaffClient, current: str, new: str, repeat: str | None = None):  # type: ignore[no-untyped-def]
    return c.post("/account/password", data={
        "current": current, "new": new, "repeat": new if repeat is None else repeat,
    })  # fmt: skip


def test_own_password_change_ends_the_other_sessions(
    staff_client: Callable[..., StaffClient],
) -> None:
    station = staff_client(Role.HEALTH_STATION)
    name, old = station.account.username, station.account.password
    other = TestClient(station.app)  # the same account logged in elsewhere
    login_client(other, name, old)
    assert other.get("/", follow_redirects=False).status_code == 200
    home = station.get("/")
    assert 'href="/account/password"' in home.text
    form = station.get("/account/password")
    assert form.status_code == 200
    assert 'name="current"' in form.text

    wrong = _post(station, "not my password at all", NEW)
    assert wrong.status_code == 422
    assert "Mật khẩu hiện tại không đúng" in wrong.text
    differ = _post(station, old, NEW, NEW + "x")
    assert differ.status_code == 422
    assert "không giống nhau" in differ.text
    short = _post(station, old, "ngắn quá")
    assert short.status_code == 422
    assert "ít nhất 12 ký tự" in short.text
    common = _post(station, old, "password1234")
    assert common.status_code == 422
    assert "quá dễ đoán" in common.text
    own_name = _post(station, old, f"{name} river 1989 lamp")
    assert own_name.status_code == 422
    assert "tên đăng nhập" in own_name.text
    same = _post(station, old, old)
    assert same.status_code == 422
    assert other.get("/", follow_redirects=False).status_code == 200  # nothing changed yet

    done = _post(station, old, NEW)
    assert done.status_code == 200
    assert 'id="password-changed"' in done.text
    assert "Đã đăng xuất 1 phiên đăng nhập khác" in done.text
    assert station.get("/", follow_redirects=False).status_code == 200  # this session goes on
    assert other.get("/", follow_redirects=False).status_code in (303, 401)  # that one ended

    again = TestClient(station.app)
    again.get("/login")
    refused = again.post("/login", data={"username": name, "password": old, "next": "/",
                                         "csrf_token": again.cookies.get(CSRF_COOKIE) or ""})  # fmt: skip
    assert refused.status_code in (401, 403)
    login_client(again, name, NEW)
    with transaction(station.engine) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.password_change")
        ).all()
    assert len(entries) == 1
    assert entries[0].object_id == str(station.account.user_id)
    assert NEW not in (entries[0].detail or "")


def test_password_page_speaks_english_too(staff_client: Callable[..., StaffClient]) -> None:
    station = staff_client(Role.HEALTH_STATION)
    r = station.post("/account/password?lang=en", data={
        "current": station.account.password, "new": "abc", "repeat": "abc"})  # fmt: skip
    assert r.status_code == 422
    assert "at least 12 characters" in r.text


def test_wrong_current_passwords_count_towards_the_lockout(
    staff_client: Callable[..., StaffClient],
) -> None:
    station = staff_client(Role.HEALTH_STATION)
    statuses = [_post(station, f"guess number {i}", NEW).status_code for i in range(12)]
    assert statuses[0] == 422
    assert statuses[-1] == 429  # a stolen session cannot try passwords without end
    locked = _post(station, station.account.password, NEW)
    assert locked.status_code == 429


def test_second_factor_enrolment_ends_on_a_confirmation(
    staff_client: Callable[..., StaffClient],
) -> None:
    station = staff_client(Role.HEALTH_STATION)  # may, need not, turn on a second factor
    page = station.get("/account/second-factor").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret is not None
    r = station.post("/account/second-factor", data={"code": pyotp.TOTP(secret.group(1)).now()})
    assert r.status_code == 200
    assert 'id="totp-enrolled"' in r.text
    assert "Xong: đã bật xác thực hai bước" in r.text

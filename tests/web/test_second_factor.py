"""TOTP: a role that requires it enrols before its first login (nothing is reachable until it
has), then every login needs the code (and refuses a replay)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from tests.web_support import PASSWORD, StaffClient

from vaxlink.auth import service
from vaxlink.auth.deps import SESSION_COOKIE
from vaxlink.auth.models import User
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.web.security import CSRF_COOKIE, csrf_for_session


def _first_step(app: object, username: str) -> tuple[TestClient, str]:
    c = TestClient(app)  # type: ignore[arg-type]  # no `with`: the fixture runs the lifespan
    c.get("/login")
    r = c.post("/login", data={"username": username, "password": PASSWORD,
                               "csrf_token": c.cookies[CSRF_COOKIE], "next": "/worklist"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    return c, r.headers["location"]


def test_issuer_and_admin_enrol_before_anything(staff_client: Callable[..., StaffClient]) -> None:
    station = staff_client(Role.HEALTH_STATION)
    for role in (Role.NATIONAL_ISSUER, Role.ADMIN):
        name = f"must-enrol-{role.value.replace('_', '-')}"
        with transaction(station.engine) as s:
            service.create_user(s, username=name, password=PASSWORD, role=role, unit="VN", now=dt.datetime.now(dt.UTC))
        c, location = _first_step(station.app, name)
        assert location.startswith("/login/enrol")
        # the password alone reaches nothing: pages, the API, the account pages
        for path in ("/", "/account/second-factor", "/worklist", "/audit"):
            r = c.get(path, headers={"accept": "application/json"}, follow_redirects=False)
            assert r.status_code == 401, path
        assert (
            c.get("/login/second-factor", follow_redirects=False)
            .headers["location"]
            .startswith("/login/enrol")
        )
        page = c.get(location)
        assert page.status_code == 200
        assert 'id="totp-required"' in page.text
        assert 'src="data:image/svg+xml;base64,' in page.text
        match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
        assert match is not None
        csrf = csrf_for_session(c.cookies[SESSION_COOKIE])
        wrong = c.post("/login/enrol", data={"code": "000000", "csrf_token": csrf})
        assert wrong.status_code == 422
        assert c.get("/", follow_redirects=False).status_code in (303, 401)
        code = pyotp.TOTP(match.group(1)).now()
        ok = c.post("/login/enrol", data={"code": code, "csrf_token": csrf, "next": "/"},
                    follow_redirects=False)  # fmt: skip
        assert ok.status_code == 200  # a confirmation, logged in
        assert 'id="totp-enrolled"' in ok.text
        assert "Xong: đã bật xác thực hai bước" in ok.text
        assert c.get("/").status_code == 200
        with transaction(station.engine) as s:
            user = s.query(User).filter_by(username=name).one()
            assert user.totp_confirmed_at is not None


def test_a_session_without_the_second_factor_is_no_login(
    staff_client: Callable[..., StaffClient],
) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    assert admin.get("/").status_code == 200
    with transaction(admin.engine) as s:  # e.g. reset by `vaxlink users reset-second-factor`
        user = s.get(User, admin.account.user_id)
        assert user is not None
        user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    assert admin.get("/", follow_redirects=False).status_code in (303, 401)


def test_login_with_code_refuses_a_replay(staff_client: Callable[..., StaffClient]) -> None:
    issuer = staff_client(Role.NATIONAL_ISSUER, "VN")
    assert issuer.account.totp_secret is not None
    totp = pyotp.TOTP(issuer.account.totp_secret)
    c, location = _first_step(issuer.app, issuer.account.username)
    assert location.startswith("/login/second-factor")
    # the password alone is not a login
    assert c.get("/", follow_redirects=False).status_code == 401
    csrf = csrf_for_session(c.cookies[SESSION_COOKIE])
    bad = c.post("/login/second-factor", data={"code": "123456", "csrf_token": csrf})
    assert bad.status_code == 401
    next_step = totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    done = c.post("/login/second-factor", data={"code": next_step, "csrf_token": csrf},
                  follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert c.get("/").status_code == 200

    c, _ = _first_step(issuer.app, issuer.account.username)  # the same code cannot be used twice
    csrf = csrf_for_session(c.cookies[SESSION_COOKIE])
    replay = c.post("/login/second-factor", data={"code": next_step, "csrf_token": csrf})
    assert replay.status_code == 401

"""TOTP: enrolment with a QR code, then a login that needs the code (and refuses a replay)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from tests.web_support import PASSWORD, StaffClient

from vaxlink.auth.deps import SESSION_COOKIE
from vaxlink.auth.roles import Role
from vaxlink.web.security import CSRF_COOKIE, csrf_for_session


def test_enrol_then_login_with_code(staff_client: Callable[..., StaffClient]) -> None:
    issuer = staff_client(Role.NATIONAL_ISSUER, "VN")
    home = issuer.get("/")
    assert 'id="totp-needed"' in home.text
    page = issuer.get("/account/second-factor")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.text
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert match is not None
    totp = pyotp.TOTP(match.group(1))
    wrong = issuer.post("/account/second-factor", data={"code": "000000"})
    assert wrong.status_code == 422
    ok = issuer.post("/account/second-factor", data={"code": totp.now()}, follow_redirects=False)
    assert ok.status_code == 303
    assert 'id="totp-needed"' not in issuer.get("/").text

    c = TestClient(issuer.app)  # no `with`: the fixture's client runs the app's lifespan
    c.get("/login")
    r = c.post("/login", data={"username": issuer.account.username, "password": PASSWORD,
                               "csrf_token": c.cookies[CSRF_COOKIE], "next": "/"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login/second-factor")
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

    c = TestClient(issuer.app)  # the same code cannot be used twice
    c.get("/login")
    c.post("/login", data={"username": issuer.account.username, "password": PASSWORD,
                           "csrf_token": c.cookies[CSRF_COOKIE]})  # fmt: skip
    csrf = csrf_for_session(c.cookies[SESSION_COOKIE])
    replay = c.post("/login/second-factor", data={"code": next_step, "csrf_token": csrf})
    assert replay.status_code == 401

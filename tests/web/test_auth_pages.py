"""Login, logout, CSRF, redirects, security headers and language over the real app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.web_support import PASSWORD, StaffClient, create_account, login_client

from vaxlink.auth.deps import SESSION_COOKIE, ensure_in_scope, require
from vaxlink.auth.models import AuditEntry, AuthSession
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission, Role
from vaxlink.db import make_engine, transaction
from vaxlink.settings import Settings
from vaxlink.web.app import create_app
from vaxlink.web.deps import session as db_session
from vaxlink.web.security import CSRF_COOKIE, csrf_for_session, safe_next

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def app_and_engine(store_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    probe = APIRouter()

    @probe.get("/probe/dose/{ward}")
    def _probe(
        ward: str,
        principal: Principal = Depends(require(Permission.WORKLIST_VIEW)),  # noqa: B008
        db: Session = Depends(db_session),  # noqa: B008
    ) -> dict[str, str]:
        ensure_in_scope(db, principal, province="001", district="001", ward=ward,
                        object_type="dose_record", object_id="77", now=dt.datetime.now(dt.UTC))  # fmt: skip
        return {"ward": ward}

    app.include_router(probe)
    engine = make_engine(store_url)
    yield app, engine
    engine.dispose()


def test_anonymous_html_get_redirects_to_login(app_and_engine) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_and_engine
    with TestClient(app) as c:
        r = c.get("/?lang=en", headers=HTML, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2F%3Flang%3Den"
        api = c.get("/")
        assert api.status_code == 401
        assert api.headers["content-type"] == "application/problem+json"
        hx = c.get("/", headers={"hx-request": "true", "accept": "text/html"})
        assert hx.status_code == 401
        assert hx.headers["hx-redirect"].startswith("/login?next=")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/worklist?page=2", "/worklist?page=2"), ("//evil.example/x", "/"),
     ("https://evil.example/", "/"), ("/\\evil.example", "/"), (None, "/"), ("worklist", "/")],
)  # fmt: skip
def test_next_is_same_site_only(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_login_flow_cookie_and_logout(app_and_engine) -> None:  # type: ignore[no-untyped-def]
    app, engine = app_and_engine
    account = create_account(engine, Role.HEALTH_STATION, "ward:00001", display_name="Chị Lan")
    with TestClient(app) as c:
        form = c.get("/login?next=/%3Flang%3Den", headers=HTML)
        assert form.status_code == 200
        assert 'name="csrf_token"' in form.text
        token = c.cookies[CSRF_COOKIE]
        wrong = c.post("/login", data={"username": account.username, "password": "nope-nope-nope",
                                       "csrf_token": token}, headers=HTML)  # fmt: skip
        assert wrong.status_code == 401
        assert "không đúng" in wrong.text
        r = c.post("/login", data={"username": account.username, "password": PASSWORD,
                                   "next": "/?lang=en", "csrf_token": token},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        assert r.headers["location"] == "/?lang=en"
        cookie = r.headers["set-cookie"]
        assert f"{SESSION_COOKIE}=" in cookie
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie
        home = c.get("/?lang=en", headers=HTML)
        assert home.status_code == 200
        assert "Chị Lan" in home.text
        assert "Commune health station" in home.text
        assert "Phường Phúc Xá" in home.text
        assert "Log out" in home.text
        assert home.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        assert home.headers["x-frame-options"] == "DENY"
        assert home.headers["referrer-policy"] == "no-referrer"
        # the language is remembered by a cookie
        assert "Commune health station" in c.get("/", headers=HTML).text
        assert "Trạm y tế xã" in c.get("/?lang=vi", headers=HTML).text
        session_token = c.cookies[SESSION_COOKIE]
        csrf = csrf_for_session(session_token)
        assert c.post("/logout", follow_redirects=False).status_code == 403  # no token
        out = c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
        c.cookies.set(SESSION_COOKIE, session_token)  # a stolen cookie is dead after logout
        assert c.get("/").status_code == 401
    with transaction(engine) as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions == ["user.create", "auth.login", "auth.logout"]
        assert s.scalars(select(AuthSession.revoked_at)).one() is not None


def test_secure_cookie_over_https(store_url: str, tmp_path: Path) -> None:
    engine = make_engine(store_url)
    account = create_account(engine, Role.ADMIN, "VN")
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    with TestClient(app, base_url="https://vaxlink.test") as c:
        c.get("/login")
        r = c.post("/login", data={"username": account.username, "password": PASSWORD,
                                   "csrf_token": c.cookies[CSRF_COOKIE]},
                   follow_redirects=False)  # fmt: skip
        assert "Secure" in r.headers["set-cookie"]
    engine.dispose()


def test_csrf_is_enforced_on_forms_and_htmx(staff_client: Callable[..., StaffClient]) -> None:
    c = staff_client(Role.HEALTH_STATION)
    token = c.headers.pop("X-CSRF-Token")
    refused = c.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_rejected"
    assert c.post("/logout", data={"csrf_token": "0" * 64},
                  follow_redirects=False).status_code == 403  # fmt: skip
    html = c.post("/logout", headers=HTML, follow_redirects=False)
    assert html.status_code == 403
    assert "tải lại trang" in html.text
    cross = c.post("/logout", headers={"X-CSRF-Token": token, "origin": "https://evil.example"},
                   follow_redirects=False)  # fmt: skip
    assert cross.status_code == 403
    ok = c.post("/logout", headers={"X-CSRF-Token": token, "origin": "http://testserver"},
                follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303


def test_multipart_form_token_is_read_and_body_replayed(app_and_engine) -> None:  # type: ignore[no-untyped-def]
    app, engine = app_and_engine
    account = create_account(engine, Role.HEALTH_STATION)
    with TestClient(app) as c:
        c.get("/login")
        r = c.post("/login", files={"username": (None, account.username),
                                    "password": (None, PASSWORD),
                                    "csrf_token": (None, c.cookies[CSRF_COOKIE])},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text


def test_role_and_scope_checks(app_and_engine) -> None:  # type: ignore[no-untyped-def]
    app, engine = app_and_engine
    police = create_account(engine, Role.COMMUNE_POLICE, "ward:00001")
    admin = create_account(engine, Role.ADMIN, "VN")
    with TestClient(app) as c:
        login_client(c, police.username, police.password)
        assert c.get("/probe/dose/00001").json() == {"ward": "00001"}
        denied = c.get("/probe/dose/00004")
        assert denied.status_code == 403
        assert denied.json()["code"] == "out_of_scope"
        page = c.get("/probe/dose/00004", headers=HTML)
        assert page.status_code == 403
        assert "địa bàn khác" in page.text
    with TestClient(app) as c:
        login_client(c, admin.username, admin.password)
        forbidden = c.get("/probe/dose/00001")
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "forbidden"
    with transaction(engine) as s:
        denials = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
        assert [(d.actor_id, d.object_id, d.unit) for d in denials] == [
            (police.user_id, "77", "ward:00004"),
            (police.user_id, "77", "ward:00004"),
        ]

"""Fixtures for web tests: accounts, logged-in clients, a live server and Playwright pages.

Loaded for every test through `tests/conftest.py`. Usage::

    from vaxlink.auth.roles import Role

    def test_worklist(staff_client):                       # SQLite and PostgreSQL
        police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
        r = police.get("/worklist")                         # logged in; X-CSRF-Token preset
        other = staff_client(Role.HEALTH_STATION, "ward:00004")   # same store, own cookies
        with police.session() as s: ...                     # ORM session on the same store
        police.account.principal                            # the Principal it acts as

    def test_in_the_browser(live_server, make_user, page, phone_page):
        account = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
        login(page, live_server.url, account)               # fills the login form
        page.goto(live_server.url + "/")

`make_user(engine, role, unit="ward:00001", *, username=None, password=PASSWORD,
facility_code=None, display_name=None) -> Account` commits the account. `live_server` runs
uvicorn in a thread on a free port over a fresh SQLite store (`.url`, `.engine`, `.settings`).
`page` is a desktop page, `phone_page` a 390×844 touch page (Debian Chromium, headless).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service, totp
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import SECOND_FACTOR_ROLES, Role
from vaxlink.clock import SystemClock
from vaxlink.db import make_engine, session_factory, transaction
from vaxlink.geo.codes import UnitKey
from vaxlink.settings import Settings
from vaxlink.web.app import create_app
from vaxlink.web.security import CSRF_COOKIE

PASSWORD = "correct-horse-battery-9"
CHROMIUM = os.environ.get("VAXLINK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
_names = itertools.count(1)


@dataclass(frozen=True)
class Account:
    """A committed staff account and the password that opens it."""

    username: str
    password: str
    user_id: int
    principal: Principal
    #: The TOTP secret of roles that must have a second factor (enrolled at creation).
    totp_secret: str | None = None


#: user name -> (TOTP secret, last time step used), so `login_client` can pass the second step
#: of accounts `create_account` enrolled, never replaying a code.
_SECOND_FACTORS: dict[str, tuple[str, int]] = {}


MakeUser = Callable[..., Account]


def create_account(
    engine: Engine,
    role: Role | str,
    unit: UnitKey | str = "ward:00001",
    *,
    username: str | None = None,
    password: str = PASSWORD,
    facility_code: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Create and commit an account (approvers and health stations get site F-TEST unless
    given one; issuers and administrators get a second factor, sealed with the tests' key)."""
    role = Role(role)
    if role in (Role.SITE_APPROVER, Role.HEALTH_STATION) and facility_code is None:
        facility_code = "F-TEST"  # both work at a vaccination site
    name = username or f"{role.value.replace('_', '-')}-{next(_names)}"
    with transaction(engine) as s:
        user = service.create_user(
            s, username=name, password=password, role=role, unit=unit,
            facility_code=facility_code, display_name=display_name, now=dt.datetime.now(dt.UTC)
        )  # fmt: skip
        secret = None
        if role in SECOND_FACTOR_ROLES:
            key = totp.key_of(Settings())  # VAXLINK_TOTP_KEY, set for the tests in conftest
            secret = totp.enrol_now(user, now=dt.datetime.now(dt.UTC), key=key)
            _SECOND_FACTORS[name] = (secret, 0)
        principal = service.principal_of(user)
    return Account(name, password, principal.user_id, principal, secret)


def totp_code(username: str, at: dt.datetime | None = None) -> str:
    """A fresh code of an account `create_account` enrolled (waits for the next 30 s step
    when this one was used already); `at`: the code of that instant (an app on a FixedClock
    checks codes at its own time)."""
    import pyotp

    secret, last = _SECOND_FACTORS[username]
    if at is not None:
        return pyotp.TOTP(secret).at(at)
    step = int(time.time()) // 30
    if step <= last:
        step = last + 1
        time.sleep(max(0.0, step * 30 - time.time() + 0.5))
    _SECOND_FACTORS[username] = (secret, step)
    return pyotp.TOTP(secret).at(step * 30)


@pytest.fixture
def make_user() -> MakeUser:
    """`make_user(engine, role, unit="ward:00001", ...) -> Account` (committed)."""
    return create_account


class StaffClient(TestClient):
    """A TestClient logged in as one account; POSTs carry its CSRF token by default."""

    account: Account
    csrf_token: str
    engine: Engine

    def session(self) -> AbstractContextManager[Session]:
        """A transaction on the app's store (committed on success)."""
        return transaction(self.engine)


def home_waiting(client: TestClient, path: str) -> int:
    """The count the account's home page shows on its card for `path` (the card must be there
    and carry a count)."""
    home = client.get("/").text.split('id="abilities"', 1)[1]  # the cards, not the menu
    card = re.search(rf'<span class="open" data-path="{re.escape(path)}">(.*?)</a></span>', home,
                     re.S)  # fmt: skip
    assert card is not None, f"the home page has no card for {path}: {home[-1500:]}"
    found = re.search(r'data-waiting="(\d+)"', card.group(1))
    assert found is not None, f"the home page shows no count on the card for {path}"
    return int(found.group(1))


def login_client(client: TestClient, username: str, password: str) -> str:
    """Log `client` in through the form; returns the CSRF token of the new session."""
    client.get("/login")
    anonymous = client.cookies.get(CSRF_COOKIE)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/", "csrf_token": anonymous},
        follow_redirects=False,
    )
    assert r.status_code == 303, f"login failed: {r.status_code} {r.text[:300]}"
    from vaxlink.auth.deps import SESSION_COOKIE
    from vaxlink.web.security import csrf_for_session

    if r.headers["location"].startswith("/login/second-factor") and username in _SECOND_FACTORS:
        pending = csrf_for_session(client.cookies[SESSION_COOKIE])
        app_clock = client.app.state.container.clock  # type: ignore[attr-defined]
        at = None if isinstance(app_clock, SystemClock) else app_clock.now()
        r = client.post("/login/second-factor", data={"code": totp_code(username, at), "next": "/",
                        "csrf_token": pending}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, f"second factor failed: {r.status_code} {r.text[:300]}"

    return csrf_for_session(client.cookies[SESSION_COOKIE])


@pytest.fixture
def staff_client(store_url: str, tmp_path: Path) -> Iterator[Callable[..., StaffClient]]:
    """`staff_client(role, unit="ward:00001", **make_user_options) -> StaffClient`: a client
    logged in as a new account of that role and unit; every call shares one app and store."""
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    engine = make_engine(store_url)
    # One client runs the app's lifespan (one engine); the others share it without re-running.
    anchor = TestClient(app)
    anchor.__enter__()

    def factory(
        role: Role | str, unit: UnitKey | str = "ward:00001", **options: Any
    ) -> StaffClient:
        account = create_account(engine, role, unit, **options)
        client = StaffClient(app)
        client.account = account
        client.engine = app.state.engine
        client.csrf_token = login_client(client, account.username, account.password)
        client.headers["X-CSRF-Token"] = client.csrf_token
        return client

    try:
        yield factory
    finally:
        anchor.__exit__(None, None, None)
        engine.dispose()


@dataclass
class LiveServer:
    """A running app: its base URL, an engine on its store and its settings."""

    url: str
    engine: Engine
    settings: Settings

    def session(self) -> AbstractContextManager[Session]:
        return transaction(self.engine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, *, name: str = "live-server", timeout: float = 60) -> Iterator[str]:
    """uvicorn serving `app` (lifespan on) in a thread on a free port; yields its base URL and
    stops it on leaving."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def demo_data_dir(data_dir: Path) -> Path:
    """`vaxlink demo` (120 people, seed 3, not served) in `data_dir`, or a copy of the demo in
    VAXLINK_TEST_DEMO_DIR (to iterate faster; made with the same VAXLINK_TOTP_KEY)."""
    if built := os.environ.get("VAXLINK_TEST_DEMO_DIR"):
        shutil.copytree(built, data_dir, dirs_exist_ok=True)
        return data_dir
    env = {**os.environ, "VAXLINK_DATA_DIR": str(data_dir)}
    env.pop("VAXLINK_DATABASE_URL", None)
    vaxlink = str(Path(sys.executable).with_name("vaxlink"))
    subprocess.run([vaxlink, "demo", "--citizens", "120", "--seed", "3", "--no-serve"], env=env,
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    return data_dir


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn serving the app in a thread on a free port, over a fresh SQLite store."""
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'live.db'}")
    app = create_app(settings)
    with serving(app, timeout=30) as url:
        engine = make_engine(settings.resolved_database_url())
        try:
            yield LiveServer(url, engine, settings)
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (one per test session)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop page (1280×800) in a fresh context (no cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A phone-sized touch page (390×844) in a fresh context."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
        has_touch=True, locale="vi-VN",
    )  # fmt: skip
    try:
        yield context.new_page()
    finally:
        context.close()


def login(page: Any, base_url: str, account: Account, *, next_path: str = "/") -> None:
    """Log in through the form in the browser and wait for the page after it."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", account.password)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    if account.username in _SECOND_FACTORS:  # issuer and admin: the code step
        page.wait_for_url(lambda url: urlsplit(url).path == "/login/second-factor", timeout=30_000)
        page.fill("input[name=code]", totp_code(account.username))
        with page.expect_navigation():
            page.click("#totp-form button[type=submit]")
    # the navigation event may be an early one on a loaded machine: wait until the login page is
    # really left, then for the page after it to have loaded its scripts
    try:  # wait_for_url, not a page script: some tests run with JavaScript off
        page.wait_for_url(lambda url: not urlsplit(url).path.startswith("/login"), timeout=30_000)
    except Exception as exc:  # say what the login page said instead of a bare timeout
        raise AssertionError(
            f"login stayed on {page.url}: {page.inner_text('body')[:500]}"
        ) from exc
    page.wait_for_load_state("load")


def session_for(engine: Engine) -> Session:
    """A plain session on `engine` (the caller manages the transaction)."""
    return session_factory(engine)()

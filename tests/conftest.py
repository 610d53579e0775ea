"""Shared fixtures: stores on SQLite and on the local PostgreSQL, built fresh for the tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from tests.web_support import (  # noqa: F401  (fixtures for web tests, see web_support.py)
    browser,
    live_server,
    make_user,
    page,
    phone_page,
    staff_client,
)
from vaxlink.auth.totp import new_key_text
from vaxlink.db import make_engine, session_factory, upgrade

# One key for the second-factor secrets of every app and account the tests make (generated per
# run, never stored): test helpers seal what the apps open.
os.environ.setdefault("VAXLINK_TOTP_KEY", new_key_text())
#: Test apps compute figures only when a test asks (tests/reports/test_background.py turns the web
#: app's background refresh on for itself); live servers are separate processes and inherit this.
os.environ.setdefault("VAXLINK_REPORT_REFRESH_IN_APP", "false")
#: Likewise the web app's renewal thread (tests/certificates/test_renewal_job.py turns it on).
os.environ.setdefault("VAXLINK_RENEWAL_IN_APP", "false")
#: And the partner push thread (tests/certificates/test_partner_delivery.py turns it on).
os.environ.setdefault("VAXLINK_PARTNER_PUSH_IN_APP", "false")

PG_ADMIN_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Public test data vendored into the repository (each folder carries its licence and NOTICE).
TEST_DATA = Path(__file__).resolve().parent / "data"


#: Fixtures that start Chromium: a test using one is a browser test, marked so by itself.
BROWSER_FIXTURES = frozenset({"browser", "page", "phone_page"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that drives Chromium `browser`, whether or not its module says so, so
    `-m browser` / `-m "not browser"` select exactly the browser tests."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


def _pg_available() -> str | None:
    try:
        eng = make_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


def _create_pg_database() -> str:
    """A new empty PostgreSQL database for this test; returns its URL."""
    name = f"vaxlink_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty, migrated store: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url
        return
    reason = _pg_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    url = _create_pg_database()
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    try:
        yield url
    finally:
        _drop_pg_database(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated store (SQLite and PostgreSQL)."""
    eng = make_engine(store_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(store: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with store.connect() as conn:
        trans = conn.begin()
        sess = session_factory(store)(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            sess.close()
            trans.rollback()


@pytest.fixture(scope="session")
def dcc_public() -> Path:
    """The EU's public DCC conformance cases (Apache-2.0), vendored in tests/data/dcc-public."""
    root = TEST_DATA / "dcc-public"
    assert root.is_dir(), f"vendored DCC test data missing at {root}"
    return root

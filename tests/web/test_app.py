"""The app factory: health on a real store, domain errors as RFC 9457 problem details, domains
mounted as the settings say (a missing one is an error), nothing registered on import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import ValidationError

from vaxlink.errors import Conflict
from vaxlink.settings import OPTIONAL_DOMAINS, Settings
from vaxlink.web import app as web_app
from vaxlink.web.app import WebDomain, create_app


def test_health_and_problem_details(store_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    boom = APIRouter()

    @boom.get("/boom")
    def _boom() -> None:
        raise Conflict("record R1 was changed by someone else; reload it")

    app.include_router(boom)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        r = client.get("/boom")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "conflict"
    assert "reload it" in r.json()["detail"]


def test_a_missing_router_module_fails_app_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    misspelt = WebDomain("feedback", "vaxlink.feedback.pagez")  # a renamed router
    monkeypatch.setattr(web_app, "DOMAINS", (*web_app.DOMAINS, misspelt))
    with pytest.raises(ModuleNotFoundError, match=r"vaxlink\.feedback\.pagez"):
        create_app(Settings(data_dir=tmp_path))


def test_a_missing_strings_or_menu_table_fails_app_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = WebDomain("reports", "vaxlink.web.health", nav=("vaxlink.reports.pages:MENU",))
    monkeypatch.setattr(web_app, "DOMAINS", (broken,))
    with pytest.raises(AttributeError, match="MENU"):
        create_app(Settings(data_dir=tmp_path))


def _paths(app: FastAPI) -> set[str]:
    return {str(ctx.path) for ctx in iter_route_contexts(app.routes)}


def test_settings_decide_which_optional_domains_are_mounted(tmp_path: Path) -> None:
    full = create_app(Settings(data_dir=tmp_path))
    assert {"/staff/tickets", "/dashboard", "/api/v1/identity/verify"} <= _paths(full)
    assert {i.path for i in full.state.nav} >= {"/staff/tickets", "/dashboard", "/worklist"}

    some = create_app(Settings(data_dir=tmp_path, disabled_domains="feedback, reports,linkage"))
    paths = _paths(some)
    assert "/staff/tickets" not in paths
    assert "/dashboard" not in paths
    assert "/api/v1/identity/verify" not in paths
    assert {"/login", "/healthz", "/worklist", "/entry"} <= paths
    assert {i.path for i in some.state.nav}.isdisjoint({"/staff/tickets", "/dashboard"})


def test_an_unknown_or_required_domain_cannot_be_disabled(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no optional domain feedbak"):
        Settings(data_dir=tmp_path, disabled_domains="feedbak")
    with pytest.raises(ValidationError, match="no optional domain auth"):
        Settings(data_dir=tmp_path, disabled_domains=["auth"])
    optional = {d.name for d in web_app.DOMAINS if d.optional}
    assert optional <= OPTIONAL_DOMAINS
    assert {d.name for d in web_app.DOMAINS if not d.optional}.isdisjoint(OPTIONAL_DOMAINS)


def test_importing_the_pages_registers_nothing() -> None:
    # In a fresh interpreter: the page modules are imported, no app is built.
    code = (
        "import importlib\n"
        "from vaxlink import catalogue\n"
        "from vaxlink.web import app, i18n\n"
        "for d in app.DOMAINS: importlib.import_module(d.router)\n"
        "assert all(not c for c in catalogue._CATALOG.values()), 'strings registered on import'\n"
        "from vaxlink.web.app import create_app\n"
        "from vaxlink.settings import Settings\n"
        "a = create_app(Settings(data_dir='unused'))\n"
        "assert i18n.translate('en', 'worklist.nav') != 'worklist.nav'\n"
        "assert any(i.path == '/worklist' for i in a.state.nav)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr

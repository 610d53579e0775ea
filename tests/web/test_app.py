"""The app factory: health on a real store, domain errors as RFC 9457 problem details."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.testclient import TestClient

from vaxlink.errors import Conflict
from vaxlink.settings import Settings
from vaxlink.web.app import create_app


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

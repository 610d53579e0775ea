"""`POST /api/v1/identity/verify` and `verify_person`: answers for clean, dirty and absent
people, problem details for bad requests and an unreachable registry, nothing personal logged."""

from __future__ import annotations

import csv
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from vaxlink import compose
from vaxlink.auth.service import latest_entries
from vaxlink.certificates.service import READ_CERTIFICATES, VERIFY_IDENTITY, add_client
from vaxlink.clock import SystemClock
from vaxlink.compose import Container, build
from vaxlink.db import make_engine, session_factory, transaction, upgrade
from vaxlink.linkage.api import create_router
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.online_service import verify_person
from vaxlink.records.service import is_ref, resolve_ref
from vaxlink.registry.errors import RegistryUnavailable
from vaxlink.registry.importer import load_registry
from vaxlink.registry.port import LocalRegistry
from vaxlink.registry.schemas import PersonQuery
from vaxlink.settings import Settings
from vaxlink.synth import generate, write
from vaxlink.web import problems
from vaxlink.web.app import create_app

URL = "/api/v1/identity/verify"
FIELDS = tuple(PersonQuery.model_fields)


def _token(engine: Engine, name: str = "vaccination-app", scope: str = VERIFY_IDENTITY) -> str:
    """A partner client's bearer token holding `scope`."""
    with transaction(engine) as s:
        _, token = add_client(s, name, by="test", now=datetime.now(UTC), scopes=[scope])
    return token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write(generate(3000, seed=77), tmp_path_factory.mktemp("synth3k_api"))


@pytest.fixture(scope="module")
def people(synth: dict[str, Path]) -> list[dict[str, str]]:
    """Dose rows with their truth: `_truth` (citizen or ''), `_errors`."""
    with synth["doses"].open(encoding="utf-8") as fh:
        doses = {r["record_id"]: r for r in csv.DictReader(fh)}
    with synth["truth"].open(encoding="utf-8") as fh:
        return [
            doses[t["record_id"]] | {"_truth": t["citizen_id"], "_errors": t["errors"]}
            for t in csv.DictReader(fh)
            if not t["errors"].startswith("invalid")
        ]


@pytest.fixture(scope="session")
def model() -> LinkModel:
    return compose.build(Settings()).link_model


@pytest.fixture
def client(store_url: str, tmp_path: Path, synth: dict[str, Path]) -> Iterator[TestClient]:
    """The whole app over a store holding the 3,000 citizens (the local registry port)."""
    settings = Settings(data_dir=tmp_path, database_url=store_url)
    engine = make_engine(store_url)
    load_registry(engine, synth["registry"], settings=settings, clock=SystemClock())
    token = _token(engine)
    engine.dispose()
    with TestClient(create_app(settings), headers=_auth(token)) as c:
        yield c


def test_only_clients_holding_the_scope_may_ask(store_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=store_url)
    engine = make_engine(store_url)
    upgrade(engine)
    reader = _token(engine, "citizen-app", READ_CERTIFICATES)
    engine.dispose()
    query = {"full_name": "Nguyễn Văn An", "id_number": "001085012345"}
    with TestClient(create_app(settings)) as c:
        anonymous = c.post(URL, json=query)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert c.post(URL, json=query, headers=_auth("vxl_" + "A" * 43)).status_code == 401
        assert c.post(URL, json=query, headers=_auth(reader)).status_code == 403


def body(row: dict[str, str]) -> dict[str, str]:
    """The request for a dose row: its identity fields as the site wrote them."""
    return {k: row[k] for k in FIELDS if row.get(k)}


def _first(people: list[dict[str, str]], errors: str) -> dict[str, str]:
    return next(p for p in people if p["_errors"] == errors and p["_truth"])


def test_clean_dirty_and_absent_people(
    client: TestClient, people: list[dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clean = _first(people, "")
    r = client.post(URL, json=body(clean))
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["citizen_id"], got["match_probability"]) == ("verified",
                                                                            clean["_truth"], 1.0)  # fmt: skip
    assert got["corrected_fields"] == []
    assert got["reason"] is None

    for errors in ("id_wrong_digit", "name_no_diacritics", "id_missing"):
        dirty = _first(people, errors)
        got = client.post(URL, json=body(dirty)).json()
        assert (got["status"], got["citizen_id"]) == ("auto_linked", dirty["_truth"]), errors
        assert got["corrected_fields"]
        assert got["match_probability"] >= 0.99
        cands = got["candidates"]
        assert 1 <= len(cands) <= 3
        assert cands[0]["citizen_id"] == dirty["_truth"]
        assert [c["probability"] for c in cands] == sorted(
            (c["probability"] for c in cands), reverse=True
        )
        evidence = cands[0]["fields"]
        assert {"id", "dob", "sex"} <= set(evidence)
        assert all(isinstance(f["level"], str) and isinstance(f["weight"], float)
                   for f in evidence.values())  # fmt: skip

    absent = next(p for p in people if not p["_truth"])
    got = client.post(URL, json=body(absent)).json()
    assert got["status"] in ("review", "unmatched")
    assert got["citizen_id"] is None

    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with transaction(engine) as s:
        audited = latest_entries(s, action_prefixes=["identity.verify"], limit=10)
    # one entry per answered call, newest first: the absent person, then the dirty, then the clean
    assert len(audited) == 5
    assert audited[0].object_id == "none"
    assert audited[0].detail["status"] == got["status"]
    assert audited[-1].detail == {"client": audited[-1].detail["client"], "status": "verified",
                                  "candidates": len(r.json()["candidates"])}  # fmt: skip
    assert isinstance(audited[-1].detail["client"], int)
    assert is_ref(audited[-1].object_id)
    with transaction(engine) as s:
        assert resolve_ref(s, audited[-1].object_id) == clean["_truth"]
    for entry in audited:  # no ID number, name or date of birth in what the audit keeps
        kept = f"{entry.object_id} {entry.detail}"
        for row in (clean, dirty, absent):
            for field in ("full_name", "id_number", "date_of_birth"):
                assert not row.get(field) or row[field] not in kept, field
        assert clean["_truth"] not in kept

    for row in (clean, dirty, absent):
        for field in ("full_name", "id_number", "phone", "date_of_birth"):
            assert not row.get(field) or row[field] not in logged, f"{field} was logged"


def test_bad_requests_are_problem_details(client: TestClient) -> None:
    for bad in ({}, {"full_name": ""}, {"full_name": "An", "shoe_size": "42"},
                {"full_name": "An", "id_number": "1" * 41}):  # fmt: skip
        r = client.post(URL, json=bad)
        assert r.status_code == 422, bad
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid_request"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_registry_down_is_503(store_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=store_url,
                        registry_url=f"http://127.0.0.1:{_closed_port()}")  # fmt: skip
    engine = make_engine(store_url)
    token = _token(engine)
    engine.dispose()
    with TestClient(create_app(settings), headers=_auth(token)) as c:
        r = c.post(URL, json={"full_name": "Nguyễn Văn An", "id_number": "001085012345"})
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "registry_unavailable"
    assert "Nguyễn" not in r.text
    assert "001085012345" not in r.text


def test_local_store_failure_is_503(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is not SQLite" * 100)
    engine = make_engine(f"sqlite:///{broken}")
    app = FastAPI()
    problems.install(app)
    app.include_router(create_router())
    app.state.settings = Settings(data_dir=tmp_path)
    app.state.container = Container(app.state.settings, engine=engine)  # its registry: the store
    with TestClient(app) as c:
        r = c.post(URL, json={"full_name": "Nguyễn Văn An", "id_number": "001085012345"})
    engine.dispose()
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "registry_unavailable"
    assert "001085012345" not in r.text


def test_router_takes_an_auth_dependency(tmp_path: Path) -> None:
    def staff_only() -> None:
        raise HTTPException(401, "sign in first")

    app = FastAPI()
    app.include_router(create_router(dependencies=[Depends(staff_only)]))
    app.state.settings = Settings(data_dir=tmp_path)
    app.state.container = build(app.state.settings)
    with TestClient(app) as c:
        assert c.post(URL, json={"full_name": "An"}).status_code == 401


class _Unavailable:
    def candidates(self, query: PersonQuery) -> Any:
        raise RegistryUnavailable("the population registry did not answer")

    def get(self, citizen_id: str) -> None:
        return None


def test_verify_person_uses_the_port(
    tmp_path: Path, synth: dict[str, Path], people: list[dict[str, str]], model: LinkModel
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    load_registry(
        engine, synth["registry"], settings=Settings(data_dir=tmp_path), clock=SystemClock()
    )
    port = LocalRegistry(session_factory(engine))
    row = _first(people, "dob_day_month_swap")
    result = verify_person(PersonQuery(**body(row)), port, model)
    assert result.status == "auto_linked"
    assert result.citizen_id == row["_truth"]
    assert "date_of_birth" in result.corrected_fields
    with pytest.raises(RegistryUnavailable):
        verify_person(PersonQuery(full_name="An"), _Unavailable(), model)
    engine.dispose()

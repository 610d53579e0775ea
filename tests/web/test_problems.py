"""The one error-to-HTTP mapping: status, code and headers come from the error's meaning."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from vaxlink.auth.errors import TooManyAttempts
from vaxlink.certificates.errors import Unauthenticated
from vaxlink.cleaning.errors import NotPermitted
from vaxlink.errors import NotInRegistry, VaxlinkError
from vaxlink.web import problems


def _client(exc: VaxlinkError) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/")
    def fail() -> None:
        raise exc

    return TestClient(app)


def test_a_refined_error_answers_with_its_meanings_status_and_its_own_headers() -> None:
    r = _client(Unauthenticated("no token")).get("/")
    assert r.status_code == 401
    assert r.headers["content-type"] == problems.PROBLEM
    assert r.headers["www-authenticate"] == 'Bearer realm="vaxlink"'
    assert r.json()["code"] == "unauthenticated"


def test_retry_after_travels_with_a_429() -> None:
    r = _client(TooManyAttempts("wait", 120)).get("/")
    assert (r.status_code, r.headers["retry-after"]) == (429, "120")
    assert r.json()["code"] == "too_many_attempts"


def test_not_in_registry_is_unusable_input_and_forbidden_is_403() -> None:
    r = _client(NotInRegistry("ID number 001 is not in the population registry")).get("/")
    assert (r.status_code, r.json()["code"]) == (422, "not_in_registry")
    r = _client(NotPermitted("police verify identity")).get("/")
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")

"""Access control generated from the route table: every route × every role × inside/outside.

1. Every route is public (`vaxlink.auth.policy`) or depends on `require(...)`/`CurrentPrincipal`
   somewhere in its dependency tree; a new unprotected route fails `test_every_route_is_declared`.
2. Every protected route × every role: anonymous → 401, a role without the permission → 403,
   a role with it → neither 401 nor 403.
3. Scoped objects. A domain with routes whose path parameters name an object in a commune
   provides `tests/<domain>/access_cases.py` with

       CASES: dict[str, Callable[[Session, str, str], tuple[dict, dict]]]
       SKIP: dict[str, str]          # route -> reason it has no case (visible in the report)

   keyed by route path ("/worklist/{dose_id}") or "METHOD path" ("POST /worklist/{dose_id}").
   The function gets a committed-on-return session, a ward code inside the account's area and
   one outside it, builds one object in each and returns the request for each: a dict whose
   keys fill the path parameters, plus optional "query", "data" (form) or "json" entries.
   Each role with the permission, placed at the ward/district/province/nation of the inside
   ward, must get 2xx/3xx inside and 403 outside, and the refusal must be audited.
   Protected routes with path parameters and neither a case nor a SKIP entry fail the test.

Runs on SQLite only: the policy is the same code on both stores (the store-specific parts,
audit chain and sessions, have their own tests on both).
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.web_support import create_account, login_client
from vaxlink.auth.deps import ensure_in_scope, permissions_of, require
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.policy import TOKEN_ROUTES, is_public
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import ROLE_PERMISSIONS, Permission, Role
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings
from vaxlink.web.app import create_app
from vaxlink.web.deps import session as db_session
from vaxlink.web.security import CSRF_COOKIE

TESTS = Path(__file__).resolve().parents[1]
INSIDE_WARD = "00001"  # Phường Phúc Xá, Ba Đình, Hà Nội
OUTSIDE_WARD = "00688"  # a ward of Hà Giang: outside every unit above INSIDE_WARD
#: Existing routes known to be unprotected, each with the reason; the test fails if an entry
#: goes stale, so the list only shrinks.
KNOWN_UNPROTECTED: dict[str, str] = {}
#: Clauses that must all hold: (permissions, any_of) — all of them, or any one when any_of.
Requirement = tuple[tuple[frozenset[Permission], bool], ...]


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    requirement: Requirement | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return re.findall(r"{([^}:]+)(?::[^}]*)?}", self.path)


def _requirements(dependant: Dependant) -> Iterator[tuple[frozenset[Permission], bool]]:
    for sub in dependant.dependencies:
        found = permissions_of(sub.call)
        if found is not None:
            yield found
        yield from _requirements(sub)


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) of the app with the strictest permission its dependencies ask."""
    out: list[RouteInfo] = []
    for ctx in iter_route_contexts(app.routes):
        path = str(ctx.path)
        dependant = getattr(ctx, "dependant", None)
        methods = sorted((ctx.methods or {"GET"}) - {"HEAD"}) if dependant else ["*"]
        requirement: Requirement | None = None
        if dependant is not None:
            found = set(_requirements(dependant))
            if len(found) > 1:  # a login-only clause adds nothing beside a permission
                found.discard((frozenset(), False))
            if found:
                requirement = tuple(sorted(found, key=lambda c: (sorted(c[0]), c[1])))
        out.extend(RouteInfo(m, path, requirement) for m in methods)
    return out


def allowed(role: Role, requirement: Requirement) -> bool:
    held = ROLE_PERMISSIONS[role]
    return all(bool(p & held) if any_of else p <= held for p, any_of in requirement)


def _load_cases() -> tuple[dict[str, Callable[..., Any]], dict[str, str]]:
    cases: dict[str, Callable[..., Any]] = {}
    skips: dict[str, str] = {}
    for file in sorted(TESTS.glob("*/access_cases.py")):
        module = importlib.import_module(f"tests.{file.parent.name}.access_cases")
        cases.update(getattr(module, "CASES", {}))
        skips.update(getattr(module, "SKIP", {}))
    return cases, skips


def _lookup(table: dict[str, Any], route: RouteInfo) -> Any:
    return table.get(route.key, table.get(route.path))


@contextmanager
def _world(tmp: Path, *routers: APIRouter) -> Iterator[dict[str, Any]]:
    """An app (plus `routers`) over a fresh SQLite store, and a logged-in client per role."""
    url = f"sqlite:///{tmp / 'matrix.db'}"
    engine = make_engine(url)
    upgrade(engine)
    app = create_app(Settings(data_dir=tmp, database_url=url))
    for router in routers:
        app.include_router(router)
    index = UnitIndex.for_version()
    path = {key.level: key for key in index.path(f"ward:{INSIDE_WARD}")}
    clients: dict[Role | None, TestClient] = {}
    with TestClient(app) as anonymous:
        anonymous.get("/login")
        anonymous.headers["X-CSRF-Token"] = anonymous.cookies[CSRF_COOKIE]
        clients[None] = anonymous
        for role in Role:
            account = create_account(engine, role, _unit_for(role, path))
            client = TestClient(app)  # the anonymous client runs the lifespan for all
            client.headers["X-CSRF-Token"] = login_client(
                client, account.username, account.password
            )
            clients[role] = client
        yield {"app": app, "engine": engine, "clients": clients, "path": path}
    engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app over one SQLite store, an account and a logged-in client per role."""
    with _world(tmp_path_factory.mktemp("matrix")) as w:
        yield w


def _unit_for(role: Role, path: dict[Level, UnitKey]) -> UnitKey | str:
    if role in (Role.NATIONAL_ISSUER, Role.ADMIN):
        return "VN"
    if role is Role.PROVINCIAL_CDC:
        return path[Level.PROVINCE]
    if role is Role.DISTRICT_HEALTH:
        return path[Level.DISTRICT]
    return path[Level.WARD]


def _call(client: TestClient, route: RouteInfo, request: dict[str, Any] | None = None) -> int:
    request = dict(request or {})
    url = route.path
    for name in route.params:
        value = request.pop(name, "1")
        url = re.sub(r"{" + re.escape(name) + r"(?::[^}]*)?}", str(value), url)
    response = client.request(
        route.method, url, params=request.get("query"), data=request.get("data"),
        json=request.get("json"), follow_redirects=False,
    )  # fmt: skip
    return response.status_code


def test_outside_ward_is_outside_every_unit_above_the_inside_one() -> None:
    index = UnitIndex.for_version()
    inside = set(index.path(f"ward:{INSIDE_WARD}")[1:])
    assert not inside & set(index.path(f"ward:{OUTSIDE_WARD}"))


def test_every_route_is_declared(world: dict[str, Any]) -> None:
    """Public by policy, or protected by a `require(...)` dependency: nothing in between."""
    table = route_table(world["app"])
    undeclared = [
        r.key
        for r in table
        if r.requirement is None and not is_public(r.path) and r.key not in KNOWN_UNPROTECTED
    ]
    assert not undeclared, (
        f"routes without require(...) and not in vaxlink.auth.policy.PUBLIC_ROUTES: {undeclared}"
    )
    keys = {r.key for r in table}
    stale = [k for k in KNOWN_UNPROTECTED if k not in keys or _protected(table, k)]
    assert not stale, f"remove from KNOWN_UNPROTECTED (protected or gone now): {stale}"
    overlap = [r.key for r in table if r.requirement is not None and is_public(r.path)]
    assert not overlap, f"routes both public and protected (fix the policy list): {overlap}"


def _protected(table: list[RouteInfo], key: str) -> bool:
    return any(r.key == key and r.requirement is not None for r in table)


def test_token_routes_refuse_without_a_token(world: dict[str, Any]) -> None:
    anonymous = world["clients"][None]
    token_routes = [
        r for r in route_table(world["app"]) if any(re.fullmatch(
            re.escape(p).replace(r"\*", ".*"), r.path) for p in TOKEN_ROUTES)
    ]  # fmt: skip
    assert token_routes, "the citizen-app certificate routes should be in the table"
    for route in token_routes:
        assert _call(anonymous, route, {"citizen_id": "001085012345"}) == 401, route.key


def test_every_protected_route_for_every_role(world: dict[str, Any]) -> None:
    clients = world["clients"]
    failures: list[str] = []
    protected = [r for r in route_table(world["app"]) if r.requirement is not None]
    for route in protected:
        assert route.requirement is not None
        status = _call(clients[None], route)
        if status != 401:
            failures.append(f"{route.key} anonymous: {status}, expected 401")
        for role in Role:
            status = _call(clients[role], route)
            if allowed(role, route.requirement):
                if status in (401, 403):
                    failures.append(f"{route.key} {role}: {status}, expected access")
            elif status != 403:
                failures.append(f"{route.key} {role}: {status}, expected 403")
    assert not failures, "\n".join(failures)


def test_scoped_routes_inside_and_outside(world: dict[str, Any]) -> None:
    cases, skips = _load_cases()
    protected = [r for r in route_table(world["app"]) if r.requirement is not None and r.params]
    missing = [r.key for r in protected if _lookup(cases, r) is None and _lookup(skips, r) is None]
    assert not missing, (
        "protected routes with path parameters need a case in tests/<domain>/access_cases.py "
        f"(CASES) or a reason to skip (SKIP): {missing}"
    )
    failures = _scoped_failures(world, protected, cases)
    assert not failures, "\n".join(failures)


def _scoped_failures(
    world: dict[str, Any], routes: list[RouteInfo], cases: dict[str, Callable[..., Any]]
) -> list[str]:
    failures: list[str] = []
    for route in routes:
        case = _lookup(cases, route)
        if case is None:
            continue
        assert route.requirement is not None
        for role in Role:
            if not allowed(role, route.requirement):
                continue
            with transaction(world["engine"]) as s:
                inside, outside = case(s, INSIDE_WARD, OUTSIDE_WARD)
            status = _call(world["clients"][role], route, inside)
            if not 200 <= status < 400:
                failures.append(f"{route.key} {role} inside: {status}, expected 2xx/3xx")
            if role in (Role.NATIONAL_ISSUER, Role.ADMIN):
                continue  # the whole nation is inside
            before = _denials(world["engine"])
            status = _call(world["clients"][role], route, outside)
            if status != 403:
                failures.append(f"{route.key} {role} outside: {status}, expected 403")
            elif _denials(world["engine"]) <= before:
                failures.append(f"{route.key} {role} outside: refusal not audited")
    return failures


# A probe domain proving the protocol itself: objects in wards, one scoped route.
_PROBE_OBJECTS: dict[str, str] = {}


def _probe_router(*, check_scope: bool) -> APIRouter:
    router = APIRouter()

    @router.get("/probe/records/{record_id}")
    def _record(
        record_id: str,
        principal: Annotated[Principal, Depends(require(Permission.WORKLIST_VIEW))],
        db: Annotated[Session, Depends(db_session)],
    ) -> dict[str, str]:
        ward = _PROBE_OBJECTS[record_id]
        province, district, _ = (k.code for k in UnitIndex.for_version().path(f"ward:{ward}")[1:])
        if check_scope:
            ensure_in_scope(db, principal, province=province, district=district, ward=ward,
                            object_type="probe_record", object_id=record_id, now=dt.datetime.now(dt.UTC))  # fmt: skip
        return {"record_id": record_id}

    return router


def _probe_case(_s: Session, inside: str, outside: str) -> tuple[dict[str, str], dict[str, str]]:
    n = len(_PROBE_OBJECTS)
    _PROBE_OBJECTS[f"r{n}"], _PROBE_OBJECTS[f"r{n + 1}"] = inside, outside
    return {"record_id": f"r{n}"}, {"record_id": f"r{n + 1}"}


@pytest.mark.parametrize("check_scope", [True, False])
def test_the_scope_protocol_catches_a_missing_check(tmp_path: Path, check_scope: bool) -> None:
    """With the scope check the probe route passes for every role that may view worklists;
    without it, every role below the nation is reported as seeing the other province."""
    with _world(tmp_path, _probe_router(check_scope=check_scope)) as w:
        routes = [r for r in route_table(w["app"]) if r.path.startswith("/probe/")]
        failures = _scoped_failures(w, routes, {"/probe/records/{record_id}": _probe_case})
    viewers = [r for r in Role if Permission.WORKLIST_VIEW in ROLE_PERMISSIONS[r]]
    if check_scope:
        assert failures == []
    else:
        assert len(failures) == len(viewers)
        assert all("outside: 200, expected 403" in f for f in failures)


def _denials(engine: Any) -> int:
    with transaction(engine) as s:
        return _count_denials(s)


def _count_denials(s: Session) -> int:
    return int(
        s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "access.denied")
        )
        or 0
    )


def test_the_matrix_sees_router_level_dependencies() -> None:
    """`require` given to a whole router (as `vaxlink.linkage.api.create_router` takes it)
    counts for each of its routes."""
    from vaxlink.auth.deps import require_any

    router = APIRouter(dependencies=[Depends(require(Permission.AUDIT_VIEW))])

    @router.get("/x")
    def _x() -> None: ...

    @router.post("/y", dependencies=[Depends(require_any(Permission.DOSE_ENTER))])
    def _y() -> None: ...

    app = FastAPI()
    app.include_router(router)
    table = {r.key: r.requirement for r in route_table(app)}
    audit = (frozenset({Permission.AUDIT_VIEW}), False)
    assert table["GET /x"] == (audit,)
    y = table["POST /y"]
    assert y is not None
    assert set(y) == {audit, (frozenset({Permission.DOSE_ENTER}), True)}
    assert allowed(Role.ADMIN, (audit,))
    assert not allowed(Role.COMMUNE_POLICE, (audit,))
    assert not allowed(Role.ADMIN, y)  # admins may read the log but not enter doses

"""Recovery entry by a commune health station: only residents of its own unit, as itself, audited;
a refusal keeps what was typed; the issuer's next run signs the recovery certificate."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web_support import create_account, login_client
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import ROLE_PERMISSIONS, Permission, Role
from vaxlink.auth.service import ROLE_LEVELS
from vaxlink.certificates.cli.app import app as cli_app
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.models import CertificateKind, RecoveryRecord
from vaxlink.clock import FixedClock
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW

TODAY = NOW + dt.timedelta(days=1)


def _client(store_url, tmp_path, role, unit) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url), clock=FixedClock(TODAY))
    client = TestClient(app)
    client.__enter__()
    account = create_account(app.state.engine, role, unit)
    client.headers["X-CSRF-Token"] = login_client(client, account.username, account.password)
    client.username = account.username  # type: ignore[attr-defined]
    return client


def test_a_station_enters_its_residents_recoveries_only(world, store_url, tmp_path) -> None:
    here = world.citizen("001085000701", "Phan Văn Đức")
    world.update_citizen(here, province_code="001", district_code="001", ward_code="00001")
    there = world.citizen("001085000702", "Võ Thị Hằng")
    world.update_citizen(there, province_code="001", district_code="001", ward_code="00004")
    station = _client(store_url, tmp_path, Role.HEALTH_STATION, "ward:00001")
    try:
        assert station.get("/recovery").status_code == 200
        positive = (TODAY - dt.timedelta(days=20)).date().isoformat()
        r = station.post("/recovery", data={"id_number": here, "first_positive": positive},
                         follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:500]
        assert 'id="recovery-done"' in station.get(r.headers["location"]).text

        other = station.post("/recovery", data={"id_number": there, "first_positive": positive})
        assert other.status_code == 403
        assert there in other.text  # what was typed is kept
        wrong = station.post("/recovery", data={"id_number": "12345", "first_positive": positive})
        assert wrong.status_code == 422
        future = (TODAY + dt.timedelta(days=2)).date().isoformat()
        late = station.post("/recovery", data={"id_number": here, "first_positive": future})
        assert late.status_code == 422
        bad = station.post("/recovery", data={"id_number": here, "first_positive": "31/02/2025"})
        assert bad.status_code == 422

        with world.session() as s:
            (entry,) = s.scalars(select(RecoveryRecord)).all()
            assert entry.citizen_id == here
            assert entry.station_code == "ward:00001"
            assert entry.recorded_by == station.username
            actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
            assert "recovery.enter" in actions
            assert "access.denied" in actions  # the out-of-area attempt
            ids = [o for (o,) in s.execute(select(AuditEntry.object_id))]
            assert here not in ids
            assert there not in ids  # no ID number in the audit

        report = world.issue(kind=CertificateKind.RECOVERY, now=TODAY)
        assert report.issued == 1
        assert Skip.NOT_IN_REGISTRY not in report.skipped
    finally:
        station.__exit__(None, None, None)


def test_other_roles_cannot_enter_recoveries(store_url, tmp_path) -> None:
    police = _client(store_url, tmp_path, Role.COMMUNE_POLICE, "ward:00001")
    try:
        assert police.get("/recovery").status_code == 403
        assert police.post("/recovery", data={"id_number": "001085000701",
                                              "first_positive": "2025-02-01"}).status_code == 403  # fmt: skip
    finally:
        police.__exit__(None, None, None)


def _residents(world) -> tuple[str, str]:
    """A resident of ward 00001 (Hà Nội, Ba Đình, Phúc Xá) and one of ward 26734 (Hồ Chí Minh)."""
    hanoi = world.citizen("001085000711", "Phan Văn Đức")
    world.update_citizen(hanoi, province_code="001", district_code="001", ward_code="00001")
    saigon = world.citizen("079085000712", "Võ Thị Hằng")
    world.update_citizen(saigon, province_code="079", district_code="760", ward_code="26734")
    return hanoi, saigon


def test_a_station_of_another_province_cannot_enter_a_recovery(world, store_url, tmp_path) -> None:
    hanoi, saigon = _residents(world)
    positive = (TODAY - dt.timedelta(days=20)).date().isoformat()
    station = _client(store_url, tmp_path, Role.HEALTH_STATION, "ward:26734")
    try:
        refused = station.post("/recovery", data={"id_number": hanoi, "first_positive": positive})
        assert refused.status_code == 403
        assert hanoi in refused.text  # what was typed is kept, with the reason
        own = station.post("/recovery", data={"id_number": saigon, "first_positive": positive},
                           follow_redirects=False)  # fmt: skip
        assert own.status_code == 303, own.text[:300]
        with world.session() as s:
            entries = s.scalars(select(RecoveryRecord)).all()
            assert [(e.citizen_id, e.station_code) for e in entries] == [(saigon, "ward:26734")]
            denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
            assert len(denied) == 1
            assert denied[0].unit == "ward:00001"  # the unit it reached for, outside its own
            assert hanoi not in denied[0].object_id + denied[0].detail
    finally:
        station.__exit__(None, None, None)


ROLES_WITHOUT = sorted(r for r, p in ROLE_PERMISSIONS.items() if Permission.RECOVERY_ENTER not in p)


def test_the_permission_is_the_health_stations_alone() -> None:
    holders = [r for r, p in ROLE_PERMISSIONS.items() if Permission.RECOVERY_ENTER in p]
    assert holders == [Role.HEALTH_STATION]
    assert len(ROLES_WITHOUT) == len(Role) - 1


@pytest.mark.parametrize("role", ROLES_WITHOUT)
def test_every_other_role_gets_403_even_in_the_residents_own_ward(
    role, world, store_url, tmp_path
) -> None:
    hanoi, _ = _residents(world)
    # the role's own unit on the resident's path (ward 00001 < district 001 < province 001 < VN)
    path = UnitIndex.for_version().path("ward:00001")
    unit = next(str(k) for k in reversed(path) if k.level in ROLE_LEVELS[role])
    client = _client(store_url, tmp_path, role, unit)
    try:
        assert client.get("/recovery").status_code == 403
        positive = (TODAY - dt.timedelta(days=20)).date().isoformat()
        r = client.post("/recovery", data={"id_number": hanoi, "first_positive": positive})
        assert r.status_code == 403
        with world.session() as s:
            assert s.scalars(select(RecoveryRecord)).all() == []
    finally:
        client.__exit__(None, None, None)


def test_entry_and_issuance_are_audited(
    world, pki, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    """Entered on the web as the station's account, issued by `certificates issue --kind r`:
    both in the audit chain, neither naming the person's ID number."""
    hanoi, _ = _residents(world)
    today = dt.datetime.now(dt.UTC)  # the CLI runs on the system clock
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    with TestClient(app) as station:
        account = create_account(app.state.engine, Role.HEALTH_STATION, "ward:00001")
        station.headers["X-CSRF-Token"] = login_client(station, account.username, account.password)
        positive = (today - dt.timedelta(days=20)).date().isoformat()
        r = station.post("/recovery", data={"id_number": hanoi, "first_positive": positive},
                         follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_UVCI_SECRET", "a secret only the issuer knows")
    pki.save(tmp_path / "keys")
    result = CliRunner().invoke(cli_app, ["issue", "--kind", "r", "--by", "tester"])
    assert result.exit_code == 0, (result.output, result.exception)
    with world.session() as s:
        (entry,) = s.scalars(select(RecoveryRecord)).all()
        certificate = world.active(hanoi, "r")
        assert certificate.recovery_id == entry.id
        audit = {a.action: a for a in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))}
        entered, issued = audit["recovery.enter"], audit["certificates.issue"]
        assert entered.actor_id == account.user_id
        assert (entered.object_type, entered.object_id) == ("recovery_record", str(entry.id))
        assert entered.unit == "ward:00001"
        assert (issued.object_type, issued.object_id) == ("certificate_batch", "r")
        assert json.loads(issued.detail)["issued"] == 1
        assert all(hanoi not in (a.object_id + a.detail) for a in audit.values())

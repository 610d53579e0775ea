"""Recovery entry by a commune health station: only residents of its own unit, as itself, audited;
a refusal keeps what was typed; the issuer's next run signs the recovery certificate."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web_support import create_account, login_client

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.models import CertificateKind, RecoveryRecord
from vaxlink.clock import FixedClock
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

"""Attack: bulk personal data through the look-ups staff and partner apps are allowed to make
(issue #13, point 7). The outside probe read name, date of birth, address and history of 100
people from another province through one station's dose-entry page in 3.6 s, and fetched 256
certificates from 300 arbitrary ID numbers with one partner token in 3 s, each unthrottled.

Now: a station's look-ups of people outside its unit are answered minimised (name, birth year,
sex; no address, no history) and stop at a tight hourly quota; a client token stops at its
per-minute quota (429 + Retry-After); every look-up is audited under an opaque reference; no
route takes an ID number in its URL."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cleaning.entry_support import _batch
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.clients import add_client
from vaxlink.db import transaction
from vaxlink.registry.models import Citizen
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

NOW = dt.datetime(2021, 11, 2, 3, 0, tzinfo=dt.UTC)
#: 100 people of Quang Trung, Hà Giang (province 002): far from the station in Phúc Xá, Hà Nội.
FAR = [f"002090{n:06d}" for n in range(1, 101)]
HOME = "001085012345"


def add_people(engine, ids: list[str], *, province: str, district: str, ward: str) -> None:
    batch = _batch(engine, "registry")
    with transaction(engine) as s:
        for n, cid in enumerate(ids):
            s.add(Citizen(
                citizen_id=cid, full_name=f"Lò Văn Pả {n}", name_folded=f"lo van pa {n}",
                name_key="lo pa", date_of_birth="1990-07-23", dob_precision="day", sex="M",
                province_code=province, district_code=district, ward_code=ward, old_id=None,
                address=None, phone=None, row_hash="x", batch_id=batch, source_row=n + 1,
            ))  # fmt: skip


def audit_values(engine) -> list[str]:
    with transaction(engine) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.unit,
                                 AuditEntry.detail)).all()  # fmt: skip
    return [str(v) for row in rows for v in row]


def test_station_bulk_lookup_of_other_provinces_is_minimised_throttled_and_audited(
    staff_client,
) -> None:
    station = staff_client(Role.HEALTH_STATION, "ward:00001", facility_code="F001")
    add_people(station.engine, FAR, province="002", district="024", ward="00688")
    add_people(station.engine, [HOME], province="001", district="001", ward="00001")
    answered, refused = [], []
    for cid in FAR:
        r = station.post("/entry/identify", data={"id_number": cid})
        (answered if r.status_code == 200 else refused).append(r)
    quota = 30  # VAXLINK_ENTRY_OUTSIDE_LOOKUPS_PER_HOUR's default
    assert 0 < len(answered) <= quota
    assert len(refused) == len(FAR) - len(answered)
    assert all(r.status_code == 429 for r in refused)
    assert 0 < int(refused[0].headers["retry-after"]) <= 3600
    for r in answered:
        assert "Lò Văn Pả" in r.text  # enough to confirm the person and record the dose
        assert 'id="dose-form"' in r.text
        assert "Quang Trung" not in r.text  # no place of residence
        assert "23/07/1990" not in r.text
        assert "1990-07-23" not in r.text
        assert 'id="limited"' in r.text
    # Someone living in the station's own ward is shown in full (within the total quota).
    home = station.post("/entry/identify", data={"id_number": HOME})
    assert home.status_code == 200
    assert "Phúc Xá" in home.text
    values = audit_values(station.engine)
    looked_up = [v for v in values if v.startswith("p") and len(v) == 27]
    assert len(looked_up) >= len(answered)
    for cid in [*FAR, HOME]:
        assert not any(cid in v for v in values), cid


def test_partner_token_is_throttled_per_minute_and_ids_stay_out_of_urls(tmp_path, store_url) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url,
                              partner_requests_per_minute=20))  # fmt: skip
    with TestClient(app) as client:
        engine = app.state.engine
        add_people(engine, FAR, province="002", district="024", ward="00688")
        with transaction(engine) as s:
            _, token = add_client(s, "Partner app", by="tester", now=NOW)
        auth = {"Authorization": f"Bearer {token}"}
        statuses = [
            client.post("/api/v1/citizens/certificate", json={"citizen_id": cid}, headers=auth)
            for cid in FAR[:60]
        ]
        served = [r for r in statuses if r.status_code != 429]
        assert len(served) == 20  # none has a certificate: 404, each counted and audited
        assert all(r.status_code == 404 for r in served)
        throttled = statuses[len(served)]
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        # The ID number is never accepted in a URL (proxies log URLs).
        for path in ("certificate", "certificate.pdf", "certificate.fhir.json"):
            r = client.get(f"/api/v1/citizens/{FAR[0]}/{path}", headers=auth)
            assert r.status_code in (404, 422, 429), path
            assert r.status_code != 200
        for route in app.routes:
            assert not re.search(r"\{(citizen_id|id_number|cccd)\}", getattr(route, "path", ""))
        values = audit_values(engine)
    assert values.count("certificates.client.fetch_json") == 20  # each served request audited
    assert not any(cid in v for v in values for cid in FAR)


def test_identity_api_token_is_throttled_per_minute(tmp_path, store_url) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url,
                              partner_requests_per_minute=5))  # fmt: skip
    with TestClient(app) as client:
        with transaction(app.state.engine) as s:
            _, token = add_client(s, "Vaccination app", by="tester", now=NOW,
                                  scopes=("identity:verify",))  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        query = {"full_name": "Lò Văn Pả", "date_of_birth": "1990-07-23", "id_number": FAR[0]}
        codes = [client.post("/api/v1/identity/verify", json=query, headers=auth).status_code
                 for _ in range(7)]  # fmt: skip
    assert 429 not in codes[:5]
    assert codes[5:] == [429, 429]

"""Attack: the audit log as a register of who was looked at (issue #13, point 7). Its entries
named citizens by their CCCD number (`object_id`), which docs/security.md forbids.

After a demo-like flow on one store (import and link a synthetic population, staff look-ups at
the vaccination point, approval and issuance, the citizen portal's code login and certificate
views, a citizen report corrected by the station, signed again by its site and settled with a
re-issue, partner-app fetches),
no column of any audit entry holds an ID number (12-digit CCCD or 9-digit CMND) of the data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests.cleaning.entry_support import SIGNING
from tests.feedback.conftest import Pki, World, pki  # noqa: F401 - the session's test PKI
from tests.feedback.test_pages import PHONE, _citizen_client, _form, _login, _sms_after
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.clients import add_client
from vaxlink.certificates.service import approve_records, issue_batch
from vaxlink.clock import SystemClock
from vaxlink.db import transaction
from vaxlink.feedback.models import Ticket
from vaxlink.records.models import DoseRecord
from vaxlink.records.service import import_doses
from vaxlink.registry.models import Citizen
from vaxlink.registry.service import load_registry
from vaxlink.synth.generate import generate
from vaxlink.synth.output import write

CID = "001085012345"
OLD_ID = "012345678"
DIGITS = re.compile(r"\d{9,}")


def id_numbers(engine: Any) -> set[str]:
    """Every 9- or 12-digit ID number the store holds (registry and dose records)."""
    with transaction(engine) as s:
        values = [*s.scalars(select(Citizen.citizen_id)), *s.scalars(select(Citizen.old_id)),
                  *s.scalars(select(DoseRecord.id_number)),
                  *s.scalars(select(DoseRecord.citizen_id))]  # fmt: skip
    return {v for v in values if v and v.isdigit() and len(v) in (9, 12)}


def audit_cells(engine: Any) -> list[tuple[int, str, str]]:
    """(seq, column, text) of every column of every audit entry."""
    columns = list(AuditEntry.__table__.columns)
    with transaction(engine) as s:
        rows = s.execute(select(*columns)).all()
    return [(row.seq, c.key, str(v)) for row in rows for c, v in zip(columns, row, strict=True)
            if v is not None]  # fmt: skip


def leaks_of(engine: Any) -> list[tuple[int, str, str]]:
    """(seq, column, digits) of every audit cell holding an ID number of the data."""
    ids = id_numbers(engine)
    assert len(ids) > 100
    return [(seq, column, run) for seq, column, text in audit_cells(engine)
            for run in DIGITS.findall(text) if any(i in run for i in ids)]  # fmt: skip


def test_no_id_number_in_any_audit_column_after_a_full_flow(
    staff_client: Callable[..., Any], pki: Pki, tmp_path: Any  # noqa: F811
) -> None:
    station = staff_client(Role.HEALTH_STATION, "ward:00001", facility_code="F001")
    engine, settings = station.engine, station.app.state.settings
    pki.save(settings.data_dir / "keys")
    # import and link a synthetic population
    paths = write(generate(120, 11), tmp_path / "synth")
    load_registry(engine, paths["registry"], settings=settings, clock=SystemClock())
    import_doses(engine, paths["doses"], settings=settings, clock=SystemClock())
    from vaxlink.linkage.service import verify_store

    verify_store(engine.url.render_as_string(hide_password=False), settings,
                 station.app.state.container.link_model, clock=SystemClock(), started_by="test")
    # a person of the station's ward, with an old CMND, two doses, approved and issued
    world = World(engine)
    world.citizen(CID, phone=PHONE, old_id=OLD_ID)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    d2 = world.dose(CID, 2, dt.date(2021, 8, 30))
    with transaction(engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=dt.datetime.now(dt.UTC))
    # staff look-ups at the vaccination point: by CCCD, by old CMND, someone elsewhere, nobody
    with transaction(engine) as s:
        elsewhere = s.scalars(select(Citizen.citizen_id).where(Citizen.citizen_id != CID)).first()
    assert elsewhere is not None
    for typed in (CID, OLD_ID, elsewhere, "001099999999"):
        assert station.post("/entry/identify", data={"id_number": typed}).status_code == 200
    # the citizen logs in with a code, views and downloads, reports; the station corrects
    client = _citizen_client(station)
    _login(client)
    assert client.get("/c/certificate").status_code == 200
    assert client.get("/c/certificate.pdf").status_code == 200
    r = client.post("/c/report", data=_form(client, kind="dose_details", station="home",
                    dose_id=str(d2), description="Ngày tiêm mũi 2 đúng là 31/08/2021."),
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with transaction(engine) as s:
        ticket_id = s.scalar(select(Ticket.id))
    assert station.get(f"/staff/tickets/{ticket_id}").status_code == 200
    r = station.post(f"/staff/tickets/{ticket_id}/resolve", data={
        "dose": f"{d2}@1", "vaccination_date": "2021-08-31", "reason": "phiếu tiêm gốc",
        "answer": "Đã sửa ngày tiêm mũi 2 và cấp lại chứng nhận.",
    }, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    assert _sms_after(0, contains="cho co so tiem ky duyet")  # the fix awaits F001's signature
    approver = staff_client(Role.SITE_APPROVER, "ward:00001", facility_code="F001",
                            username="approver.f001")  # holds F001's key (conftest's Pki)
    assert approver.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING},
                         follow_redirects=False).status_code == 303  # fmt: skip
    assert _sms_after(0, contains="da giai quyet")
    assert leaks_of(engine) == []
    # a partner app fetches the certificate by ID (in the body), then by reference
    with transaction(engine) as s:
        _, token = add_client(s, "VNeID", by="tester", now=dt.datetime.now(dt.UTC))
    auth = {"Authorization": f"Bearer {token}"}
    answer = station.post("/api/v1/citizens/certificate", json={"citizen_id": CID}, headers=auth)
    assert answer.status_code == 200, answer.text[:300]
    ref = answer.json()["ref"]
    assert station.get(f"/api/v1/citizens/{ref}/certificate.pdf", headers=auth).status_code == 200

    assert leaks_of(engine) == []
    cells = audit_cells(engine)
    actions = {text for _, column, text in cells if column == "action"}
    assert {"dose_entry.identify", "feedback.citizen.login", "feedback.citizen.view_certificate",
            "feedback.citizen.download_pdf", "feedback.ticket.view", "dose.correct",
            "certificates.client.fetch_json", "certificates.client.fetch_pdf"} <= actions  # fmt: skip
    # the person is still findable in the log, by their reference
    refs = {text for _, column, text in cells if column == "object_id"}
    assert ref in refs

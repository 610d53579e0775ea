"""The worklist pages through the real app (SQLite and PostgreSQL): roles, scope refusals (and
their audit), decisions, conflicts shown, Excel download and upload, language."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from tests.cleaning.test_excel import _fill
from tests.cleaning.world import World, build
from tests.web_support import create_account, login_client
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning import excel
from vaxlink.records.models import DoseRecord

Clients = Callable[..., Any]


def _also(first: Any, role: Role, unit: str = "ward:00001") -> Any:
    """A second logged-in client on the first one's app and store (no second app lifespan)."""
    account = create_account(first.engine, role, unit)
    client = TestClient(first.app)
    client.account = account  # type: ignore[attr-defined]
    client.headers["X-CSRF-Token"] = login_client(client, account.username, account.password)
    return client


def _world(client: Any) -> World:
    with client.session() as s:
        return build(s)


def _version(client: Any, dose_id: int) -> int:
    with client.session() as s:
        return int(s.get(DoseRecord, dose_id).version)  # type: ignore[union-attr]


def test_list_detail_and_decision(staff_client: Clients) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    world = _world(police)
    r = police.get("/worklist")
    assert r.status_code == 200
    ids = {int(x) for x in re.findall(r'data-dose="(\d+)"', r.text)}
    assert ids == {world.doses[k] for k in ("an1", "an2", "binh", "ghost")}
    assert "Le Van Cuong" not in r.text
    assert len(re.findall("data-dose=", police.get("/worklist?q=nguyen+van").text)) == 2
    first = police.get("/worklist?n=3")
    more = re.search(r'hx-get="([^"]+)"', first.text)
    assert more is not None
    rest = police.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "<html" not in rest.text
    assert len(re.findall("data-dose=", rest.text)) == 1
    an1 = world.doses["an1"]
    detail = police.get(f"/worklist/doses/{an1}")
    assert detail.status_code == 200
    assert "Nguyễn Văn An" in detail.text
    r = police.post(f"/worklist/doses/{an1}/decision", data={
        "version": str(_version(police, an1)), "decision": "confirm", "citizen_id": "001085012345",
    }, follow_redirects=True)  # fmt: skip
    assert r.status_code == 200
    assert 'data-status="verified"' in r.text
    with police.session() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(an1))))
    assert {"dose.view", "dose.decide.confirm"} <= actions
    with police.session() as s:
        listed = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "worklist.view"))
        assert any(f"{an1}" in d for d in listed)
    assert police.get("/worklist?lang=en").text.count("Doses to verify") >= 1


def test_other_commune_is_refused_and_audited(staff_client: Clients) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    world = _world(police)
    cuong = world.doses["cuong"]
    assert police.get(f"/worklist/doses/{cuong}").status_code == 403
    r = police.post(f"/worklist/doses/{cuong}/decision", data={
        "version": "1", "decision": "confirm", "citizen_id": "001072000222"})  # fmt: skip
    assert r.status_code == 403
    with police.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied",
                                                    AuditEntry.object_id == str(cuong))).all()  # fmt: skip
        assert len(denied) == 2
        assert s.get(DoseRecord, cuong).status == "review"  # type: ignore[union-attr]


def test_roles(staff_client: Clients) -> None:
    health = staff_client(Role.HEALTH_STATION, "ward:00001")
    world = _world(health)
    an1 = world.doses["an1"]
    assert health.post(f"/worklist/doses/{an1}/decision", data={
        "version": "1", "decision": "confirm", "citizen_id": "001085012345"}).status_code == 403  # fmt: skip
    assert health.get("/worklist/import").status_code == 403
    approver = _also(health, Role.SITE_APPROVER)
    assert approver.get("/worklist").status_code == 403
    r = health.post(f"/worklist/doses/{an1}/correction", data={
        "version": str(_version(health, an1)), "date_of_birth": "1985-03-15",
        "was_date_of_birth": "1985-03-14", "reason": "x"})  # fmt: skip
    assert r.status_code == 403
    assert "công an xã xác minh nhân thân" in r.text  # in the page's language (#17)
    assert "only police" not in r.text


def test_second_of_two_edits_is_shown_the_conflict(staff_client: Clients) -> None:
    health = staff_client(Role.HEALTH_STATION, "ward:00001")
    committee = _also(health, Role.COMMUNE_COMMITTEE)
    world = _world(health)
    an2 = world.doses["an2"]
    seen = _version(health, an2)
    form = {"version": str(seen), "was_lot_number": "", "reason": "register"}
    ok = health.post(
        f"/worklist/doses/{an2}/correction",
        data={**form, "lot_number": "LOT-A"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    late = committee.post(f"/worklist/doses/{an2}/correction", data={**form, "lot_number": "LOT-B"})
    assert late.status_code == 409
    assert "LOT-A" in late.text
    assert health.account.username in late.text
    with health.session() as s:
        assert s.get(DoseRecord, an2).lot_number == "LOT-A"  # type: ignore[union-attr]


def test_excel_download_and_upload(staff_client: Clients) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    world = _world(police)
    r = police.get("/worklist/export.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxml")
    assert len(load_workbook(io.BytesIO(r.content))[excel.SHEET]["A"]) == 5
    filled = _fill(r.content, {"T1": {"decision": "Xác nhận ứng viên", "chosen_id": "1"},
                               "T4": {"decision": "bogus"}})  # fmt: skip
    files = {"file": ("w.xlsx", filled, excel_type())}
    up = police.post("/worklist/import", files=files)
    assert up.status_code == 200
    assert up.text.count('data-outcome="applied"') == 1
    assert up.text.count('data-outcome="refused"') == 1
    again = police.post("/worklist/import", files=files)
    assert again.text.count('data-outcome="unchanged"') == 1
    with police.session() as s:
        assert s.get(DoseRecord, world.doses["an2"]).status == "verified"  # type: ignore[union-attr]
    bad = police.post("/worklist/import", files={"file": ("x.xlsx", b"nope", excel_type())})
    assert bad.status_code == 422
    assert "không phải tệp Excel" in bad.text


def excel_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

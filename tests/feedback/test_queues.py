"""Citizen reports go to the queue the seeds name: personal data to the commune police (corrected
as identity), doses to the health station; each queue refuses the other's reports (audited), and
the district sees every kind (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests.feedback.test_pages import CID, _citizen_client, _form, _login
from tests.feedback.test_pages import setup as setup  # the fixture
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning.service import DoseCorrection
from vaxlink.db import transaction
from vaxlink.feedback.models import Ticket
from vaxlink.records.models import DoseRecord

from .conftest import World


def test_personal_data_goes_to_the_police_and_doses_to_the_station(
    setup: tuple[Any, World], staff_client: Callable[..., Any]
) -> None:
    station, world = setup
    world.citizen(CID)
    typo = world.dose(CID, 1, dt.date(2021, 8, 2), full_name="Nguyễn Văn Ann")
    world.dose(CID, 2, dt.date(2021, 8, 30))
    client = _citizen_client(station)
    _login(client)
    for kind, text in (("personal_info", "Tên tôi bị ghi sai là Nguyễn Văn Ann."),
                       ("dose_details", "Số lô mũi 2 bị ghi sai.")):  # fmt: skip
        r = client.post("/c/report", data=_form(client, kind=kind, station="home",
                        dose_id=str(typo), description=text), follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
    with transaction(world.engine) as s:
        ids = {k: i for i, k in s.execute(select(Ticket.id, Ticket.kind)).all()}
    personal, dose = ids["personal_info"], ids["dose_details"]

    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    home = police.get("/").text  # the police's home page leads to its queue with its count
    assert 'href="/police/tickets"' in home
    assert 'data-waiting="1"' in home
    listing = police.get("/police/tickets").text
    assert f"#{personal}" in listing
    assert f"#{dose}" not in listing
    station_list = station.get("/staff/tickets").text
    assert f"#{dose}" in station_list
    assert f"#{personal}" not in station_list
    assert station.get(f"/staff/tickets/{personal}").status_code == 403
    assert police.get(f"/police/tickets/{dose}").status_code == 403
    assert police.get(f"/staff/tickets/{dose}").status_code == 403  # no station permission
    with transaction(world.engine) as s:
        refused = s.scalars(select(AuditEntry.detail).where(
            AuditEntry.action == "access.denied", AuditEntry.object_id == str(personal))).all()  # fmt: skip
    assert any("other_queue" in d for d in refused)
    district = staff_client(Role.DISTRICT_HEALTH, "district:001")
    every = district.get("/staff/tickets").text
    assert f"#{personal}" in every
    assert f"#{dose}" in every

    page = police.get(f"/police/tickets/{personal}")
    assert page.status_code == 200
    assert 'name="full_name"' in page.text
    assert 'name="vaccination_date"' not in page.text
    with transaction(world.engine) as s:
        version = s.get(DoseRecord, typo).version  # type: ignore[union-attr]
    r = police.post(f"/police/tickets/{personal}/resolve", data={
        "dose": f"{typo}@{version}", "full_name": "Nguyễn Văn An", "reason": "đối chiếu CCCD",
        "answer": "Công an xã đã sửa họ tên theo CCCD."}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    assert r.headers["location"] == f"/police/tickets/{personal}?done=resolved"
    confirmed = police.get(r.headers["location"])
    assert "Đã lưu cách xử lý phản ánh" in confirmed.text
    with transaction(world.engine) as s:
        fixed = s.get(DoseRecord, typo)
        assert fixed is not None
        assert fixed.full_name == "Nguyễn Văn An"
        assert fixed.raw_full_name != "Nguyễn Văn An"  # the record as sent is kept
        roles = set(s.scalars(select(DoseCorrection.role).where(
            DoseCorrection.dose_record_id == typo)))  # fmt: skip
        assert roles == {"commune_police"}
        status = s.scalar(select(Ticket.status).where(Ticket.id == personal))
    assert status in ("resolved", "awaiting_certificate")

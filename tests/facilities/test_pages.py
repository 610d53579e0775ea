"""Sites are named where pages showed bare codes, and a listed site's reports go to its ward's
station (over HTTP, no browser; SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.cleaning.entry_support import add_citizen, add_dose, facility_keys
from tests.feedback.conftest import OTHER_WARD, World
from tests.store_support import complete
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.facilities import service
from vaxlink.facilities.service import FacilityInput
from vaxlink.feedback.models import Ticket
from vaxlink.feedback.sms import ConsoleSms
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.reports import daily
from vaxlink.reports.models import DailyFigures

NOW = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
SITE, NAME = "F-TEST", "Trạm Y tế Phường Phúc Xá"
CID, PHONE = "001085012345", "0912345678"


def _list(engine: Engine, *items: FacilityInput) -> None:
    with transaction(engine) as s:
        service.upsert_many(s, items, now=NOW)


def test_staff_pages_name_the_site(staff_client: Callable[..., Any], tmp_path: Path) -> None:
    facility_keys(tmp_path, SITE)
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")  # both work at F-TEST
    enterer = staff_client(Role.HEALTH_STATION, "ward:00001")
    dose = add_dose(enterer.engine, add_citizen(enterer.engine), dt.date(2021, 8, 2), facility=SITE)
    shown = f"{NAME} ({SITE})"
    # before the list names the site, the pages show its bare code as they always did
    assert shown not in approver.get("/approval").text
    assert f'id="entry-site" translate="no">{SITE}<' in enterer.get("/entry").text
    _list(enterer.engine, FacilityInput(SITE, NAME, "00001", "Trạm y tế"))
    assert f"điểm tiêm {shown} chưa được ký" in re.sub(
        r"<[^>]+>", "", approver.get("/approval").text
    )
    assert f'id="entry-site" translate="no">{shown}<' in enterer.get("/entry").text
    done = enterer.get(f"/entry/done/{dose}")
    assert done.status_code == 200
    assert f'<dd translate="no">{shown}</dd>' in done.text
    assert f'<dd translate="no">{shown}</dd>' in approver.get("/").text


def _citizen(staff: Any) -> TestClient:
    client = TestClient(staff.app)
    client.get("/c")
    return client


def _form(client: TestClient, **values: str) -> dict[str, str]:
    return {"csrf_token": client.cookies.get("vaxlink_csrf") or "", **values}


def _log_in(client: TestClient) -> None:
    since = len(ConsoleSms.sent)
    r = client.post("/c/lookup", data=_form(client, id_number=CID, full_name="Nguyễn Văn An",
                    date_of_birth="14/03/1985"), follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = [m.text for m in list(ConsoleSms.sent)[since:] if m.phone == PHONE]
        if sent and "Your code: " in sent[-1]:
            break
        time.sleep(0.02)
    code = sent[-1].split("Your code: ")[1]
    r = client.post("/c/code", data=_form(client, code=code), follow_redirects=False)
    assert r.headers["location"] == "/c/me"


def test_citizen_pages_tickets_and_the_station_of_a_listed_site(
    staff_client: Callable[..., Any],
) -> None:
    home = staff_client(Role.HEALTH_STATION, "ward:00001")
    world = World(home.engine)
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2), facility="F001")  # a site the list lacks
    d2 = world.dose(CID, 2, dt.date(2021, 8, 30), facility="F002")
    hospital = "Bệnh viện Đa khoa Hoàn Kiếm"
    _list(home.engine, FacilityInput("F002", hospital, OTHER_WARD, "Bệnh viện"))
    client = _citizen(home)
    _log_in(client)
    me = client.get("/c/me").text
    assert f"{hospital} (F002)" in me
    assert re.search(r'· <span translate="no">F001</span><br>', me)  # unnamed: the bare code
    form = client.get("/c/report").text
    assert f"{hospital} (F002)" in form
    r = client.post("/c/report", data=_form(client, kind="dose_details", station="site:F002",
                    dose_id=str(d2), description="Sai số lô mũi 2."),
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    with transaction(home.engine) as s:
        ticket = s.scalars(select(Ticket)).one()
        # the site's station is its ward's (not the person's, not an approver's)
        assert (ticket.ward_code, ticket.facility_code) == (OTHER_WARD, "F002")
    assert home.get(f"/staff/tickets/{ticket.id}").status_code == 403
    station = staff_client(Role.HEALTH_STATION, f"ward:{OTHER_WARD}")
    page = station.get(f"/staff/tickets/{ticket.id}")
    assert page.status_code == 200
    assert f'<td translate="no">{hospital} (F002)</td>' in page.text
    assert '<td translate="no">F001</td>' in page.text


def test_reports_name_their_sites(session: Session) -> None:
    day = dt.date(2021, 9, 1)
    for site, n in (("F002", 3), ("F404", 2)):
        session.add(DailyFigures(**complete(DailyFigures, {
            "day": day, "level": "site", "province_code": "001", "district_code": "001",
            "ward_code": "", "site_code": site, "final": True, "doses_recorded": n,
            "computed_at": NOW,
        }, now=NOW)))  # fmt: skip
    session.flush()
    service.upsert_many(session, [FacilityInput("F002", "Bệnh viện Ba Đình", "00004", "BV")],
                        now=NOW)  # fmt: skip
    data = daily.collect(session, UnitKey(Level.DISTRICT, "001"), day)
    assert [r.label for r in data.sites] == ["Bệnh viện Ba Đình (F002)", "F404"]
    sheet = daily.workbook(data)["Co so tiem"]
    cells = [row[:2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells == [("F002", "Bệnh viện Ba Đình (F002)"), ("F404", "F404")]

"""The commune committee's journey through the real app (SQLite and PostgreSQL): the police's
export is a numbered list, the police mark it verified, the committee types an identity fix
citing it, uses the station's vaccination sheet, and enters a missed dose."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from tests.cleaning.test_committee import _vfill
from tests.cleaning.test_pages import _also, _version, _world, excel_type
from vaxlink.auth.roles import Role
from vaxlink.facilities.models import Facility, FacilityKind
from vaxlink.records.models import DoseRecord

Clients = Callable[..., Any]


def test_committee_journey(staff_client: Clients) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    world = _world(police)
    committee = _also(police, Role.COMMUNE_COMMITTEE)
    binh = world.doses["binh"]
    home = committee.get("/")
    assert 'href="/worklist/police-lists"' in home.text
    assert 'href="/backfill"' in home.text
    # without a verified list the committee sees no identity fields and cannot type them
    assert 'name="id_number"' not in committee.get(f"/worklist/doses/{binh}").text
    refused = committee.post(f"/worklist/doses/{binh}/correction", data={
        "version": str(_version(police, binh)), "id_number": "001190000111", "reason": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert police.get("/worklist/export.xlsx").status_code == 200
    lists = committee.get("/worklist/police-lists")
    [list_id] = re.findall(r'href="/worklist/police-lists/(\d+)"', lists.text)
    assert "Chờ công an xác minh" in lists.text
    assert committee.post(f"/worklist/police-lists/{list_id}/verified",
                          data={"paper_ref": "x"}).status_code == 403  # fmt: skip
    r = police.post(f"/worklist/police-lists/{list_id}/verified",
                    data={"paper_ref": "DS 12/CAX 05/12"}, follow_redirects=True)  # fmt: skip
    assert re.search(r"Đã xác minh \((<[^>]*>)?DS 12/CAX 05/12", r.text)
    page = committee.get(f"/worklist/police-lists/{list_id}")
    assert f"/worklist/doses/{binh}?list={list_id}" in page.text
    detail = committee.get(f"/worklist/doses/{binh}?list={list_id}")
    assert 'name="verification_list"' in detail.text
    assert 'name="id_number"' in detail.text
    saved = committee.post(f"/worklist/doses/{binh}/correction", data={
        "version": str(_version(police, binh)), "id_number": "001190000111",
        "verification_list": list_id, "reason": "theo danh sách công an"}, follow_redirects=True)  # fmt: skip
    assert saved.status_code == 200
    with police.session() as s:
        assert s.get(DoseRecord, binh).id_number == "001190000111"  # type: ignore[union-attr]
    # the station's vaccination sheet, used by the committee on its behalf
    sheet = committee.get("/worklist/vaccination.xlsx")
    assert sheet.status_code == 200
    with police.session() as s:
        gid = s.get(DoseRecord, world.doses["ghost"]).record_id  # type: ignore[union-attr]
    filled = _vfill(sheet.content, {gid: {"new_lot": "LOT9", "reason": "sổ tiêm"}})
    up = committee.post("/worklist/vaccination-import",
                        files={"file": ("v.xlsx", filled, excel_type())})  # fmt: skip
    assert up.text.count('data-outcome="applied"') == 1
    assert police.get("/worklist/vaccination.xlsx").status_code == 403
    # a missed dose
    with police.session() as s:
        now = dt.datetime.now(dt.UTC)
        s.add(Facility(code="F001", name="Trạm Y tế Phúc Xá", ward_code="00001",
                       kind=FacilityKind.HEALTH_STATION, active=True, created_at=now,
                       updated_at=now))  # fmt: skip
    form = {"evidence": "site_logbook", "reference": "Sổ 2, trang 14, dòng 3",
            "collected_by": "Vũ Thị Hoa", "full_name": "Lê Thị Hoà", "date_of_birth": "12/03/1975",
            "sex": "Nữ", "id_number": "", "vaccine": "Comirnaty", "lot": "FA1234",
            "date": "2021-09-20", "category": "primary", "sequence": "1", "site": "F001"}  # fmt: skip
    r = committee.post("/backfill", data=form)
    assert r.status_code == 200
    assert 'id="backfill-saved"' in r.text
    bad = committee.post("/backfill", data={**form, "reference": ""})
    assert bad.status_code == 422
    assert "chứng cứ" in bad.text or "số phiếu" in bad.text
    health = _also(police, Role.HEALTH_STATION)
    assert health.get("/backfill").status_code == 403

"""In Chromium, in Vietnamese: the commune committee logs in, goes from its home page to a list
the police verified, types the identity fix the police verified, then enters a missed dose."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.cleaning.world import PHUC_XA, build, principal
from tests.web_support import LiveServer, MakeUser, login
from vaxlink.auth.roles import Role
from vaxlink.cleaning import police_lists
from vaxlink.facilities.models import Facility, FacilityKind
from vaxlink.records.models import DoseRecord


def test_committee_types_a_verified_fix_and_enters_a_missed_dose(
    live_server: LiveServer, make_user: MakeUser, page: Any
) -> None:
    now = dt.datetime.now(dt.UTC)
    officer = principal(Role.COMMUNE_POLICE, PHUC_XA)
    with live_server.session() as s:
        world = build(s)
        binh = world.doses["binh"]
        list_id = police_lists.create_list(s, officer, [(binh, 1)], now=now)
        police_lists.mark_verified(s, officer, list_id, paper_ref="DS 12/CAX", now=now)
        s.add(Facility(code="F001", name="Trạm Y tế Phúc Xá", ward_code="00001",
                       kind=FacilityKind.HEALTH_STATION, active=True, created_at=now,
                       updated_at=now))  # fmt: skip
    committee = make_user(live_server.engine, Role.COMMUNE_COMMITTEE, "ward:00001")
    login(page, live_server.url, committee)
    page.goto(f"{live_server.url}/")
    with page.expect_navigation():
        page.click('a[href="/worklist/police-lists"]')
    assert "Danh sách xác minh của công an" in page.inner_text("main")
    assert "Đã xác minh (DS 12/CAX" in page.inner_text("#police-lists")
    with page.expect_navigation():
        page.click(f'a[href="/worklist/police-lists/{list_id}"]')
    with page.expect_navigation():
        page.click(f'#plist-doses a[href^="/worklist/doses/{binh}"]')
    # opened from the verified list, the dose shows its correction form open, citing the list
    assert page.locator("#correct").evaluate("e => e.open")
    assert page.input_value("#verification-list") == str(list_id)
    page.fill("#correction-form input[name=id_number]", "001190000111")
    page.fill("#correction-form input[name=reason]", "theo danh sách công an đã ký")
    with page.expect_navigation():
        page.click("#save-correction")
    assert page.is_visible("#saved")
    with live_server.session() as s:
        assert s.get(DoseRecord, binh).id_number == "001190000111"  # type: ignore[union-attr]
    with page.expect_navigation():
        page.click('a[href="/backfill"]')
    assert "Nhập bổ sung mũi tiêm" in page.inner_text("h1")
    page.select_option("select[name=evidence]", "vaccination_card")
    page.fill("input[name=reference]", "Phiếu số 0042")
    page.fill("input[name=collected_by]", "Vũ Thị Hoa")
    page.fill("input[name=full_name]", "Lê Thị Hoà")
    page.fill("input[name=date_of_birth]", "12/03/1975")
    page.select_option("select[name=sex]", "Nữ")
    page.select_option("select[name=vaccine]", "Comirnaty")
    page.fill("input[name=lot]", "FA1234")
    page.fill("input[name=date]", "2021-09-20")
    page.fill("input[name=site]", "F001")
    with page.expect_navigation():
        page.click("#backfill-save")
    assert "chờ đối chiếu danh tính" in page.inner_text("#backfill-saved")

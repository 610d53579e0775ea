"""Campaign phases (states, the dashboard's phase list, the admin page) and the per-site ageing
of unfixed errors (buckets, scope, the site head, XLSX). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.reports.campaign_world import FORMULA_SITE, HEAD, build_ageing, build_phases
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.errors import InvalidInput
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.reports import ageing, phases
from vaxlink.reports.figures import local_day
from vaxlink.reports.models import CampaignPhase
from vaxlink.reports.query import Figures

NOW = dt.datetime(2021, 11, 20, 4, 0, tzinfo=dt.UTC)
DISTRICT = UnitKey(Level.DISTRICT, "001")


def _phase(start: int, end: int, share: float) -> CampaignPhase:
    day = dt.date(2021, 11, 1)
    return CampaignPhase(starts_on=day + dt.timedelta(days=start), deadline=day +
                         dt.timedelta(days=end), target_share=share)  # fmt: skip


@pytest.mark.parametrize(("value", "today", "state"), [
    (0.96, 5, "met"), (0.96, 40, "met"),
    (0.50, 9, "on_track"),  # 10 of 20 days gone: 0.475 due
    (0.40, 9, "at_risk"),
    (0.90, 20, "late"),
    (None, 3, "no_data"), (None, 25, "late"),
])  # fmt: skip
def test_state_of(value: float | None, today: int, state: str) -> None:
    phase = _phase(0, 19, 0.95)
    got, expected, _days_left = phases.state_of(phase, value, dt.date(2021, 11, 1 + today) if
                                               today < 30 else dt.date(2021, 12, 11))  # fmt: skip
    assert got == state
    assert 0 <= expected <= 0.95


def test_measures_read_the_stored_figures() -> None:
    f = Figures({"doses_sent": 200, "doses_verified": 150, "doses_auto_linked": 40,
                 "tickets_open": 1, "tickets_resolved": 3, "people_verified": 9,
                 "people_not_verified": 1})  # fmt: skip
    assert phases.measure("linked_share", f) == pytest.approx(0.95)
    assert phases.measure("tickets_answered", f) == pytest.approx(0.75)
    assert phases.measure("people_verified_share", f) == pytest.approx(0.9)
    assert phases.measure("linked_share", Figures({})) is None
    with pytest.raises(InvalidInput):
        phases.measure("nonsense", f)


def test_create_refuses_what_cannot_be_used(session: Session) -> None:
    ok = {"name": "Đợt 1", "unit": "district:001", "starts_on": dt.date(2021, 11, 1),
          "deadline": dt.date(2021, 11, 30), "target_kind": "linked_share",
          "target_percent": 95.0, "by": "t", "now": NOW}  # fmt: skip
    phase = phases.create(session, **ok)
    assert (phase.province_code, phase.district_code, phase.target_share) == ("001", "001", 0.95)
    for bad in ({"deadline": dt.date(2021, 10, 1)}, {"target_kind": "x"}, {"target_percent": 0},
                {"unit": "district:999x"}, {"name": " "}):  # fmt: skip
        with pytest.raises(InvalidInput):
            phases.create(session, **{**ok, **bad})


def test_progress_applies_phases_from_above_only(store: Engine) -> None:
    made = build_phases(store, NOW)
    with Session(store) as s:
        from vaxlink.reports import query

        day = local_day(NOW)
        got = phases.progress(s, DISTRICT, day, query.unit_figures(s, day, DISTRICT))
    states = {p.phase.id: p.state for p in got}
    assert states == {made["on_track"]: "on_track", made["late"]: "late", made["met"]: "met",
                      made["at_risk"]: "at_risk"}  # fmt: skip
    late = next(p for p in got if p.state == "late")
    assert late.days_left == -1
    assert late.value == pytest.approx(0.5)


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *a: seen.append(a[2]) if "dose_record" in a[2] else None)  # fmt: skip
    return seen


def test_ageing_buckets_scope_and_one_statement(store: Engine) -> None:
    ids = build_ageing(store, NOW)
    seen = _statements(store)
    with Session(store) as s:
        rows = ageing.by_site(s, DISTRICT, now=NOW)
        province = ageing.by_site(s, UnitKey(Level.PROVINCE, "001"), now=NOW, sort="site")
        ward = ageing.by_site(s, UnitKey(Level.WARD, "00004"), now=NOW)
    assert len(seen) == 3  # one statement per call, whatever the number of sites
    assert [r.site_code for r in rows] == ["F-BD", "F-NEW"]  # the longest waiting first
    bd = rows[0]
    assert (bd.total, bd.review, bd.unmatched, bd.invalid) == (4, 2, 1, 1)
    assert bd.buckets == {"d0_3": 1, "d4_7": 1, "d8_14": 1, "d15": 1}
    assert (bd.head_name, bd.phone, bd.oldest_days) == (HEAD, "0912345678", 20)
    assert rows[1].site_name is None  # a site not in the list still shows, by its code
    assert "F-HK" not in {r.site_code for r in rows}  # another district's site is absent
    assert [r.site_code for r in province] == ["F-BD", "F-HK", "F-NEW"]
    assert [r.site_code for r in ward] == ["F-NEW"]
    assert ids["verified"]  # a verified dose is in no bucket (4, not 5, for F-BD)


def test_ageing_page_export_and_refusal(staff_client) -> None:
    now = dt.datetime.now(dt.UTC)
    officer = staff_client(Role.DISTRICT_HEALTH, "district:001")
    build_ageing(officer.engine, now)
    page = officer.get("/ageing")
    assert page.status_code == 200
    assert HEAD in page.text
    assert "F-HK" not in page.text
    assert "Trần Thị Khác" not in page.text
    assert re.search(r'data-site="F-BD"', page.text)
    assert officer.get("/ageing?sort=head").status_code == 200
    assert officer.get("/ageing?sort=x").status_code == 422
    refused = officer.get("/ageing?unit=district:002")
    assert refused.status_code == 403
    r = officer.get("/ageing/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    assert ws.cell(2, 2).value == "Tên cơ sở tiêm chủng"
    assert ws.cell(2, 4).value == "Người đứng đầu cơ sở"
    name = ws.cell(3, 2)
    assert name.value == FORMULA_SITE
    assert name.data_type == "s"
    assert name.quotePrefix
    assert [ws.cell(3, c).value for c in (1, 4, 6)] == ["F-BD", HEAD, 4]
    english = load_workbook(io.BytesIO(officer.get("/ageing/export.xlsx?lang=en").content))
    assert english.sheetnames == ["Unfixed errors by site"]
    heads = [c.value for c in english.active[2]]  # the catalogue's English, bucket names filled
    assert heads[:4] == ["Site code", "Vaccination site name", "Commune code", "Head of the site"]
    assert "Waiting ≤ 3 days" in heads
    assert not [h for h in heads if re.search(r"[ăâđêôơưạ-ỹ]", str(h), re.IGNORECASE)]
    with officer.session() as s:
        actions = {(a.action, a.object_id) for a in s.execute(
            select(AuditEntry.action, AuditEntry.object_id))}  # fmt: skip
    assert ("access.denied", "district:002") in actions
    assert ("ageing.export", "district:001") in actions


def test_dashboard_shows_phases_and_admin_manages_them(staff_client) -> None:
    now = dt.datetime.now(dt.UTC)
    officer = staff_client(Role.DISTRICT_HEALTH, "district:001")
    made = build_phases(officer.engine, now)
    page = officer.get(f"/dashboard?day={local_day(now).isoformat()}")
    assert page.status_code == 200
    for key in ("on_track", "late", "met", "at_risk"):
        assert f'data-phase="{made[key]}" data-state="{key}"' in page.text
    assert f'data-phase="{made["elsewhere"]}"' not in page.text
    assert "Trễ hạn" in page.text
    assert "Quá hạn 1 ngày" in page.text
    admin = staff_client(Role.ADMIN, "district:001")
    listed = admin.get("/admin/phases")
    assert "Đợt 1: xác thực 95%" not in listed.text  # set by the province: not the district's
    assert "Xác thực 80%" in listed.text
    r = admin.post("/admin/phases", data={
        "name": "Đợt 2", "unit": "ward:00001", "starts_on": "2021-11-01",
        "deadline": "2021-11-30", "target_kind": "linked_share", "target_percent": "95"},
        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    r = admin.post("/admin/phases", data={
        "name": "Đợt 3", "unit": "district:002", "starts_on": "2021-11-01",
        "deadline": "2021-11-30", "target_kind": "linked_share", "target_percent": "95"})  # fmt: skip
    assert r.status_code == 403
    assert admin.post(f"/admin/phases/{made['elsewhere']}/end").status_code == 403
    assert admin.post(f"/admin/phases/{made['met']}/end", follow_redirects=False).status_code == 303
    page = officer.get(f"/dashboard?day={local_day(now).isoformat()}")
    assert f'data-phase="{made["met"]}"' not in page.text

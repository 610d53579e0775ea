"""Dashboard and report pages over HTTP: the JSON equals the independent count, drill-down stays
inside the account's unit, exports open with openpyxl, reports are listed and downloaded in scope."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from tests.reports.expected import expected
from tests.reports.world import DAY2, NOW, TODAY, Built
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.geo.codes import NATION
from vaxlink.reports import query
from vaxlink.reports.figures import end_of_day, refresh_due
from vaxlink.reports.service import generate


def _prepare(built: Built) -> tuple[str, str, str]:
    """Figures for day 2 and today; returns a busy province, one of its districts, a ward."""
    with transaction(built.engine) as s:
        refresh_due(s, now=NOW, backfill_days=1)
        provinces = [r for r in query.children(s, TODAY, NATION) if r.drill]
        province = max(provinces, key=lambda r: r.figures["doses_recorded"]).drill
        assert province is not None
        district = next(r.drill for r in query.children(s, TODAY, province) if r.drill)
        assert district is not None
        ward = next(r.drill for r in query.children(s, TODAY, district) if r.drill)
        assert ward is not None
    return str(province), str(district), str(ward)


def test_national_json_is_the_independent_count(
    built: Built, staff_client, report_synth: dict[str, Path]
) -> None:
    province, _district, _ward = _prepare(built)
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    r = nation.get("/dashboard/data", params={"day": DAY2.isoformat()})
    assert r.status_code == 200, r.text
    data = r.json()
    want, _ = expected(built.engine, report_synth["registry"], end_of_day(DAY2), NOW)
    mine = want[("nation", "", "", "", "")]
    assert data["unit"]["key"] == "nation:VN"
    linked = mine.get("doses_verified", 0) + mine.get("doses_auto_linked", 0)
    assert data["headline"] == {"sent": mine["doses_sent"], "verified": linked,
                                "wrong": mine["doses_sent"] - linked}  # fmt: skip
    for name, value in mine.items():
        assert data["figures"][name] == value, name
    for row in data["below"]:
        code = row["key"].split(":", 1)[1] if row["key"] else ""
        assert row["doses_recorded"] == want[("province", code, "", "", "")]["doses_recorded"]
    assert sum(r["doses_recorded"] for r in data["below"]) == mine["doses_recorded"]
    assert [p["day"] for p in data["series"]] == [DAY2.isoformat()]
    assert data["worst"]
    page = nation.get("/dashboard", params={"unit": province, "lang": "en"})
    assert page.status_code == 200
    assert "Sent for verification" in page.text
    assert 'id="table-below"' in page.text
    assert "/static/vendor/chartjs/chart.umd.min.js" in page.text


def test_scope_is_enforced_and_drill_down_refused_outside(built: Built, staff_client) -> None:
    province, district, ward = _prepare(built)
    cdc = staff_client(Role.PROVINCIAL_CDC, province)
    own = cdc.get("/dashboard/data")
    assert own.status_code == 200
    assert own.json()["unit"]["key"] == province
    assert cdc.get("/dashboard/data", params={"unit": district}).status_code == 200
    assert cdc.get("/dashboard/data", params={"unit": "VN"}).status_code == 403
    other = "province:001" if province != "province:001" else "province:079"
    assert cdc.get("/dashboard/panel", params={"unit": other}).status_code == 403
    assert cdc.get("/dashboard/export.xlsx", params={"unit": other}).status_code == 403
    station = staff_client(Role.HEALTH_STATION, ward)
    mine = station.get("/dashboard/data").json()
    assert mine["unit"]["key"] == ward
    assert mine["below"] == []
    assert station.get("/dashboard/data", params={"unit": district}).status_code == 403
    police = staff_client(Role.COMMUNE_POLICE, ward)
    assert police.get("/dashboard/data").status_code == 403, "police have no dashboard"
    with cdc.session() as s:
        from sqlalchemy import text

        denied = s.execute(
            text("SELECT COUNT(*) FROM audit_entry WHERE action = 'access.denied'")
        ).scalar_one()
    assert denied >= 3


def test_export_opens_with_the_right_numbers(built: Built, staff_client) -> None:
    province, _district, _ward = _prepare(built)
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    data = nation.get("/dashboard/data", params={"unit": province}).json()
    r = nation.get("/dashboard/export.xlsx", params={"unit": province, "table": "below"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    col = next(i for i, h in enumerate(header) if h and h.endswith("\nDoses recorded"))
    lines = list(ws.iter_rows(min_row=2, values_only=True))
    assert [line[col] for line in lines[:-1]] == [row["doses_recorded"] for row in data["below"]]
    assert lines[-1][col] == data["figures"]["doses_recorded"]
    sites = nation.get("/dashboard/export.xlsx", params={"unit": province, "table": "sites"})
    ws = load_workbook(io.BytesIO(sites.content)).active
    assert sum(line[col] for line in ws.iter_rows(min_row=2, values_only=True)) == data[
        "figures"]["doses_recorded"]  # fmt: skip


def test_reports_listed_and_downloaded_in_scope(built: Built, staff_client, tmp_path: Path) -> None:
    province, district, _ward = _prepare(built)
    cdc = staff_client(Role.PROVINCIAL_CDC, province)
    data_dir = Path(cdc.app.state.settings.data_dir)  # type: ignore[attr-defined]
    with transaction(built.engine) as s:
        from vaxlink.reports.service import parse_unit

        mine = generate(s, data_dir, parse_unit(province), DAY2, now=NOW, by="t")
        sub = generate(s, data_dir, parse_unit(district), DAY2, now=NOW, by="t")
        top = generate(s, data_dir, NATION, DAY2, now=NOW, by="t")
        ids = (mine.id, sub.id, top.id)
    page = cdc.get("/reports")
    assert page.status_code == 200
    assert f"/reports/{ids[0]}/xlsx" in page.text
    assert f"/reports/{ids[1]}/pdf" in page.text
    assert f"/reports/{ids[2]}/xlsx" not in page.text
    got = cdc.get(f"/reports/{ids[0]}/xlsx")
    assert got.status_code == 200
    assert got.content == (data_dir / mine.xlsx_path).read_bytes()
    assert cdc.get(f"/reports/{ids[1]}/pdf").content.startswith(b"%PDF")
    assert cdc.get(f"/reports/{ids[2]}/pdf").status_code == 403
    station = staff_client(Role.HEALTH_STATION, "ward:00001")
    assert station.get("/reports").status_code == 403

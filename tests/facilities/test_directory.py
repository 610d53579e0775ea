"""The focal-point directory: checked input, scope (another district's officers absent, edits
refused and audited), the XLSX export (Vietnamese headers, formulas inert, the read audited), and
the CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.errors import InvalidInput
from vaxlink.facilities import directory
from vaxlink.facilities.cli import app
from vaxlink.facilities.directory import FocalPointInput
from vaxlink.facilities.models import FocalPoint
from vaxlink.settings import get_settings

NOW = dt.datetime(2021, 11, 2, 3, 0, tzinfo=dt.UTC)
FORMULA = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'


def _add(s: Session, unit: str, name: str, **kw: str) -> FocalPoint:
    return directory.add(s, FocalPointInput(unit=unit, full_name=name,
                         organisation=kw.pop("organisation", "Trạm y tế xã"), **kw), now=NOW)  # fmt: skip


def test_input_is_checked_and_placed(session: Session) -> None:
    row = _add(session, "ward:00001", "  Nguyễn   Thị Lan ", phone="+84 912 345 678",
               campaign_role="Đầu mối làm sạch dữ liệu")  # fmt: skip
    assert (row.full_name, row.phone) == ("Nguyễn Thị Lan", "0912345678")
    assert (row.province_code, row.district_code, row.ward_code) == ("001", "001", "00001")
    district = _add(session, "district:002", "Lê Văn Hùng", organisation="TTYT huyện")
    assert (district.province_code, district.district_code, district.ward_code) == (
        "001",
        "002",
        "",
    )
    nation = _add(session, "VN", "Phạm Quốc Gia", organisation="Cục Y tế dự phòng")
    assert (nation.unit_level, nation.province_code) == ("nation", "")
    for bad in ({"unit": "ward:99999"}, {"phone": "12"}, {"email": "not-an-address"}):
        with pytest.raises(InvalidInput):
            directory.add(session, FocalPointInput(**{"unit": "ward:00001", "full_name": "A",
                          "organisation": "Công an xã", **bad}), now=NOW)  # fmt: skip
    with pytest.raises(InvalidInput):
        _add(session, "ward:00001", "   ")


def test_update_deactivate_and_scoped_listing(session: Session) -> None:
    mine = _add(session, "ward:00001", "Nguyễn Thị Lan")
    other = _add(session, "ward:00037", "Trần Văn Khác")  # district 002
    changed = directory.update(session, mine, FocalPointInput(
        unit="ward:00004", full_name="Nguyễn Thị Lan", organisation="UBND xã"), now=NOW)  # fmt: skip
    assert set(changed) >= {"organisation", "unit_code", "ward_code"}
    directory.set_active(session, other, False, now=NOW)
    cols = directory.scope_columns()
    in_district = directory.listing(session, cols[1] == "001")
    assert [r.id for r in in_district] == [mine.id]
    assert directory.listing(session, cols[0] == "001", active_only=True) == [mine]
    assert {r.id for r in directory.listing(session, unit="province:001")} == {mine.id, other.id}


def test_export_headers_and_inert_formulas(session: Session) -> None:
    _add(session, "ward:00001", FORMULA, organisation="+cmd|' /C calc'!A0", email="a@b.vn")
    ws = load_workbook(io.BytesIO(directory.export_xlsx(directory.listing(session)))).active
    assert ws is not None
    assert [c.value for c in ws[1]][:4] == ["Cấp", "Mã đơn vị", "Tên đơn vị", "Họ và tên"]
    name, org = ws.cell(2, 4), ws.cell(2, 5)
    assert name.value == FORMULA
    assert name.data_type == "s"
    assert name.quotePrefix
    assert org.data_type == "s"
    assert org.quotePrefix
    assert ws.cell(2, 3).value == "Phường Phúc Xá"


def test_pages_scope_audit_and_export(staff_client) -> None:
    admin = staff_client(Role.ADMIN, "district:001")
    r = admin.post("/admin/focal-points", data={
        "unit": "ward:00001", "full_name": FORMULA, "organisation": "Công an xã",
        "campaign_role": "Xác minh danh tính", "phone": "0912345678"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    # Another district of the same province: refused and audited.
    r = admin.post("/admin/focal-points", data={"unit": "ward:00037", "full_name": "X",
                   "organisation": "Công an xã"})  # fmt: skip
    assert r.status_code == 403
    with admin.session() as s:
        other = _add(s, "ward:00037", "Trần Văn Khác")
        other_id = other.id
        mine = s.scalars(select(FocalPoint).where(FocalPoint.ward_code == "00001")).one()
        mine_id = mine.id
    page = admin.get("/admin/focal-points")
    assert "Trần Văn Khác" not in page.text
    assert "Xác minh danh tính" in page.text
    r = admin.post(f"/admin/focal-points/{other_id}/deactivate")
    assert r.status_code == 403
    r = admin.post(f"/admin/focal-points/{mine_id}",
                   data={"unit": "ward:00004", "full_name": "Nguyễn Thị Lan",
                         "organisation": "UBND xã"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    # A district officer reads (and exports) the district's list; cannot change it.
    officer = staff_client(Role.DISTRICT_HEALTH, "district:001")
    assert "Nguyễn Thị Lan" in officer.get("/focal-points").text
    assert officer.post(f"/admin/focal-points/{mine_id}/deactivate").status_code == 403
    r = officer.get("/admin/focal-points/export.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    names = [row[3] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert names == ["Nguyễn Thị Lan"]
    assert staff_client(Role.HEALTH_STATION, "ward:00001").get("/focal-points").status_code == 403
    with officer.session() as s:
        actions = s.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.object_id,
                                   AuditEntry.detail)).all()  # fmt: skip
    denied = [a for a in actions if a.action == "access.denied"]
    assert {a.object_id for a in denied} >= {"ward:00037", str(other_id)}
    exports = [a for a in actions if a.action == "directory.export"]
    assert len(exports) == 1
    assert exports[0].actor_id == officer.account.user_id
    assert "Nguyễn" not in "".join(str(a.detail) for a in actions)  # no contact data logged


@pytest.fixture
def cli_store(store: Engine, store_url: str, tmp_path: Path, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


def test_cli_add_list_export(cli_store: str, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["focal-points", "add", "--unit", "district:001",
                            "--name", FORMULA, "--organisation", "TTYT huyện",
                            "--phone", "024 3826 1234"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["focal-points", "add", "--unit", "ward:99999",
                            "--name", "A", "--organisation", "B"])  # fmt: skip
    assert isinstance(r.exception, InvalidInput), r.output  # the root maps it to exit 2
    out = tmp_path / "danh-ba.xlsx"
    r = runner.invoke(app, ["focal-points", "export", str(out), "--unit",
                            "province:001"])  # fmt: skip
    assert r.exit_code == 0, r.output
    cell = load_workbook(out).active.cell(2, 4)  # type: ignore[union-attr]
    assert cell.value == FORMULA
    assert cell.quotePrefix
    assert out.stat().st_mode & 0o077 == 0
    r = runner.invoke(app, ["focal-points", "list"])
    assert r.exit_code == 0
    assert "TTYT huyện" in r.output

"""Importing a site list (SQLite and PostgreSQL): Vietnamese headers, CSV and XLSX, bad rows
refused with reasons and nothing dropped, a second run changing nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from vaxlink.facilities import service
from vaxlink.ingest.errors import FileRejected

NOW = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
HEADER = "Mã cơ sở,Tên cơ sở,Mã xã,Loại,Người đứng đầu,Số điện thoại,Email,Ghi chú\n"
ROWS = [
    "F0010001,Trạm Y tế Phường Phúc Xá,00001,Trạm y tế,Nguyễn Văn A,0912345678,tyt@example.vn,\n",
    "F0010002,Bệnh viện Đa khoa Ba Đình,4,Bệnh viện,,024 3823 4567,,mở 2021\n",
    "F0010003,,99999,tàu bay,,12,not-an-email,\n",  # row 4: five problems
    "F0010004,Đội tiêm lưu động Ba Đình,00004,Lưu động,,,,\n",
    "F0010004,Đội tiêm lưu động Ba Đình 2,00004,Lưu động,,,,\n",  # row 6: the code again
    'F0010005,"Trạm, với dấu phẩy",00006,Khác,,,,,"một ô thừa"\n',  # row 7: too many cells
]


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "co-so-tiem.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def test_csv_with_bad_rows(session: Session, tmp_path: Path) -> None:
    summary = service.import_file(session, _csv(tmp_path, ROWS), now=NOW)
    assert summary.rows_read == 6
    assert summary.upsert.created == ["F0010001", "F0010002"]
    refused = {r.row: r for r in summary.refused}
    assert sorted(refused) == [4, 5, 6, 7]  # every row is accounted for: 2 + 4 = 6
    assert refused[4].code == "F0010003"
    assert len(refused[4].reasons) == 5
    assert "kind 'tàu bay' is not known" in str(refused[4])
    assert "appears on rows 5, 6 of this file: keep one" in str(refused[5])
    assert refused[6].reasons == refused[5].reasons
    assert refused[7].reasons == ("the row has more cells than the header",)
    row = service.get(session, "F0010002")
    assert (row.ward_code, row.kind, row.phone) == ("00004", "hospital", "02438234567")
    assert summary.audit_detail()["refused_rows"] == [4, 5, 6, 7]


def test_the_same_list_twice_changes_nothing_and_a_change_is_named(
    session: Session, tmp_path: Path
) -> None:
    path = _csv(tmp_path, ROWS[:2])
    service.import_file(session, path, now=NOW)
    again = service.import_file(session, path, now=NOW + dt.timedelta(hours=1))
    assert (again.upsert.created, again.upsert.updated) == ([], {})
    assert again.upsert.unchanged == ["F0010001", "F0010002"]
    changed = _csv(tmp_path, [ROWS[0].replace("Nguyễn Văn A", "Lê Thị C"), ROWS[1]])
    third = service.import_file(session, changed, now=NOW + dt.timedelta(hours=2))
    assert third.upsert.updated == {"F0010001": ["head_name"]}
    assert service.get(session, "F0010001").head_name == "Lê Thị C"


def test_xlsx_with_numbers_for_codes(session: Session, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Mã cơ sở", "Tên cơ sở", "Mã xã", "Loại", "Số điện thoại", "Hoạt động"])
    ws.append(["F0010001", "Trạm Y tế Phường Trúc Bạch", 4, "TYT", 912345678, "Không"])
    ws.append(["F0010002", "Trạm Y tế Phường Vĩnh Phúc", "00006", "Trạm y tế", None, "Có"])
    path = tmp_path / "co-so.xlsx"
    wb.save(path)
    summary = service.import_file(session, path, now=NOW)
    assert summary.refused == []
    a, b = service.get(session, "F0010001"), service.get(session, "F0010002")
    assert (a.ward_code, a.phone, a.active) == ("00004", "0912345678", False)
    assert (b.ward_code, b.phone, b.active) == ("00006", None, True)


def test_a_list_without_a_required_column_is_refused_whole(
    session: Session, tmp_path: Path
) -> None:
    path = _csv(tmp_path, ["F1,Trạm,00001\n"], header="Mã cơ sở,Tên cơ sở,Mã xã\n")
    with pytest.raises(FileRejected, match=r"required column.*kind"):
        service.import_file(session, path, now=NOW)
    assert service.list_facilities(session) == []

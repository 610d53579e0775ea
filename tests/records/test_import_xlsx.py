"""XLSX dose files: typed cells, bad rows quarantined, formulas and merged cells refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.records.test_import import BAD, GOOD, HEADER, TODAY, _codes_by_record, _expected_codes
from vaxlink.clock import SystemClock
from vaxlink.ingest.errors import FileRejected
from vaxlink.records.importer import import_doses
from vaxlink.settings import Settings


def _workbook(rows: list[list[object]]) -> Workbook:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    return wb


def test_broken_xlsx_nothing_lost_and_reimport_changes_nothing(
    store: Engine, tmp_path: Path
) -> None:
    typed: list[object] = ["T1", "Đỗ Văn Tú", dt.datetime(1980, 5, 6), "Nam", 1085012345, None,
                           1, "Pfizer", "P9", dt.datetime(2021, 9, 1), 2, "F001"]  # fmt: skip
    rows: list[list[object]] = [*GOOD, typed, *[r for r, _c in BAD], []]
    wb = _workbook(rows)
    path = tmp_path / "doses.xlsx"
    wb.save(path)
    settings = Settings(data_dir=tmp_path)
    report = import_doses(store, path, settings=settings, today=TODAY, clock=SystemClock())
    assert report.file_kind == "xlsx"
    assert report.rows_read == len(GOOD) + 1 + len(BAD)  # the blank trailing row is not data
    assert report.imported + report.quarantined == report.rows_read
    assert report.imported == len(GOOD) + 1
    assert _codes_by_record(store) == _expected_codes()
    with store.connect() as conn:
        t1 = conn.execute(text("SELECT * FROM dose_record WHERE record_id = 'T1'")).one()
    assert (t1.raw_id_number, t1.id_kind, t1.date_of_birth) == ("1085012345", "cccd12_lost_zeros",
                                                               "1980-05-06")  # fmt: skip
    assert (str(t1.vaccination_date), t1.province_code, t1.dose_number) == ("2021-09-01", "001", 2)

    again = import_doses(store, path, settings=settings, today=TODAY, clock=SystemClock())
    assert (again.imported, again.unchanged) == (0, len(GOOD) + 1)


def test_xlsx_with_formula_is_refused(store: Engine, tmp_path: Path) -> None:
    wb = _workbook([GOOD[0]])
    ws = wb.active
    assert ws is not None
    ws["B2"] = '=CONCATENATE("Nguyễn ", "An")'
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(FileRejected, match="cell B2 contains a formula"):
        import_doses(store, tmp_path / "f.xlsx", settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())


def test_xlsx_with_merged_header_is_refused(store: Engine, tmp_path: Path) -> None:
    wb = _workbook([GOOD[0]])
    ws = wb.active
    assert ws is not None
    ws.merge_cells("A1:B1")
    wb.save(tmp_path / "m.xlsx")
    with pytest.raises(FileRejected, match="A1:B1 are merged"):
        import_doses(store, tmp_path / "m.xlsx", settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())


def test_xlsx_that_is_not_a_workbook(store: Engine, tmp_path: Path) -> None:
    (tmp_path / "z.xlsx").write_bytes(b"PK\x03\x04garbage" * 10)
    with pytest.raises(FileRejected, match=r"damaged or not a real \.xlsx"):
        import_doses(store, tmp_path / "z.xlsx", settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())

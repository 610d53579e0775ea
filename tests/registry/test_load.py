"""Registry snapshot load: validation, idempotent reload, updates of changed citizens."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from vaxlink.clock import SystemClock
from vaxlink.registry.importer import load_registry
from vaxlink.settings import Settings

TODAY = dt.date(2022, 6, 1)
HEADER = ["Số định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Mã tỉnh", "CMND", "Số điện thoại"]
ROWS = [
    ["001085012345", "Nguyễn Văn An", "1985-03-14", "M", "001", "012345678", "0912345678"],
    ["079190000001", "Trần Thị Bình", "1990", "F", "79", "", ""],
    ["038201000002", "Lê Minh", "2001-07", "M", "038", "12", ""],
]
BAD = [
    (["12345", "Ngô Văn C", "1980-01-01", "M", "001", "", ""], "citizen_id_invalid"),
    (["001080000003", "", "1980-01-01", "M", "001", "", ""], "name_missing"),
    (["001080000004", "Ngô Văn D", "1980-02-30", "M", "001", "", ""], "dob_invalid"),
    (["001080000005", "Ngô Văn E", "1980-02-03", "X", "001", "", ""], "sex_invalid"),
    (["001080000006", "Ngô Văn G", "1980-02-03", "M", "", "", ""], "province_invalid"),
]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def test_load_validate_and_reload(store: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    path = _write(tmp_path / "reg.csv", ROWS + [r for r, _c in BAD])
    report = load_registry(store, path, settings=settings, today=TODAY, clock=SystemClock())
    assert (report.rows_read, report.imported, report.quarantined) == (8, 3, 5)
    with store.connect() as conn:
        codes = sorted(conn.execute(text("SELECT reason_codes FROM quarantined_row")).scalars())
        people = {r.citizen_id: r for r in conn.execute(text("SELECT * FROM citizen")).all()}
    assert codes == sorted(c for _r, c in BAD)
    assert people["079190000001"].province_code == "079"
    assert people["079190000001"].dob_precision == "year"
    assert people["038201000002"].old_id is None  # "12" is not a 9-digit CMND
    assert people["001085012345"].name_folded == "nguyen van an"

    again = load_registry(store, path, settings=settings, today=TODAY, clock=SystemClock())
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)

    changed = [[*ROWS[0][:1], "Nguyễn Văn Ân", *ROWS[0][2:]], *ROWS[1:]]
    third = load_registry(store, _write(tmp_path / "r2.csv", changed), settings=settings,
                          today=TODAY, clock=SystemClock())  # fmt: skip
    assert (third.imported, third.updated, third.unchanged) == (0, 1, 2)
    with store.connect() as conn:
        name = conn.execute(
            text("SELECT full_name FROM citizen WHERE citizen_id = '001085012345'")
        ).scalar_one()
    assert name == "Nguyễn Văn Ân"

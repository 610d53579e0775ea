"""Reading a site list (CSV, XLSX or Parquet) with the project's tabular reader, row by row.

A list holds thousands of sites at most, so after the shared reader has made a table of text
columns (headers matched by their Vietnamese names, rows numbered as the spreadsheet shows
them), each row is checked in Python and the store is written with plain SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vaxlink import duck
from vaxlink.facilities.errors import FacilityError
from vaxlink.facilities.schemas import FIELDS, FacilityInput, RefusedRow, check
from vaxlink.ingest.service import ColumnSpec, reader
from vaxlink.settings import Settings

FACILITY_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    ColumnSpec("code", ("Mã cơ sở", "Mã cơ sở tiêm", "facility_code"), required=True),
    ColumnSpec("name", ("Tên cơ sở", "Tên cơ sở tiêm", "facility_name"), required=True),
    ColumnSpec("ward_code", ("Mã xã", "Mã phường/xã", "Mã phường xã"), required=True),
    ColumnSpec("kind", ("Loại", "Loại cơ sở"), required=True),
    ColumnSpec("head_name", ("Người đứng đầu", "Người phụ trách", "Trưởng trạm")),
    ColumnSpec("phone", ("Số điện thoại", "SĐT", "Điện thoại")),
    ColumnSpec("email", ("Email", "E-mail", "Thư điện tử")),
    ColumnSpec("active", ("Hoạt động", "Đang hoạt động")),
)
#: A site list is small; anything far larger is the wrong file.
MAX_ROWS: Final = 100_000


@dataclass(frozen=True)
class ReadList:
    """A list's usable sites and its refused rows (rows the reader could not split included)."""

    rows_read: int
    items: list[FacilityInput]
    refused: list[RefusedRow]


def read_list(path: Path, settings: Settings | None = None) -> ReadList:
    """Every row of the list at `path`, checked; FileRejected when it is not a readable table."""
    con = duck.connect(settings)
    try:
        loaded = reader.load(con, path, FACILITY_COLUMNS)
        if loaded.rows_read > MAX_ROWS:
            raise FacilityError(
                f"{path.name} has {loaded.rows_read:,} rows; a site list has a few thousand "
                "at most: is it the right file?"
            )
        columns = ", ".join(f'"{f}"' for f in FIELDS)
        rows = con.sql(f"SELECT _row, {columns} FROM src ORDER BY _row").fetchall()
        unsplit = con.sql("SELECT _row, _reason FROM src_rejects ORDER BY _row").fetchall()
    finally:
        con.close()
    refused = [RefusedRow(int(n), None, (str(why),)) for n, why in unsplit]
    by_code: dict[str, list[int]] = {}
    good: list[tuple[int, FacilityInput]] = []
    for row in rows:
        number, values = int(row[0]), dict(zip(FIELDS, row[1:], strict=True))
        item, reasons = check(values)
        if item is None:
            refused.append(RefusedRow(number, values["code"], tuple(reasons)))
            continue
        by_code.setdefault(item.code, []).append(number)
        good.append((number, item))
    items = []
    for number, item in good:
        rows_of_code = by_code[item.code]
        if len(rows_of_code) > 1:
            where = ", ".join(str(n) for n in rows_of_code)
            refused.append(RefusedRow(number, item.code, (
                f"site code {item.code} appears on rows {where} of this file: keep one",)))  # fmt: skip
        else:
            items.append(item)
    refused.sort(key=lambda r: r.row)
    return ReadList(loaded.rows_read, items, refused)

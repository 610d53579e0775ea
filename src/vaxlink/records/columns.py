"""The dose-record file contract (docs/formats.md §2): canonical columns and their Vietnamese aliases."""

from __future__ import annotations

from vaxlink.ingest.headers import ColumnSpec

DOSE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("record_id", ("Mã mũi tiêm",), required=True),
    ColumnSpec("full_name", ("Họ và tên", "Họ tên"), required=True),
    ColumnSpec("date_of_birth", ("Ngày sinh",), required=True),
    ColumnSpec("sex", ("Giới tính",)),
    ColumnSpec("id_number", ("Số CCCD/CMND", "CCCD", "Số CCCD", "CMND/CCCD")),
    ColumnSpec("phone", ("Số điện thoại", "SĐT")),
    ColumnSpec("province_code", ("Mã tỉnh",)),
    ColumnSpec("district_code", ("Mã huyện",)),
    ColumnSpec("ward_code", ("Mã xã",)),
    ColumnSpec("vaccine", ("Tên vắc xin", "Tên vaccine", "Vắc xin"), required=True),
    ColumnSpec("lot_number", ("Số lô",)),
    ColumnSpec("vaccination_date", ("Ngày tiêm",), required=True),
    ColumnSpec("dose_number", ("Mũi số", "Mũi tiêm thứ"), required=True),
    ColumnSpec("facility_code", ("Mã cơ sở tiêm",)),
)
RAW_FIELDS: tuple[str, ...] = tuple(c.name for c in DOSE_COLUMNS if c.name != "record_id")

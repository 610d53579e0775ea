"""The population-registry snapshot contract (docs/formats.md §1): canonical columns and aliases."""

from __future__ import annotations

from vaxlink.ingest.headers import ColumnSpec

REGISTRY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "citizen_id", ("so_dinh_danh", "Số định danh", "Số định danh cá nhân"), required=True
    ),
    ColumnSpec("full_name", ("Họ và tên", "Họ tên"), required=True),
    ColumnSpec("date_of_birth", ("Ngày sinh",), required=True),
    ColumnSpec("sex", ("Giới tính",), required=True),
    ColumnSpec("province_code", ("Mã tỉnh",), required=True),
    ColumnSpec("district_code", ("Mã huyện",)),
    ColumnSpec("ward_code", ("Mã xã",)),
    ColumnSpec("old_id", ("CMND", "Số CMND")),
    ColumnSpec("address", ("Địa chỉ",)),
    ColumnSpec("phone", ("Số điện thoại", "SĐT")),
)
RAW_FIELDS: tuple[str, ...] = tuple(c.name for c in REGISTRY_COLUMNS)

"""The focal-point directory (danh bạ đầu mối): per administrative unit, the officers to call in
the campaign — station, police, committee, district centre — with title, role, phone, e-mail.

Personal contact data: only what the campaign needs is stored; lists are filtered in SQL by the
reader's unit (`Principal.scope_filter`); the web and CLI edges audit every read of the export.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from vaxlink.errors import NotFound
from vaxlink.facilities.errors import FacilityError
from vaxlink.facilities.models import FocalPoint
from vaxlink.facilities.schemas import normalise_phone
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.tabular import new_workbook, put

LIST_VERSION: Final = "2008-2025"
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Columns of the XLSX export: (Vietnamese header, attribute).
EXPORT_COLUMNS: Final = (
    ("Cấp", "unit_level"),
    ("Mã đơn vị", "unit_code"),
    ("Tên đơn vị", "unit_name"),
    ("Họ và tên", "full_name"),
    ("Cơ quan / chức vụ", "organisation"),
    ("Vai trò trong chiến dịch", "campaign_role"),
    ("Điện thoại", "phone"),
    ("Thư điện tử", "email"),
    ("Đang hoạt động", "active"),
)


class FocalPointNotFound(NotFound):
    """No focal point has this id."""

    code = "focal_point_not_found"


@dataclass(frozen=True)
class FocalPointInput:
    """What an administrator types for one officer, before checking."""

    unit: str  # "ward:00001", "district:001", "province:001" or "VN"
    full_name: str
    organisation: str
    campaign_role: str = ""
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Place:
    """A unit and the codes of its province, district and ward ('' above the unit's level)."""

    key: UnitKey
    province: str
    district: str
    ward: str

    def as_codes(self) -> dict[str, str | None]:
        return {"province": self.province or None, "district": self.district or None,
                "ward": self.ward or None}  # fmt: skip


def index() -> UnitIndex:
    return UnitIndex.for_version(LIST_VERSION)


def place_of(unit: str) -> Place:
    """The unit written as `ward:00001`, `district:001`, `province:001` or `VN`, with its path;
    FacilityError when the list of units does not know it."""
    text = unit.strip()
    if text.upper() in ("VN", "NATION", "NATION:VN"):
        return Place(UnitKey(Level.NATION, "VN"), "", "", "")
    level, _, code = text.partition(":")
    try:
        key = UnitKey(Level(level.strip().lower()), code.strip())
        path = index().path(key)
    except (ValueError, GeoError) as exc:
        raise FacilityError(
            f"đơn vị '{unit}' không có trong danh mục; viết ward:00001, district:001, "
            f"province:001 hoặc VN / unit '{unit}' is not in the list of units"
        ) from exc
    codes = {k.level: k.code for k in path}
    return Place(key, codes.get(Level.PROVINCE, ""), codes.get(Level.DISTRICT, ""),
                 codes.get(Level.WARD, ""))  # fmt: skip


def unit_name(level: str, code: str) -> str:
    """The unit's name in the list (its code when unknown)."""
    if level == Level.NATION.value:
        return "Việt Nam"
    try:
        return index().get(UnitKey(Level(level), code)).name
    except (ValueError, GeoError):
        return code


def _checked(data: FocalPointInput) -> tuple[Place, dict[str, Any]]:
    place = place_of(data.unit)
    name = " ".join(data.full_name.split())
    organisation = " ".join(data.organisation.split())
    if not name or len(name) > 120:
        raise FacilityError("họ tên phải có, tối đa 120 ký tự / a name is required (≤ 120)")
    if not organisation or len(organisation) > 200:
        raise FacilityError(
            "cơ quan / chức vụ phải có, tối đa 200 ký tự / organisation and title are required"
        )
    role = " ".join(data.campaign_role.split())[:200]
    phone = normalise_phone(data.phone) if data.phone and data.phone.strip() else None
    email = data.email.strip() if data.email and data.email.strip() else None
    if email is not None and (not _EMAIL.fullmatch(email) or len(email) > 254):
        raise FacilityError(f"'{email}' không phải địa chỉ thư điện tử / is not an e-mail address")
    return place, {"full_name": name, "organisation": organisation, "campaign_role": role,
                   "phone": phone, "email": email}  # fmt: skip


def add(session: Session, data: FocalPointInput, *, now: dt.datetime) -> FocalPoint:
    """A new active focal point (flushed); FacilityError when a field cannot be used."""
    place, fields = _checked(data)
    row = FocalPoint(
        unit_level=place.key.level.value, unit_code=place.key.code, province_code=place.province,
        district_code=place.district, ward_code=place.ward, active=True, created_at=now,
        updated_at=now, **fields,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def update(
    session: Session, row: FocalPoint, data: FocalPointInput, *, now: dt.datetime
) -> list[str]:
    """Change a focal point's fields; returns the names of the fields that changed."""
    place, fields = _checked(data)
    fields |= {"unit_level": place.key.level.value, "unit_code": place.key.code,
               "province_code": place.province, "district_code": place.district,
               "ward_code": place.ward}  # fmt: skip
    changed = [k for k, v in fields.items() if getattr(row, k) != v]
    for k in changed:
        setattr(row, k, fields[k])
    if changed:
        row.updated_at = now
        session.flush()
    return changed


def set_active(session: Session, row: FocalPoint, active: bool, *, now: dt.datetime) -> None:
    """Deactivate (or reactivate) a focal point; rows are never deleted."""
    if row.active != active:
        row.active = active
        row.updated_at = now
        session.flush()


def get(session: Session, fp_id: int) -> FocalPoint:
    row = session.get(FocalPoint, fp_id)
    if row is None:
        raise FocalPointNotFound(f"không có đầu mối số {fp_id} / no focal point {fp_id}")
    return row


def listing(
    session: Session,
    scope: ColumnElement[bool] | None = None,
    *,
    active_only: bool = False,
    unit: str | None = None,
) -> Sequence[FocalPoint]:
    """Focal points inside `scope` (a `Principal.scope_filter` over the table's place columns;
    None: all, for the operator's CLI), optionally those of one unit and below, by place."""
    q = select(FocalPoint).where(scope if scope is not None else true())
    if active_only:
        q = q.where(FocalPoint.active.is_(True))
    if unit:
        place = place_of(unit)
        for column, code in ((FocalPoint.province_code, place.province),
                             (FocalPoint.district_code, place.district),
                             (FocalPoint.ward_code, place.ward)):  # fmt: skip
            if code:
                q = q.where(column == code)
    order = (FocalPoint.province_code, FocalPoint.district_code, FocalPoint.ward_code,
             FocalPoint.unit_level, FocalPoint.full_name, FocalPoint.id)  # fmt: skip
    return session.scalars(q.order_by(*order)).all()


def scope_columns() -> tuple[Any, Any, Any]:
    """The place columns a `Principal.scope_filter` is built over."""
    return FocalPoint.province_code, FocalPoint.district_code, FocalPoint.ward_code


def export_xlsx(rows: Sequence[FocalPoint]) -> bytes:
    """The directory as an XLSX sheet with Vietnamese headers; every text cell written through
    `vaxlink.tabular.put`, so a name like `=HYPERLINK(...)` stays inert text."""
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Danh bạ đầu mối"
    for col, (header, _) in enumerate(EXPORT_COLUMNS, 1):
        put(ws, 1, col, header)
    for r, row in enumerate(rows, 2):
        values = {
            "unit_level": row.unit_level, "unit_code": row.unit_code,
            "unit_name": unit_name(row.unit_level, row.unit_code), "full_name": row.full_name,
            "organisation": row.organisation, "campaign_role": row.campaign_role,
            "phone": row.phone or "", "email": row.email or "",
            "active": "Có" if row.active else "Không",
        }  # fmt: skip
        for col, (_, attr) in enumerate(EXPORT_COLUMNS, 1):
            put(ws, r, col, values[attr])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

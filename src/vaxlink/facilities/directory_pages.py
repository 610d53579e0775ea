"""The focal-point directory page (`/admin/focal-points`): administrators (USER_ADMIN) list, add,
edit and deactivate the officers of their unit and below; district and province officers
(REPORT_VIEW) read their area's list and download it as XLSX. Every change and every read of the
export is audited (ids and counts only: the audit log never holds the contact data itself).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import ensure_in_scope, require, require_any
from vaxlink.auth.service import Permission, Principal
from vaxlink.auth.service import append as audit
from vaxlink.errors import NotFound, VaxlinkError
from vaxlink.facilities import directory
from vaxlink.facilities.directory import FocalPointInput
from vaxlink.facilities.models import FocalPoint
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

router = APIRouter(tags=["staff"], include_in_schema=False)
#: Administrators manage the list at /admin/focal-points; officers read it at /focal-points.
NAV: Final = (
    NavItem("/admin/focal-points", "directory.menu", Permission.USER_ADMIN, order=86),
    NavItem("/focal-points", "directory.menu", Permission.REPORT_VIEW, order=62),
)
Admin = Annotated[Principal, Depends(require(Permission.USER_ADMIN))]
Reader = Annotated[Principal, Depends(require_any(Permission.USER_ADMIN, Permission.REPORT_VIEW))]
DB = Annotated[Session, Depends(session, scope="function")]
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "directory.menu": "Danh bạ đầu mối",
        "directory.title": "Danh bạ cán bộ đầu mối",
        "directory.intro": "Cán bộ đầu mối của đơn vị và các đơn vị cấp dưới trong chiến dịch. Thông tin liên lạc cá nhân: chỉ dùng cho công việc chiến dịch; mỗi lần tải danh bạ đều được ghi nhật ký.",
        "directory.unit": "Đơn vị",
        "directory.unit_help": "Ví dụ: `ward:00001` (xã), `district:001` (huyện), `province:001` (tỉnh), `VN` (toàn quốc)",
        "directory.name": "Họ và tên",
        "directory.organisation": "Cơ quan / chức vụ",
        "directory.organisation_help": "Ví dụ: Trạm y tế xã, Công an xã, UBND xã, TTYT huyện",
        "directory.role": "Vai trò trong chiến dịch",
        "directory.phone": "Điện thoại",
        "directory.email": "Thư điện tử",
        "directory.active": "Hoạt động",
        "directory.yes": "Có",
        "directory.no": "Không",
        "directory.add": "Thêm đầu mối",
        "directory.save": "Lưu",
        "directory.edit": "Sửa",
        "directory.deactivate": "Ngừng",
        "directory.activate": "Dùng lại",
        "directory.export": "Tải Excel",
        "directory.show_inactive": "Hiện cả đầu mối đã ngừng",
        "directory.filter": "Lọc",
        "directory.done": "Đã lưu thay đổi.",
        "directory.none": "Chưa có cán bộ đầu mối nào trong địa bàn.",
        "directory.err.unit": "Đơn vị {unit} nằm ngoài phạm vi của anh/chị ({own}).",
    },
    "en": {
        "directory.menu": "Focal points",
        "directory.title": "Focal-point directory",
        "directory.intro": "The campaign's focal-point officers of your unit and the units below it. Personal contact data: for the campaign's work only; every download of the directory is logged.",
        "directory.unit": "Unit",
        "directory.unit_help": "For example ward:00001 (commune), district:001, province:001, VN (nation)",
        "directory.name": "Full name",
        "directory.organisation": "Organisation / title",
        "directory.organisation_help": "For example the commune health station, commune police, commune committee, district health centre",
        "directory.role": "Role in the campaign",
        "directory.phone": "Phone",
        "directory.email": "E-mail",
        "directory.active": "Active",
        "directory.yes": "Yes",
        "directory.no": "No",
        "directory.add": "Add a focal point",
        "directory.save": "Save",
        "directory.edit": "Edit",
        "directory.deactivate": "Deactivate",
        "directory.activate": "Reactivate",
        "directory.export": "Download Excel",
        "directory.show_inactive": "Show deactivated focal points too",
        "directory.filter": "Filter",
        "directory.done": "Saved the change.",
        "directory.none": "No focal point in your area yet.",
        "directory.err.unit": "Unit {unit} is outside your area ({own}).",
    },
}  # fmt: skip


def _rows(db: Session, principal: Principal, *, active_only: bool) -> list[dict[str, Any]]:
    rows = directory.listing(db, principal.scope_filter(*directory.scope_columns()),
                             active_only=active_only)  # fmt: skip
    return [{"row": r, "unit_name": directory.unit_name(r.unit_level, r.unit_code),
             "unit": "VN" if r.unit_level == "nation" else f"{r.unit_level}:{r.unit_code}"}
            for r in rows]  # fmt: skip


def _page(request: Request, db: Session, principal: Principal, *, status: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    show_all = request.query_params.get("all") == "1"
    return render(request, "facilities/focal_points.html", {
        "points": _rows(db, principal, active_only=not show_all), "show_all": show_all,
        "can_edit": principal.can(Permission.USER_ADMIN), **extra,
    }, status=status)  # fmt: skip


def _input(unit: str, full_name: str, organisation: str, campaign_role: str, phone: str,
           email: str) -> FocalPointInput:  # fmt: skip
    return FocalPointInput(unit=unit, full_name=full_name, organisation=organisation,
                           campaign_role=campaign_role, phone=phone or None, email=email or None)  # fmt: skip


def _in_scope(request: Request, db: Session, principal: Principal, place: directory.Place,
              object_id: str | int) -> None:  # fmt: skip
    ensure_in_scope(db, principal, **place.as_codes(), object_type="focal_point",
                    object_id=object_id, now=request_now(request))  # fmt: skip


def _point(request: Request, db: Session, principal: Principal, fp_id: int) -> FocalPoint:
    row = directory.get(db, fp_id)
    ensure_in_scope(db, principal, province=row.province_code or None,
                    district=row.district_code or None, ward=row.ward_code or None,
                    object_type="focal_point", object_id=row.id, now=request_now(request))  # fmt: skip
    return row


@router.get("/focal-points")
@router.get("/admin/focal-points")
def focal_points_page(request: Request, principal: Reader, db: DB) -> Response:
    """The directory of the reader's unit and below."""
    return _page(request, db, principal)


@router.get("/admin/focal-points/export.xlsx")
def focal_points_export(request: Request, principal: Reader, db: DB) -> Response:
    """The reader's directory as XLSX (Vietnamese headers, injection-safe); the read is audited."""
    rows = directory.listing(db, principal.scope_filter(*directory.scope_columns()),
                             active_only=request.query_params.get("all") != "1")  # fmt: skip
    content = directory.export_xlsx(rows)
    audit(db, actor=principal, action="directory.export", object_type="focal_point_list",
          object_id=str(principal.unit), unit=str(principal.unit),
          detail={"rows": len(rows), "via": "web"}, at=request_now(request))  # fmt: skip
    name = f"danh-ba-dau-moi-{principal.unit.level.value}-{principal.unit.code}.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/admin/focal-points")
def add_focal_point(
    request: Request, principal: Admin, db: DB,
    unit: Annotated[str, Form(max_length=32)], full_name: Annotated[str, Form(max_length=120)],
    organisation: Annotated[str, Form(max_length=200)],
    campaign_role: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "", email: Annotated[str, Form(max_length=254)] = "",
) -> Response:  # fmt: skip
    """A new focal point of a unit inside the administrator's."""
    typed = {"unit": unit, "full_name": full_name, "organisation": organisation,
             "campaign_role": campaign_role, "phone": phone, "email": email}  # fmt: skip
    try:
        place = directory.place_of(unit)
        if not principal.covers(**place.as_codes()) and principal.unit.level.value != "nation":
            _in_scope(request, db, principal, place, str(place.key))  # raises, audited
        with db.begin_nested():
            row = directory.add(db, _input(unit, full_name, organisation, campaign_role, phone,
                                           email), now=request_now(request))  # fmt: skip
            audit(db, actor=principal, action="directory.add", object_type="focal_point",
                  object_id=row.id, unit=str(place.key), at=request_now(request))  # fmt: skip
    except VaxlinkError as exc:
        if exc.http_status == 403:
            return _page(request, db, principal, status=403, typed=typed,
                         error_key="directory.err.unit",
                         error_values={"unit": unit, "own": str(principal.unit)})  # fmt: skip
        return _page(request, db, principal, status=exc.http_status, typed=typed, error=str(exc))
    return RedirectResponse("/admin/focal-points?done=1", status_code=303)


@router.post("/admin/focal-points/{fp_id}")
def edit_focal_point(
    request: Request, principal: Admin, db: DB, fp_id: int,
    unit: Annotated[str, Form(max_length=32)], full_name: Annotated[str, Form(max_length=120)],
    organisation: Annotated[str, Form(max_length=200)],
    campaign_role: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=32)] = "", email: Annotated[str, Form(max_length=254)] = "",
) -> Response:  # fmt: skip
    """Change a focal point of the administrator's area (its new unit must be inside it too)."""
    row = _point(request, db, principal, fp_id)
    try:
        place = directory.place_of(unit)
        _in_scope(request, db, principal, place, row.id)
        with db.begin_nested():
            changed = directory.update(db, row, _input(unit, full_name, organisation,
                                       campaign_role, phone, email), now=request_now(request))  # fmt: skip
            if changed:
                audit(db, actor=principal, action="directory.edit", object_type="focal_point",
                      object_id=row.id, unit=str(place.key), detail={"fields": changed},
                      at=request_now(request))  # fmt: skip
    except VaxlinkError as exc:
        if exc.http_status == 403:
            raise
        return _page(request, db, principal, status=exc.http_status, error=str(exc))
    return RedirectResponse("/admin/focal-points?done=1", status_code=303)


@router.post("/admin/focal-points/{fp_id}/{action}")
def focal_point_action(
    request: Request, principal: Admin, db: DB, fp_id: int, action: str
) -> Response:
    """deactivate or activate a focal point of the administrator's area."""
    row = _point(request, db, principal, fp_id)
    if action not in ("deactivate", "activate"):
        raise NotFound(f"no focal-point action {action!r}")
    directory.set_active(db, row, action == "activate", now=request_now(request))
    audit(db, actor=principal, action=f"directory.{action}", object_type="focal_point",
          object_id=row.id, unit=f"{row.unit_level}:{row.unit_code}", at=request_now(request))  # fmt: skip
    return RedirectResponse("/admin/focal-points?done=1", status_code=303)

"""Campaign pages: the ageing of unfixed errors per vaccination site (`/ageing`, with the site
head's name and phone, as XLSX too) and the administrator's campaign phases (`/admin/phases`).
The phases' progress is shown on the dashboard (`reports.pages`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import ensure_in_scope, require
from vaxlink.auth.service import Permission, Principal
from vaxlink.auth.service import append as audit
from vaxlink.errors import NotFound, VaxlinkError
from vaxlink.geo.codes import NATION, UnitKey
from vaxlink.reports import ageing, phases, service
from vaxlink.reports.figures import local_day
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session as db_session
from vaxlink.web.i18n import language, translate
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

router = APIRouter(tags=["reports"], include_in_schema=False)
NAV: Final = (
    NavItem("/ageing", "campaign.ageing", Permission.DASHBOARD_VIEW, order=63),
    NavItem("/admin/phases", "campaign.phases_menu", Permission.USER_ADMIN, order=87),
)
Viewer = Annotated[Principal, Depends(require(Permission.DASHBOARD_VIEW))]
Admin = Annotated[Principal, Depends(require(Permission.USER_ADMIN))]
Db = Annotated[Session, Depends(db_session, scope="function")]
Now = Annotated[dt.datetime, Depends(request_now)]
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_VI: Final = {
    "campaign.ageing": "Lỗi chưa sửa theo cơ sở",
    "campaign.ageing_intro": "Mũi tiêm còn trong danh sách cần xử lý (cần rà soát, không tìm thấy người, không dùng được) của từng cơ sở tiêm chủng, theo thời gian chờ kể từ lần quyết định gần nhất (hoặc từ khi nhập). Người đứng đầu cơ sở chịu trách nhiệm về lỗi không sửa kịp thời.",
    "campaign.site": "Cơ sở tiêm chủng",
    "campaign.head": "Người đứng đầu",
    "campaign.phone": "Điện thoại",
    "campaign.total": "Mũi chưa sửa",
    "campaign.oldest": "Lâu nhất (ngày)",
    "campaign.sort": "Sắp xếp",
    "campaign.sort.oldest": "Chờ lâu nhất trước",
    "campaign.sort.total": "Nhiều lỗi nhất trước",
    "campaign.sort.site": "Theo mã cơ sở",
    "campaign.sort.name": "Theo tên cơ sở",
    "campaign.sort.head": "Theo người đứng đầu",
    "campaign.none": "Không có mũi tiêm nào chờ sửa trong địa bàn.",
    "campaign.unlisted": "(cơ sở chưa có trong danh mục)",
    "campaign.export": "Tải Excel",
    "campaign.phases": "Các đợt của chiến dịch",
    "campaign.phases_menu": "Đợt chiến dịch",
    "campaign.phases_intro": "Mỗi đợt có hạn chót và chỉ tiêu; áp dụng cho đơn vị được chọn và mọi đơn vị cấp dưới. Tiến độ hiện trên bảng điều hành, tính từ số liệu đã lưu.",
    "campaign.phase": "Đợt",
    "campaign.unit": "Đơn vị",
    "campaign.starts": "Bắt đầu",
    "campaign.deadline": "Hạn chót",
    "campaign.days_left": "Còn {n} ngày",
    "campaign.days_over": "Quá hạn {n} ngày",
    "campaign.target": "Chỉ tiêu",
    "campaign.progress": "Đạt",
    "campaign.expected": "cần đạt hôm nay {p}",
    "campaign.state.met": "Đã đạt",
    "campaign.state.on_track": "Đúng tiến độ",
    "campaign.state.at_risk": "Có nguy cơ chậm",
    "campaign.state.late": "Trễ hạn",
    "campaign.state.no_data": "Chưa có số liệu",
    "campaign.add": "Thêm đợt",
    "campaign.name": "Tên đợt",
    "campaign.percent": "Mục tiêu (%)",
    "campaign.active": "Đang áp dụng",
    "campaign.end": "Kết thúc",
    "campaign.resume": "Áp dụng lại",
    "campaign.no_phases": "Chưa có đợt nào.",
    "campaign.reports_due": "Báo cáo hằng ngày: cấp huyện trước 13:30, cấp thành phố trước 15:00.",
    "campaign.err.unit": "Đơn vị {unit} nằm ngoài phạm vi của anh/chị ({own}).",
    "campaign.done": "Đã lưu thay đổi.",
    "campaign.unit_help": "Ví dụ: `ward:00001` (xã), `district:001` (huyện), `province:001` (tỉnh), `VN` (toàn quốc)",
    "campaign.yes": "Có",
    "campaign.no": "Không",
    "campaign.site_code": "Mã cơ sở",
    "campaign.site_name": "Tên cơ sở tiêm chủng",
    "campaign.ward_code": "Mã xã",
    "campaign.head_of_site": "Người đứng đầu cơ sở",
    "campaign.waiting": "Chờ {bucket}",
    "campaign.export_title": "{what} — {unit} — {day}",
}  # fmt: skip
_EN: Final = {
    "campaign.ageing": "Unfixed errors by site",
    "campaign.ageing_intro": "Doses still in the worklist (in review, unmatched, invalid) of each vaccination site, by how long they have waited since the last decision (or their import). The head of the site answers for errors not fixed in time.",
    "campaign.site": "Vaccination site",
    "campaign.head": "Head of site",
    "campaign.phone": "Phone",
    "campaign.total": "Unfixed doses",
    "campaign.oldest": "Oldest (days)",
    "campaign.sort": "Sort",
    "campaign.sort.oldest": "Longest waiting first",
    "campaign.sort.total": "Most errors first",
    "campaign.sort.site": "By site code",
    "campaign.sort.name": "By site name",
    "campaign.sort.head": "By head of site",
    "campaign.none": "No dose waits for a fix in your area.",
    "campaign.unlisted": "(site not in the list)",
    "campaign.export": "Download Excel",
    "campaign.phases": "Campaign phases",
    "campaign.phases_menu": "Campaign phases",
    "campaign.phases_intro": "Each phase has a deadline and a target; it applies to the chosen unit and every unit below it. Progress shows on the dashboard, read from the stored figures.",
    "campaign.phase": "Phase",
    "campaign.unit": "Unit",
    "campaign.starts": "Starts",
    "campaign.deadline": "Deadline",
    "campaign.days_left": "{n} days left",
    "campaign.days_over": "{n} days late",
    "campaign.target": "Target",
    "campaign.progress": "Reached",
    "campaign.expected": "due today {p}",
    "campaign.state.met": "Met",
    "campaign.state.on_track": "On track",
    "campaign.state.at_risk": "At risk",
    "campaign.state.late": "Late",
    "campaign.state.no_data": "No figures yet",
    "campaign.add": "Add a phase",
    "campaign.name": "Phase name",
    "campaign.percent": "Target (%)",
    "campaign.active": "Active",
    "campaign.end": "End",
    "campaign.resume": "Resume",
    "campaign.no_phases": "No phase yet.",
    "campaign.reports_due": "Daily reports: district by 13:30, city by 15:00.",
    "campaign.err.unit": "Unit {unit} is outside your area ({own}).",
    "campaign.done": "Saved the change.",
    "campaign.unit_help": "For example ward:00001 (commune), district:001, province:001, VN (nation)",
    "campaign.yes": "Yes",
    "campaign.no": "No",
    "campaign.site_code": "Site code",
    "campaign.site_name": "Vaccination site name",
    "campaign.ward_code": "Commune code",
    "campaign.head_of_site": "Head of the site",
    "campaign.waiting": "Waiting {bucket}",
    "campaign.export_title": "{what} — {unit} — {day}",
}  # fmt: skip
STRINGS: Final = {
    "vi": _VI
    | {f"campaign.kind.{k}": v for k, (v, _e) in phases.TARGETS.items()}
    | {f"campaign.bucket.{b[0]}": b[1] for b in ageing.BUCKETS},
    "en": _EN
    | {f"campaign.kind.{k}": e for k, (_v, e) in phases.TARGETS.items()}
    | {f"campaign.bucket.{b[0]}": b[2] for b in ageing.BUCKETS},
}


def _unit(session: Session, principal: Principal, ref: str | None, now: dt.datetime) -> UnitKey:
    """The unit asked for (default: the account's own), refused (audited) when outside it."""
    key = principal.unit if not ref else service.parse_unit(ref)
    if key == NATION and principal.unit != NATION:
        ensure_in_scope(session, principal, province=None, object_type="ageing_unit",
                        object_id=str(key), now=now)  # fmt: skip
    elif key != NATION:
        ensure_in_scope(session, principal, **service.unit_codes(key), object_type="ageing_unit",
                        object_id=str(key), now=now)  # fmt: skip
    return key


@router.get("/ageing")
def ageing_page(
    request: Request, principal: Viewer, db: Db, now: Now,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str, Query(pattern="^(oldest|total|site|name|head)$")] = "oldest",
) -> Response:  # fmt: skip
    """The sites of the viewer's area (or a unit inside it) with doses waiting for a fix."""
    key = _unit(db, principal, unit, now)
    rows = ageing.by_site(db, key, now=now, sort=sort)
    return render(request, "reports/ageing.html", {
        "rows": rows, "sort": sort, "sorts": list(ageing.SORTS), "buckets": ageing.BUCKETS,
        "unit": service.view(key), "key": key,
    })  # fmt: skip


@router.get("/ageing/export.xlsx")
def ageing_export(
    request: Request, principal: Viewer, db: Db, now: Now,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[str, Query(pattern="^(oldest|total|site|name|head)$")] = "oldest",
) -> Response:  # fmt: skip
    """The ageing table as XLSX; the read (site heads' contacts) is audited."""
    key = _unit(db, principal, unit, now)
    rows = ageing.by_site(db, key, now=now, sort=sort)
    lang = language(request)  # the file speaks the reader's language, from the catalogue
    sheet = translate(lang, "campaign.ageing")
    title = translate(lang, "campaign.export_title", what=sheet, unit=service.unit_name(key),
                      day=f"{local_day(now):%d/%m/%Y}")  # fmt: skip
    headers = [
        translate(lang, key_, bucket=translate(lang, f"campaign.bucket.{attr}"))
        if key_ == "campaign.waiting" else translate(lang, key_)
        for key_, attr in ageing.EXPORT_COLUMNS
    ]  # fmt: skip
    content = ageing.xlsx(rows, title, headers, sheet)
    audit(db, actor=principal, action="ageing.export", object_type="ageing_table",
          object_id=str(key), unit=str(key), detail={"rows": len(rows)}, at=now)  # fmt: skip
    name = f"loi-chua-sua-{key.level.value}-{key.code}-{local_day(now).isoformat()}.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _phases_page(request: Request, db: Session, principal: Principal, *, status: int = 200,
                 **extra: object) -> Response:  # fmt: skip
    rows = phases.listing(db, principal.unit)
    return render(request, "reports/phases_admin.html", {
        "phases": rows, "kinds": list(phases.TARGETS),
        "unit_names": {p.id: service.unit_name(service.parse_unit(
            "VN" if p.unit_level == "nation" else f"{p.unit_level}:{p.unit_code}")) for p in rows},
        **extra,
    }, status=status)  # fmt: skip


@router.get("/admin/phases")
def phases_page(request: Request, principal: Admin, db: Db) -> Response:
    """The campaign phases set for the administrator's unit and the units below it."""
    return _phases_page(request, db, principal)


@router.post("/admin/phases")
def add_phase(
    request: Request, principal: Admin, db: Db, now: Now,
    name: Annotated[str, Form(max_length=200)], unit: Annotated[str, Form(max_length=32)],
    starts_on: Annotated[dt.date, Form()], deadline: Annotated[dt.date, Form()],
    target_kind: Annotated[str, Form(max_length=32)],
    target_percent: Annotated[float, Form(gt=0, le=100)],
) -> Response:  # fmt: skip
    """A new phase for a unit inside the administrator's."""
    typed = {"name": name, "unit": unit, "starts_on": starts_on, "deadline": deadline,
             "target_kind": target_kind, "target_percent": target_percent}  # fmt: skip
    try:
        key = service.parse_unit(unit.strip() or "VN")
        codes = service.unit_codes(key)
        if principal.unit != NATION and (key == NATION or not principal.covers(**codes)):
            return _phases_page(request, db, principal, status=403, typed=typed,
                                error_key="campaign.err.unit",
                                error_values={"unit": unit, "own": str(principal.unit)})  # fmt: skip
        with db.begin_nested():
            phase = phases.create(db, name=name, unit=unit, starts_on=starts_on,
                                  deadline=deadline, target_kind=target_kind,
                                  target_percent=target_percent, by=principal.username, now=now)  # fmt: skip
            audit(db, actor=principal, action="campaign.phase_add", object_type="campaign_phase",
                  object_id=phase.id, unit=str(key), at=now)  # fmt: skip
    except VaxlinkError as exc:
        return _phases_page(request, db, principal, status=exc.http_status, typed=typed,
                            error=str(exc))  # fmt: skip
    return RedirectResponse("/admin/phases?done=1", status_code=303)


@router.post("/admin/phases/{phase_id}/{action}")
def phase_action(principal: Admin, db: Db, now: Now, phase_id: int, action: str) -> Response:
    """end or resume a phase of the administrator's area."""
    phase = phases.get(db, phase_id)
    ensure_in_scope(db, principal, province=phase.province_code or None,
                    district=phase.district_code or None, ward=phase.ward_code or None,
                    object_type="campaign_phase", object_id=phase.id, now=now)  # fmt: skip
    if action not in ("end", "resume"):
        raise NotFound(f"no phase action {action!r}")
    phases.set_active(db, phase, action == "resume")
    audit(db, actor=principal, action=f"campaign.phase_{action}", object_type="campaign_phase",
          object_id=phase.id, at=now)  # fmt: skip
    return RedirectResponse("/admin/phases?done=1", status_code=303)

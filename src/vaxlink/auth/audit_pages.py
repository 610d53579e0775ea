"""The audit log viewer for auditors (AUDIT_VIEW): filters, newest first, keyset pages.

Reading the log is itself audited ("audit.view", with the filters used).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from vaxlink.auth import audit
from vaxlink.auth.deps import require
from vaxlink.auth.models import AuditEntry, User
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission
from vaxlink.geo.codes import Level
from vaxlink.geo.index import UnitIndex
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

PAGE: Final = 50
router = APIRouter(tags=["staff"], include_in_schema=False)
NAV: Final = (NavItem("/audit", "audit.menu", Permission.AUDIT_VIEW, order=90),)
STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "audit.menu": "Nhật ký kiểm toán",
        "audit.title": "Nhật ký kiểm toán",
        "audit.intro": "Mọi thao tác ghi và mọi lần xem hồ sơ cá nhân, mới nhất trước. Lần xem này cũng được ghi lại.",
        "audit.action": "Thao tác",
        "audit.actor": "Tài khoản",
        "audit.object_type": "Loại đối tượng",
        "audit.object_id": "Mã đối tượng",
        "audit.unit": "Đơn vị",
        "audit.since": "Từ ngày",
        "audit.until": "Đến ngày",
        "audit.filter": "Lọc",
        "audit.when": "Thời điểm (giờ Việt Nam)",
        "audit.detail": "Chi tiết",
        "audit.system": "hệ thống",
        "audit.older": "Cũ hơn →",
        "audit.newest": "← Mới nhất",
        "audit.none": "Không có mục nào khớp.",
    },
    "en": {
        "audit.menu": "Audit log",
        "audit.title": "Audit log",
        "audit.intro": "Every write and every view of a person's record, newest first. This view is logged too.",
        "audit.action": "Action",
        "audit.actor": "Account",
        "audit.object_type": "Object type",
        "audit.object_id": "Object id",
        "audit.unit": "Unit",
        "audit.since": "From",
        "audit.until": "Until",
        "audit.filter": "Filter",
        "audit.when": "Time (Viet Nam)",
        "audit.detail": "Detail",
        "audit.system": "system",
        "audit.older": "Older →",
        "audit.newest": "← Newest",
        "audit.none": "No entry matches.",
    },
}

Text = Annotated[str | None, Query(max_length=128)]


def _scope(principal: Principal) -> ColumnElement[bool] | None:
    """Entries an administrator below the nation may read: those of its unit and below."""
    if principal.unit.level is Level.NATION:
        return None
    index = UnitIndex.for_version()
    units = [principal.unit]
    frontier = [principal.unit]
    while frontier:
        children = [c.key for key in frontier for c in index.children(key)]
        units.extend(children)
        frontier = children
    names = {str(k) for k in units} | {k.code for k in units if k.level is Level.WARD}
    return AuditEntry.unit.in_(sorted(names))


def _day(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        return None


@router.get("/audit")
def audit_log(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_VIEW))],
    db: Annotated[Session, Depends(session, scope="function")],
    action: Text = None,
    actor: Text = None,
    object_type: Text = None,
    object_id: Text = None,
    unit: Text = None,
    since: Text = None,
    until: Text = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Entries matching the filters, PAGE at a time, newest first (`before` = keyset cursor)."""
    query = select(AuditEntry, User.username).outerjoin(User, User.id == AuditEntry.actor_id)
    conditions: list[ColumnElement[bool]] = []
    if action:
        conditions.append(AuditEntry.action.startswith(action.strip(), autoescape=True))
    if actor:
        user_id = db.scalar(select(User.id).where(User.username == actor.strip().lower()))
        conditions.append(AuditEntry.actor_id == (user_id if user_id is not None else -1))
    if object_type:
        conditions.append(AuditEntry.object_type == object_type.strip())
    if object_id:
        conditions.append(AuditEntry.object_id == object_id.strip())
    if unit:
        wanted = audit.canonical_unit(unit) or ""
        conditions.append(or_(AuditEntry.unit == wanted, AuditEntry.unit == unit.strip()))
    start, end = _day(since), _day(until)
    if start:
        conditions.append(AuditEntry.at >= start)
    if end:
        conditions.append(AuditEntry.at < end + dt.timedelta(days=1))
    scope = _scope(principal)
    if scope is not None:
        conditions.append(scope)
    if before:
        conditions.append(AuditEntry.seq < before)
    rows = db.execute(
        query.where(*conditions).order_by(AuditEntry.seq.desc()).limit(PAGE + 1)
    ).all()
    entries = [
        {"entry": e, "actor": name, "detail": json.loads(e.detail) if e.detail else {}}
        for e, name in rows[:PAGE]
    ]
    next_before = rows[PAGE - 1][0].seq if len(rows) > PAGE else None
    filters = {"action": action, "actor": actor, "object_type": object_type,
               "object_id": object_id, "unit": unit, "since": since, "until": until}  # fmt: skip
    used: dict[str, Any] = {k: v for k, v in filters.items() if v}
    audit.record(db, actor=principal, action="audit.view", object_type="audit_log",
                 object_id=str(before or "latest"), detail={"filters": used,
                                                            "shown": len(entries)}, at=request_now(request))  # fmt: skip
    return render(request, "auth/audit.html",
                  {"entries": entries, "filters": filters, "next_before": next_before,
                   "before": before})  # fmt: skip

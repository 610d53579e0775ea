"""The partner applications page (`/admin/partners`, PARTNER_ADMIN, national administrators
only): every API client (the e-health book, PC-COVID, VNeID …) with its scopes, fields, kinds,
quota, expiry, last use and push state; adding one, revoking and rotating its token. The same
services as `vaxlink certificates api-client …`; each action is audited with the administrator
as actor. A token (and a push signing secret) is shown once, to be handed to the partner over
a secure channel; revoking and rotating need a ticked confirmation.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.deps import require
from vaxlink.auth.service import Permission, Principal
from vaxlink.certificates.clients import (
    FIELDS,
    KINDS,
    SCOPES,
    add_client,
    client_name,
    client_name_problem,
    deactivate_client,
    is_push_url,
    list_clients,
    push_secret,
    rotate_client,
)
from vaxlink.certificates.models import ApiClient
from vaxlink.errors import Conflict, Forbidden, NotFound, VaxlinkError
from vaxlink.geo.codes import Level
from vaxlink.ratelimit import secret_of
from vaxlink.settings import Settings
from vaxlink.web import i18n
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render

router = APIRouter(tags=["staff"], include_in_schema=False)
#: A partner whose token ends within this many days is counted on the administrator's home page.
EXPIRY_WARNING: Final = dt.timedelta(days=14)


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """Partner clients that need the administrator: a live token that has ended or ends within
    `EXPIRY_WARNING` (rotate or extend it), or pushes the receiver keeps refusing."""
    c = ApiClient
    needs = or_(c.expires_at <= now + EXPIRY_WARNING, c.push_attempts > 0)
    live = and_(c.active.is_(True), c.revoked_at.is_(None))
    inner = select(c.id).where(live, needs).limit(WAITING_CAP).subquery()
    return int(db.scalar(select(func.count()).select_from(inner)) or 0)


NAV: Final = (
    NavItem("/admin/partners", "partners.menu", Permission.PARTNER_ADMIN, order=88,
            waiting=_waiting),
)  # fmt: skip
DB = Annotated[Session, Depends(session, scope="function")]

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "partners.menu": "Ứng dụng đối tác",
        "partners.title": "Ứng dụng đối tác nhận chứng nhận",
        "partners.intro": "Các ứng dụng của người dân (sổ sức khỏe điện tử và các ứng dụng khác) lấy chứng nhận bằng mã truy cập riêng. Mã truy cập chỉ hiện một lần: hãy chuyển cho đối tác qua kênh an toàn.",
        "partners.name": "Tên ứng dụng",
        "partners.status": "Trạng thái",
        "partners.active": "Đang hoạt động",
        "partners.revoked": "Đã thu hồi",
        "partners.expired": "Đã hết hạn",
        "partners.scopes": "Quyền",
        "partners.scope.certificates:read": "Đọc chứng nhận",
        "partners.scope.changes:read": "Nhận danh sách thay đổi",
        "partners.scope.identity:verify": "Xác minh danh tính",
        "partners.fields": "Trường dữ liệu",
        "partners.fields.full": "Đầy đủ (mã QR, tệp PDF, hồ sơ y tế điện tử)",
        "partners.fields.minimal": "Tối thiểu (họ tên, ngày sinh, thời hạn)",
        "partners.kinds": "Loại chứng nhận",
        "partners.kind.v": "Tiêm chủng",
        "partners.kind.r": "Khỏi bệnh",
        "partners.per_minute": "Số yêu cầu mỗi phút",
        "partners.per_minute_default": "{n} (mặc định)",
        "partners.expires": "Hết hạn",
        "partners.never": "Không",
        "partners.last_used": "Lần dùng cuối",
        "partners.unused": "Chưa dùng",
        "partners.push": "Địa chỉ nhận đẩy",
        "partners.push_state": "Đã gửi đến vị trí {cursor}",
        "partners.push_error": "Lỗi gần nhất: {error} (lần thử {attempts})",
        "partners.add": "Thêm ứng dụng",
        "partners.expires_help": "Để trống nếu không hết hạn.",
        "partners.per_minute_help": "Để trống để dùng mức mặc định ({n} mỗi phút).",
        "partners.push_help": "Ví dụ `https://doi-tac.vn/vaxlink`. Để trống nếu đối tác tự hỏi danh sách thay đổi.",
        "partners.actions": "Thao tác",
        "partners.revoke": "Thu hồi mã truy cập",
        "partners.rotate": "Cấp mã truy cập mới",
        "partners.confirm": "Tôi xác nhận: mã truy cập hiện tại sẽ bị từ chối ngay lập tức.",
        "partners.shown_token": "Mã truy cập của {name} (chỉ hiện lần này):",
        "partners.shown_secret": "Khóa ký dữ liệu đẩy của {name} (chỉ hiện lần này):",
        "partners.done_revoke": "Đã thu hồi mã truy cập của {name}: mã này không còn dùng được.",
        "partners.none": "Chưa có ứng dụng đối tác nào.",
        "partners.err.confirm": "Hãy đánh dấu ô xác nhận trước khi thu hồi hoặc cấp mã mới.",
        "partners.err.national": "Chỉ quản trị cấp quốc gia được quản lý ứng dụng đối tác.",
        "partners.err.scopes": "Hãy chọn ít nhất một quyền.",
        "partners.err.fields": "Hãy chọn trường dữ liệu: đầy đủ hoặc tối thiểu.",
        "partners.err.kinds": "Hãy chọn ít nhất một loại chứng nhận.",
        "partners.err.expires": "Ngày hết hạn phải là một ngày trong tương lai.",
        "partners.err.per_minute": "Số yêu cầu mỗi phút là một số từ 1 đến 100000.",
        "partners.err.push": "Địa chỉ nhận đẩy phải bắt đầu bằng `https://` (hoặc `http://`) và dài tối đa 500 ký tự.",
        "partners.err.taken": "Đã có ứng dụng mang tên này.",
    },
    "en": {
        "partners.menu": "Partner apps",
        "partners.title": "Partner applications receiving certificates",
        "partners.intro": "Citizens' apps (the e-health book and others) fetch certificates with a token of their own. A token is shown once: hand it to the partner over a secure channel.",
        "partners.name": "Application name",
        "partners.status": "Status",
        "partners.active": "Active",
        "partners.revoked": "Revoked",
        "partners.expired": "Expired",
        "partners.scopes": "Scopes",
        "partners.scope.certificates:read": "Read certificates",
        "partners.scope.changes:read": "Receive the change feed",
        "partners.scope.identity:verify": "Verify identities",
        "partners.fields": "Fields",
        "partners.fields.full": "Full (QR code, PDF, electronic health record)",
        "partners.fields.minimal": "Minimal (name, date of birth, validity)",
        "partners.kinds": "Certificate kinds",
        "partners.kind.v": "Vaccination",
        "partners.kind.r": "Recovery",
        "partners.per_minute": "Requests a minute",
        "partners.per_minute_default": "{n} (default)",
        "partners.expires": "Expires",
        "partners.never": "Never",
        "partners.last_used": "Last used",
        "partners.unused": "Not yet",
        "partners.push": "Push address",
        "partners.push_state": "Delivered up to position {cursor}",
        "partners.push_error": "Last error: {error} (try {attempts})",
        "partners.add": "Add the application",
        "partners.expires_help": "Leave empty for no expiry.",
        "partners.per_minute_help": "Leave empty for the default ({n} a minute).",
        "partners.push_help": "For example `https://partner.example/vaxlink`. Leave empty when the partner polls the change feed.",
        "partners.actions": "Actions",
        "partners.revoke": "Revoke the token",
        "partners.rotate": "Issue a new token",
        "partners.confirm": "I confirm: the current token is refused at once.",
        "partners.shown_token": "Token of {name} (shown this once):",
        "partners.shown_secret": "Push signing secret of {name} (shown this once):",
        "partners.done_revoke": "Revoked the token of {name}: it no longer works.",
        "partners.none": "No partner application yet.",
        "partners.err.confirm": "Tick the confirmation before revoking or issuing a new token.",
        "partners.err.national": "Only a national administrator manages partner applications.",
        "partners.err.scopes": "Tick at least one scope.",
        "partners.err.fields": "Choose the fields: full or minimal.",
        "partners.err.kinds": "Tick at least one certificate kind.",
        "partners.err.expires": "The expiry must be a day in the future.",
        "partners.err.per_minute": "Requests a minute is a number from 1 to 100000.",
        "partners.err.push": "A push address starts with `https://` (or `http://`) and is at most 500 characters long.",
        "partners.err.taken": "An application of this name exists already.",
    },
}


def national_admin(
    principal: Annotated[Principal, Depends(require(Permission.PARTNER_ADMIN))],
) -> Principal:
    """A dependency: an administrator of the nation (a client reads the whole country)."""
    if principal.unit.level is not Level.NATION:
        raise Forbidden("only a national administrator manages partner applications")
    return principal


Admin = Annotated[Principal, Depends(national_admin)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(request: Request, db: Session, *, status: int = 200, **extra: Any) -> Response:
    now = request_now(request)
    return render(request, "partners/clients.html", {
        "clients": list_clients(db), "now": now, "scopes": sorted(SCOPES), "fields": FIELDS,
        "kinds": KINDS, "default_per_minute": _settings(request).partner_requests_per_minute,
        **extra,
    }, status=status)  # fmt: skip


@router.get("/admin/partners")
def partners_page(request: Request, principal: Admin, db: DB) -> Response:
    """Every partner application."""
    return _page(request, db)


def _expiry(text: str) -> dt.datetime | None:
    """Midnight (UTC) of a `yyyy-mm-dd` day; None for an empty field (ValueError when bad)."""
    if not text.strip():
        return None
    return dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time(0), dt.UTC)


def _form_problem(typed: dict[str, Any], now: dt.datetime) -> str | None:
    """The message key of what is wrong with the form, in the order of its fields."""
    problem = client_name_problem(client_name(typed["name"]))
    if problem is not None:
        return problem
    if not typed["scopes"] or set(typed["scopes"]) - SCOPES:
        return "partners.err.scopes"
    if typed["fields"] not in FIELDS:
        return "partners.err.fields"
    if not typed["kinds"] or set(typed["kinds"]) - set(KINDS):
        return "partners.err.kinds"
    try:
        expires = _expiry(typed["expires"])
    except ValueError:
        return "partners.err.expires"
    if expires is not None and expires <= now:
        return "partners.err.expires"
    quota = typed["per_minute"].strip()
    if quota and not (quota.isdigit() and 1 <= int(quota) <= 100_000):
        return "partners.err.per_minute"
    if typed["push_url"].strip() and not is_push_url(typed["push_url"]):
        return "partners.err.push"
    return None


@router.post("/admin/partners")
def add_partner(
    request: Request, principal: Admin, db: DB,
    name: Annotated[str, Form(max_length=1000)],  # longer than 64: said by the page
    scopes: Annotated[list[str] | None, Form()] = None,
    kinds: Annotated[list[str] | None, Form()] = None,
    fields: Annotated[str, Form(max_length=16)] = "full",
    expires: Annotated[str, Form(max_length=10)] = "",
    per_minute: Annotated[str, Form(max_length=6)] = "",
    push_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    """A new client; its token (and push secret) shown once."""
    now = request_now(request)
    scopes, kinds = scopes or [], kinds or []  # none ticked: add_client says what is missing
    typed = {"name": name, "scopes": scopes, "kinds": kinds, "fields": fields,
             "expires": expires, "per_minute": per_minute, "push_url": push_url}  # fmt: skip
    problem = _form_problem(typed, now)
    if problem is not None:
        return _page(request, db, status=422, typed=typed, error_key=problem)
    try:
        with db.begin_nested():
            client, token = add_client(
                db, name, by=principal.username, now=now, scopes=scopes, fields=fields,
                kinds=kinds, expires_at=_expiry(expires),
                per_minute=int(per_minute) if per_minute.strip() else None,
                push_url=push_url or None,
            )  # fmt: skip
            auth.append(db, actor=principal, action="certificates.api_client_add",
                        object_type="api_client", object_id=client.id, at=now,
                        detail={"scopes": client.scopes.split(), "fields": client.fields,
                                "kinds": client.kinds.split(), "per_minute": client.per_minute,
                                "expires": bool(client.expires_at),
                                "push": bool(client.push_url)})  # fmt: skip
    except Conflict:
        return _page(request, db, status=409, typed=typed, error_key="partners.err.taken")
    except VaxlinkError as exc:
        return _page(request, db, status=exc.http_status, typed=typed,
                     error=i18n.error_text(i18n.language(request), exc))  # fmt: skip
    return _page(request, db, status=201, **_shown(request, client, token))


def _shown(request: Request, client: ApiClient, token: str) -> dict[str, Any]:
    secret = push_secret(client, secret_of(_settings(request))) if client.push_url else None
    return {"shown_name": client.name, "shown_token": token, "shown_secret": secret}


@router.post("/admin/partners/{client_id}/{action}")
def partner_action(
    request: Request, principal: Admin, db: DB, client_id: int, action: str,
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:  # fmt: skip
    """revoke (the token is refused at once) or rotate (a new token shown once, the old one
    refused at once); both need the confirmation ticked."""
    now = request_now(request)
    client = db.get(ApiClient, client_id)
    if client is None:
        raise NotFound("no such partner application")
    if action not in ("revoke", "rotate"):
        raise NotFound(f"no partner action {action!r}")
    if confirm != "yes":
        return _page(request, db, status=422, error_key="partners.err.confirm")
    try:
        with db.begin_nested():
            if action == "revoke":
                deactivate_client(db, client.name, by=principal.username, now=now)
            else:
                client, token = rotate_client(db, client.name, now=now)
            auth.append(db, actor=principal, action=f"certificates.api_client_{action}",
                        object_type="api_client", object_id=client.id, at=now)  # fmt: skip
    except VaxlinkError as exc:
        return _page(request, db, status=exc.http_status,
                     error=i18n.error_text(i18n.language(request), exc))  # fmt: skip
    if action == "rotate":
        return _page(request, db, **_shown(request, client, token))
    return RedirectResponse(f"/admin/partners?revoked={client.id}", status_code=303)

"""The administrator's accounts page (`/admin/accounts`, USER_ADMIN): every account of the
administrator's unit, creating one, disabling and enabling, a new password and a second-factor
reset. The same services as `vaxlink users …`; each action is audited with the administrator as
actor. A new or reset password is made by the system and shown once, to be handed over in person;
nothing typed by the administrator is ever a password.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.auth import service
from vaxlink.auth.deps import ensure_in_scope, require
from vaxlink.auth.models import User
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import SECOND_FACTOR_ROLES, Permission, Role
from vaxlink.errors import NotFound, VaxlinkError
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.index import UnitIndex
from vaxlink.web import i18n
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """Active accounts of the administrator's unit and below that cannot work yet: an issuer or
    an administrator with no second factor enrolled (their role requires one)."""
    rows = db.execute(
        select(User.unit_level, User.unit_code).where(
            User.active.is_(True), User.totp_confirmed_at.is_(None),
            User.role.in_([r.value for r in SECOND_FACTOR_ROLES]),
        ).limit(WAITING_CAP)
    )  # fmt: skip
    return sum(1 for level, code in rows if _covers(principal, level, code))


router = APIRouter(tags=["staff"], include_in_schema=False)
NAV: Final = (
    NavItem("/admin/accounts", "accounts.menu", Permission.USER_ADMIN, order=85, waiting=_waiting),
)
Admin = Annotated[Principal, Depends(require(Permission.USER_ADMIN))]
DB = Annotated[Session, Depends(session, scope="function")]
#: Roles a unit below the nation may not hand out (their accounts act for the whole country).
NATIONAL_ROLES: Final = frozenset({Role.NATIONAL_ISSUER})

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "accounts.menu": "Tài khoản",
        "accounts.title": "Quản lý tài khoản",
        "accounts.intro": "Tài khoản của đơn vị và các đơn vị cấp dưới. Mật khẩu do hệ thống tạo, chỉ hiện một lần: hãy trao tận tay người dùng.",
        "accounts.username": "Tên đăng nhập",
        "accounts.name": "Họ tên",
        "accounts.role": "Vai trò",
        "accounts.unit": "Đơn vị",
        "accounts.site": "Mã cơ sở tiêm",
        "accounts.active": "Hoạt động",
        "accounts.second_factor": "Xác thực hai lớp",
        "accounts.created": "Ngày tạo",
        "accounts.yes": "Có",
        "accounts.actions": "Thao tác",
        "accounts.no": "Không",
        "accounts.create": "Tạo tài khoản",
        "accounts.unit_help": "Ví dụ: `ward:00001` (xã), `district:001` (huyện), `province:001` (tỉnh), `VN` (toàn quốc)",
        "accounts.disable": "Khóa",
        "accounts.enable": "Mở khóa",
        "accounts.reset_password": "Cấp mật khẩu mới",
        "accounts.reset_second_factor": "Đặt lại xác thực hai lớp",
        "accounts.new_password": "Mật khẩu tạm thời của {user} (chỉ hiện lần này, hãy trao tận tay): ",
        "accounts.done": "Đã lưu thay đổi cho tài khoản {user}.",
        "accounts.filter": "Lọc",
        "accounts.search": "Tên đăng nhập hoặc đơn vị",
        "accounts.none": "Không có tài khoản nào khớp.",
        "accounts.err.unit": "Đơn vị {unit} nằm ngoài phạm vi của anh/chị ({own}).",
        "accounts.err.role": "Chỉ quản trị cấp quốc gia được tạo tài khoản vai trò này.",
        "accounts.err.self": "Không thể tự khóa tài khoản của chính mình.",
    },
    "en": {
        "accounts.menu": "Accounts",
        "accounts.title": "Accounts",
        "accounts.intro": "Accounts of your unit and the units below it. Passwords are made by the system and shown once: hand them over in person.",
        "accounts.username": "User name",
        "accounts.name": "Name",
        "accounts.role": "Role",
        "accounts.unit": "Unit",
        "accounts.site": "Vaccination site code",
        "accounts.active": "Active",
        "accounts.second_factor": "Two-factor",
        "accounts.created": "Created",
        "accounts.yes": "Yes",
        "accounts.actions": "Actions",
        "accounts.no": "No",
        "accounts.create": "Create the account",
        "accounts.unit_help": "For example `ward:00001` (commune), `district:001`, `province:001`, `VN` (nation)",
        "accounts.disable": "Disable",
        "accounts.enable": "Enable",
        "accounts.reset_password": "New password",
        "accounts.reset_second_factor": "Reset two-factor",
        "accounts.new_password": "Temporary password of {user} (shown this once; hand it over in person): ",
        "accounts.done": "Saved the change to account {user}.",
        "accounts.filter": "Filter",
        "accounts.search": "User name or unit",
        "accounts.none": "No account matches.",
        "accounts.err.unit": "Unit {unit} is outside your area ({own}).",
        "accounts.err.role": "Only a national administrator creates accounts with this role.",
        "accounts.err.self": "You cannot disable your own account.",
    },
}


def _place(level: str, code: str) -> dict[str, str | None]:
    """(province, district, ward) codes of an account's unit, for the scope check."""
    if level == Level.NATION.value:
        return {"province": None, "district": None, "ward": None}
    path = UnitIndex.for_version().path(UnitKey(Level(level), code))
    codes = {k.level: k.code for k in path}
    return {"province": codes.get(Level.PROVINCE), "district": codes.get(Level.DISTRICT),
            "ward": codes.get(Level.WARD)}  # fmt: skip


def _covers(principal: Principal, level: str, code: str) -> bool:
    if principal.unit.level is Level.NATION:
        return True
    if level == Level.NATION.value:
        return False
    return principal.covers(**_place(level, code))


def _accounts(db: Session, principal: Principal, q: str) -> list[User]:
    rows = db.scalars(select(User).order_by(User.unit_level, User.unit_code, User.username))
    needle = q.strip().lower()
    return [u for u in rows if _covers(principal, u.unit_level, u.unit_code)
            and (not needle or needle in u.username or needle in f"{u.unit_level}:{u.unit_code}")]  # fmt: skip


def _page(request: Request, db: Session, principal: Principal, *, status: int = 200,
          **extra: Any) -> Response:  # fmt: skip
    q = request.query_params.get("q", "")
    return render(request, "auth/accounts.html", {
        "accounts": _accounts(db, principal, q), "q": q, "roles": list(Role), **extra,
    }, status=status)  # fmt: skip


@router.get("/admin/accounts")
def accounts_page(request: Request, principal: Admin, db: DB) -> Response:
    """Every account of the administrator's unit and below."""
    return _page(request, db, principal)


@router.post("/admin/accounts")
def create_account(
    request: Request, principal: Admin, db: DB,
    username: Annotated[str, Form(max_length=64)], role: Annotated[str, Form(max_length=32)],
    unit: Annotated[str, Form(max_length=32)],
    display_name: Annotated[str, Form(max_length=120)] = "",
    facility_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:  # fmt: skip
    """A new active account with a temporary password made by the system, shown once."""
    typed = {"username": username, "role": role, "unit": unit, "display_name": display_name,
             "facility_code": facility_code}  # fmt: skip
    level, _, code = unit.strip().partition(":")
    key_level, key_code = (level, code) if code else (Level.NATION.value, "VN")
    try:
        if not _covers(principal, key_level, key_code):
            return _page(request, db, principal, status=403, typed=typed,
                         error_key="accounts.err.unit", error_values={"unit": unit,
                                                                     "own": str(principal.unit)})  # fmt: skip
        if role in NATIONAL_ROLES and principal.unit.level is not Level.NATION:
            return _page(request, db, principal, status=403, typed=typed,
                         error_key="accounts.err.role")  # fmt: skip
        password = service.temporary_password()
        with db.begin_nested():
            user = service.create_user(
                db, username=username, password=password, role=role, unit=unit.strip(),
                facility_code=facility_code.strip() or None, display_name=display_name,
                actor=principal, now=request_now(request),
            )  # fmt: skip
    except (VaxlinkError, ValueError) as exc:
        return _page(request, db, principal, status=getattr(exc, "http_status", 422),
                     typed=typed, error=i18n.error_text(i18n.language(request), exc))  # fmt: skip
    return _page(request, db, principal, status=201, shown_password=password,
                 shown_user=user.username)  # fmt: skip


def _account(db: Session, principal: Principal, user_id: int, now: dt.datetime) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("no such account")
    place = _place(user.unit_level, user.unit_code)  # a national account: outside every unit
    ensure_in_scope(db, principal, province=place["province"], district=place["district"],
                    ward=place["ward"], object_type="user", object_id=user.id, now=now)  # fmt: skip
    return user


@router.post("/admin/accounts/{user_id}/{action}")
def account_action(
    request: Request, principal: Admin, db: DB, user_id: int, action: str
) -> Response:
    """disable, enable, password (a new temporary one, shown once) or second-factor."""
    now = request_now(request)
    user = _account(db, principal, user_id, now)
    if user.id == principal.user_id and action == "disable":
        return _page(request, db, principal, status=409, error_key="accounts.err.self")
    shown: dict[str, Any] = {}
    if action in ("disable", "enable"):
        service.set_active(db, user, action == "enable", actor=principal, now=now)
    elif action == "password":
        password = service.temporary_password()
        service.set_password(db, user, password, actor=principal, now=now)
        shown = {"shown_password": password, "shown_user": user.username}
    elif action == "second-factor":
        service.reset_second_factor(db, user, actor=principal, now=now)
    else:
        raise NotFound(f"no account action {action!r}")
    if shown:
        return _page(request, db, principal, **shown)
    return RedirectResponse(f"/admin/accounts?done={user.username}", status_code=303)

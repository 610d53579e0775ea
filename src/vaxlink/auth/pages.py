"""Login, logout, second factor and the staff home page."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth import audit, service, throttle, totp
from vaxlink.auth.deps import SESSION_COOKIE, CurrentPrincipal
from vaxlink.auth.errors import TooManyAttempts, Unauthenticated
from vaxlink.auth.models import User
from vaxlink.auth.roles import ROLE_PERMISSIONS, SECOND_FACTOR_ROLES, Permission
from vaxlink.settings import Settings
from vaxlink.web import deps
from vaxlink.web.deps import session, settings
from vaxlink.web.nav import WAITING_CAP, NavItem, items_for
from vaxlink.web.render import render
from vaxlink.web.security import is_https, safe_next

router = APIRouter(tags=["staff"], include_in_schema=False)
NAV: Final = (NavItem("/", "common.home", None, order=0),)

Db = Annotated[Session, Depends(session, scope="function")]
Config = Annotated[Settings, Depends(settings)]
NEXT_FIELD: Final = "next"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(request: Request, response: Response, token: str, config: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
        secure=config.secure_cookies or is_https(request.scope),
    )  # fmt: skip


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None = None,
    status: int = 200,
    username: str = "",
) -> Response:
    return render(request, "auth/login.html",
                  {"next": next_path, "error": error, "username": username}, status=status)  # fmt: skip


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    """The login form."""
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    db: Db,
    config: Config,
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials; on success start a session (or its second-factor step)."""
    target = safe_next(next)
    t_key, status, minutes = None, 200, 0
    try:
        user = service.authenticate(db, username, password, client=_client(request),
                                    settings=config, now=deps.now(request))  # fmt: skip
    except TooManyAttempts as exc:
        t_key, status, minutes = "auth.login.locked", 429, max(1, -(-exc.retry_after_seconds // 60))
    except Unauthenticated:
        t_key, status = "auth.login.failed", 401
    if t_key is not None:
        from vaxlink.web.i18n import language, translate

        message = translate(language(request), t_key, minutes=minutes)
        response = _login_page(request, next_path=target, error=message, status=status,
                               username=username[:64])  # fmt: skip
        if status == 429:
            response.headers["Retry-After"] = str(minutes * 60)
        return response
    service.revoke_session(db, request.cookies.get(SESSION_COOKIE), now=deps.now(request))
    enrol = totp.needs_enrolment(user)  # issuer and admin: no login without a second factor
    pending = user.totp_confirmed_at is not None or enrol
    token = service.create_session(db, user, settings=config, second_factor_pending=pending,
                                   now=deps.now(request))
    if enrol:
        response = RedirectResponse(f"/login/enrol?next={_quoted(target)}", 303)
    elif pending:
        response = RedirectResponse(f"/login/second-factor?next={_quoted(target)}", 303)
    else:
        audit.record(db, actor=service.principal_of(user), action="auth.login",
                     object_type="user", object_id=user.id, at=deps.now(request))  # fmt: skip
        response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, token, config)
    return response


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


def _pending_user(request: Request, db: Session, config: Settings) -> User | None:
    resolved = service.resolve_session(db, request.cookies.get(SESSION_COOKIE), settings=config, now=deps.now(request))
    if resolved is None or not resolved.row.second_factor_pending:
        return None
    return resolved.user


@router.get("/login/second-factor")
def second_factor_form(
    request: Request,
    db: Db,
    config: Config,
    next: Annotated[str | None, Query()] = None,
) -> Response:
    """The code step of a login with a second factor."""
    user = _pending_user(request, db, config)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if totp.needs_enrolment(user):
        return RedirectResponse(f"/login/enrol?next={_quoted(safe_next(next))}", status_code=303)
    return render(request, "auth/second_factor.html", {"next": safe_next(next), "error": None})


@router.post("/login/second-factor")
def second_factor(
    request: Request,
    db: Db,
    config: Config,
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the TOTP code; on success the pending session becomes a login (a new token)."""
    user = _pending_user(request, db, config)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    target = safe_next(next)
    client = _client(request)
    now = deps.now(request)
    wait = throttle.locked_for(db, user.username, client, settings=config, now=now)
    if wait is not None or not totp.verify_login_code(user, code, now=now, key=totp.key_of(config)):
        if wait is None:
            throttle.note(db, user.username, client, succeeded=False, settings=config,
                                  now=now)  # fmt: skip
        from vaxlink.web.i18n import language, translate

        key = "auth.totp.failed" if wait is None else "auth.login.locked"
        message = translate(language(request), key, minutes=max(1, -(-(wait or 0) // 60)))
        return render(request, "auth/second_factor.html", {"next": target, "error": message},
                      status=401 if wait is None else 429)  # fmt: skip
    service.revoke_session(db, request.cookies.get(SESSION_COOKIE), now=now)
    token = service.create_session(db, user, settings=config, now=now)
    audit.record(db, actor=service.principal_of(user), action="auth.login",
                 object_type="user", object_id=user.id, detail={"second_factor": True}, at=deps.now(request))  # fmt: skip
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, token, config)
    return response


def _enrolling_user(request: Request, db: Session, config: Settings) -> User | None:
    user = _pending_user(request, db, config)
    return user if user is not None and totp.needs_enrolment(user) else None


@router.get("/login/enrol")
def login_enrol_form(
    request: Request,
    db: Db,
    config: Config,
    next: Annotated[str | None, Query()] = None,
) -> Response:
    """The enrolment a role that requires a second factor goes through before its first login."""
    user = _enrolling_user(request, db, config)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    secret = totp.start_enrolment(user, key=totp.key_of(config))
    return render(request, "auth/enrol.html", {
        "enrolled": False, "required": True, "secret": secret, "action": "/login/enrol",
        "next": safe_next(next), "qr_svg": totp.qr_data_uri(user, secret), "error": None,
    })  # fmt: skip


@router.post("/login/enrol")
def login_enrol(
    request: Request,
    db: Db,
    config: Config,
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Confirm the new second factor with a code from it; the pending session becomes a login."""
    user = _enrolling_user(request, db, config)
    if user is None or not user.totp_secret:
        return RedirectResponse("/login", status_code=303)
    target, client, now = safe_next(next), _client(request), deps.now(request)
    wait = throttle.locked_for(db, user.username, client, settings=config, now=now)
    key = totp.key_of(config)
    if wait is not None or not totp.confirm_enrolment(user, code, now=now, key=key):
        if wait is None:
            throttle.note(db, user.username, client, succeeded=False, settings=config, now=now)
        from vaxlink.web.i18n import language, translate

        secret = totp.secret_of(user, key) or ""
        t_key = "auth.totp.failed" if wait is None else "auth.login.locked"
        return render(request, "auth/enrol.html", {
            "enrolled": False, "required": True, "secret": secret,
            "action": "/login/enrol", "next": target, "qr_svg": totp.qr_data_uri(user, secret),
            "error": translate(language(request), t_key, minutes=max(1, -(-(wait or 0) // 60))),
        }, status=422 if wait is None else 429)  # fmt: skip
    principal = service.principal_of(user)
    audit.record(db, actor=principal, action="user.second_factor_enrol", object_type="user",
                 object_id=user.id, at=now)  # fmt: skip
    service.revoke_session(db, request.cookies.get(SESSION_COOKIE), now=now)
    token = service.create_session(db, user, settings=config, now=now)
    audit.record(db, actor=principal, action="auth.login", object_type="user",
                 object_id=user.id, detail={"second_factor": True}, at=now)  # fmt: skip
    # a confirmation, then on to the page asked for (the new session's cookie is set here)
    response = render(request, "auth/enrol.html",
                      {"enrolled": True, "just_enrolled": True, "next": target})  # fmt: skip
    _set_session_cookie(request, response, token, config)
    return response


@router.post("/logout")
def logout(request: Request, db: Db, config: Config) -> Response:
    """End the session and forget the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    resolved = service.resolve_session(db, token, settings=config, now=deps.now(request))
    if resolved is not None:
        service.revoke_session(db, token, now=deps.now(request))
        audit.record(db, actor=resolved.principal, action="auth.logout", object_type="user",
                     object_id=resolved.user.id, at=deps.now(request))  # fmt: skip
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=config.secure_cookies or is_https(request.scope))  # fmt: skip
    return response


@router.get("/")
def home(request: Request, principal: CurrentPrincipal, db: Db) -> Response:
    """What the account's role can do here, with links to the pages that exist."""
    items = items_for(request.app, principal)
    # each ability with every page it opens (the accounts, the focal points and the phases are
    # all the administrator's; the dashboard and the ageing both the officer's), in menu order
    abilities = [(p, [item for item in items if item.permission is p])
                 for p in Permission if p in ROLE_PERMISSIONS[principal.role]]  # fmt: skip
    # what waits for the account on each of its pages (capped counts, read only)
    now = deps.now(request)
    waiting = {item.path: item.waiting(db, principal, now) for item in items if item.waiting}
    user = db.get(User, principal.user_id)
    needs_totp = (
        principal.role in SECOND_FACTOR_ROLES and user is not None
        and user.totp_confirmed_at is None
    )  # fmt: skip
    return render(request, "auth/home.html",
                  {"abilities": abilities, "needs_totp": needs_totp, "waiting": waiting,
                   "waiting_cap": WAITING_CAP,
                   "totp_on": user is not None and user.totp_confirmed_at is not None})  # fmt: skip


@router.get("/account/second-factor")
def enrol_form(request: Request, principal: CurrentPrincipal, db: Db, config: Config) -> Response:
    """Start (or restart) TOTP enrolment: a fresh secret shown as a QR code."""
    user = db.get(User, principal.user_id)
    assert user is not None
    if user.totp_confirmed_at is not None:
        return render(request, "auth/enrol.html", {"enrolled": True})
    secret = totp.start_enrolment(user, key=totp.key_of(config))
    return render(request, "auth/enrol.html", {
        "enrolled": False, "secret": secret, "qr_svg": totp.qr_data_uri(user, secret),
        "error": None,
    })  # fmt: skip


@router.post("/account/second-factor")
def enrol(
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    config: Config,
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Confirm enrolment with a code from the new secret."""
    user = db.get(User, principal.user_id)
    assert user is not None
    if user.totp_confirmed_at is None and user.totp_secret:
        key = totp.key_of(config)
        if totp.confirm_enrolment(user, code, now=deps.now(request), key=key):
            audit.record(db, actor=principal, action="user.second_factor_enrol",
                         object_type="user", object_id=user.id, at=deps.now(request))  # fmt: skip
            return render(request, "auth/enrol.html", {"enrolled": True, "just_enrolled": True})
        from vaxlink.web.i18n import language, translate

        secret = totp.secret_of(user, key) or ""
        return render(request, "auth/enrol.html", {
            "enrolled": False, "secret": secret, "qr_svg": totp.qr_data_uri(user, secret),
            "error": translate(language(request), "auth.totp.failed"),
        }, status=422)  # fmt: skip
    return RedirectResponse("/account/second-factor", status_code=303)


def _password_page(
    request: Request, *, error: str | None = None, status: int = 200, done: int | None = None
) -> Response:
    return render(request, "auth/password.html",
                  {"error": error, "done": done is not None, "ended": done or 0,
                   "min_length": service.MIN_PASSWORD}, status=status)  # fmt: skip


@router.get("/account/password")
def password_form(request: Request, principal: CurrentPrincipal) -> Response:
    """The account holder's own password change: current password, then the new one twice."""
    return _password_page(request)


@router.post("/account/password")
def change_password(
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    config: Config,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    repeat: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change the password; every other session of the account ends, this one goes on."""
    from vaxlink.auth.errors import AccountError
    from vaxlink.web.i18n import error_text, language

    user = db.get(User, principal.user_id)
    assert user is not None
    try:
        ended = service.change_own_password(
            db, user, current=current, new=new, repeat=repeat,
            keep_token=request.cookies.get(SESSION_COOKIE), client=_client(request),
            settings=config, now=deps.now(request),
        )  # fmt: skip
    except TooManyAttempts as exc:
        response = _password_page(request, error=error_text(language(request), exc), status=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except AccountError as exc:  # returned, not raised: a wrong guess is counted (committed)
        return _password_page(request, error=error_text(language(request), exc), status=422)
    return _password_page(request, done=ended)


def _mount_audit_viewer() -> None:
    from vaxlink.auth import account_pages, audit_pages

    router.include_router(audit_pages.router)
    router.include_router(account_pages.router)


_mount_audit_viewer()

"""Who may do what, as FastAPI dependencies: `require(...)`, `CurrentPrincipal`, scope checks.

Usage in a router::

    @router.get("/worklist")
    def worklist(principal: Annotated[Principal, Depends(require(Permission.WORKLIST_VIEW))],
                 db: Annotated[Session, Depends(session, scope="function")]): ...

Anonymous requests get 401 (HTML GETs are redirected to `/login?next=...`), accounts whose role
lacks a permission get 403. `ensure_in_scope` (from `vaxlink.auth.service`, re-exported for
pages) refuses (403) and audits things outside the account's unit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vaxlink.auth import service, totp
from vaxlink.auth.errors import Forbidden, Unauthenticated
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission
from vaxlink.auth.service import ensure_in_scope
from vaxlink.settings import Settings
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session

__all__ = [
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "current_principal",
    "ensure_in_scope",
    "optional_principal",
    "permissions_of",
    "require",
    "require_any",
]

SESSION_COOKIE: Final = "vaxlink_session"
#: Attribute on a `require(...)` dependency naming what it asks for (read by the access tests).
PERMISSIONS_ATTR: Final = "vaxlink_permissions"
#: True on dependencies satisfied by any one of their permissions (`require_any`).
ANY_ATTR: Final = "vaxlink_any"

_UNSET: Final = object()


def optional_principal(
    request: Request, db: Annotated[Session, Depends(session, scope="function")]
) -> Principal | None:
    """The logged-in account, or None (a pending second factor is not a login yet, nor is a
    session of a role that must have a second factor and has none enrolled)."""
    cached = getattr(request.state, "principal", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    settings: Settings = request.app.state.settings
    resolved = service.resolve_session(db, request.cookies.get(SESSION_COOKIE), settings=settings, now=request_now(request))
    principal = None
    if (
        resolved is not None
        and not resolved.row.second_factor_pending
        and not totp.needs_enrolment(resolved.user)
    ):
        principal = resolved.principal
        request.state.display_name = resolved.user.display_name
    request.state.principal = principal
    return principal


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The logged-in account; 401 when there is none."""
    if principal is None:
        raise Unauthenticated("please log in")
    return principal


setattr(current_principal, PERMISSIONS_ATTR, frozenset())
setattr(current_principal, ANY_ATTR, False)

#: A route parameter for routes that only need a login, any role.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _permission_dependency(perms: tuple[Permission, ...], any_of: bool) -> Callable[..., Principal]:
    if not perms:
        raise ValueError("require() needs at least one permission; use CurrentPrincipal instead")
    wanted = frozenset(Permission(p) for p in perms)

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        held = [principal.can(p) for p in wanted]
        if not (any(held) if any_of else all(held)):
            names = ", ".join(sorted(wanted))
            raise Forbidden(f"your role ({principal.role}) may not do this (needs {names})")
        return principal

    setattr(dependency, PERMISSIONS_ATTR, wanted)
    setattr(dependency, ANY_ATTR, any_of)
    names = "__".join(sorted(p.value.replace(".", "_") for p in wanted))
    dependency.__name__ = f"require_{'any_' if any_of else ''}{names}"
    return dependency


_CACHE: dict[tuple[tuple[Permission, ...], bool], Callable[..., Principal]] = {}


def require(*perms: Permission) -> Callable[..., Principal]:
    """A dependency returning the Principal when its role holds ALL of `perms` (401/403 else).

    The same permissions give the same function, so FastAPI resolves it once per request."""
    key = (tuple(sorted(set(perms))), False)
    if key not in _CACHE:
        _CACHE[key] = _permission_dependency(key[0], any_of=False)
    return _CACHE[key]


def require_any(*perms: Permission) -> Callable[..., Principal]:
    """Like `require`, satisfied by any ONE of `perms`."""
    key = (tuple(sorted(set(perms))), True)
    if key not in _CACHE:
        _CACHE[key] = _permission_dependency(key[0], any_of=True)
    return _CACHE[key]


def permissions_of(dependency: Any) -> tuple[frozenset[Permission], bool] | None:
    """What a `require`/`require_any`/`current_principal` dependency asks for, else None."""
    perms = getattr(dependency, PERMISSIONS_ATTR, None)
    if perms is None:
        return None
    return perms, bool(getattr(dependency, ANY_ATTR, False))

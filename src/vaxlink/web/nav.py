"""The staff menu: each domain registers its pages; a page shows only if its route exists and
the account's role holds its permission."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission


@dataclass(frozen=True, slots=True)
class NavItem:
    """A menu entry: `label` is an i18n key."""

    path: str
    label: str
    permission: Permission | None
    order: int = 100


_ITEMS: dict[str, NavItem] = {}


def register_nav(path: str, label: str, permission: Permission | None, *, order: int = 100) -> None:
    """Offer `path` (a GET route without parameters) in the menu to roles holding `permission`
    (None: every logged-in account)."""
    _ITEMS[path] = NavItem(path, label, permission, order)


def get_paths(app: FastAPI) -> frozenset[str]:
    """Paths of the app's parameter-free GET routes (computed once per app)."""
    cached: frozenset[str] | None = getattr(app.state, "get_paths", None)
    if cached is None:
        cached = frozenset(
            str(ctx.path)
            for ctx in iter_route_contexts(app.routes)
            if ctx.path and "{" not in str(ctx.path) and "GET" in (ctx.methods or ())
        )
        app.state.get_paths = cached
    return cached


def items_for(app: FastAPI, principal: Principal | None) -> list[NavItem]:
    """The menu of `principal`: registered pages that exist and that its role may open."""
    if principal is None:
        return []
    paths = get_paths(app)
    return sorted(
        (
            item
            for item in _ITEMS.values()
            if item.path in paths and (item.permission is None or principal.can(item.permission))
        ),
        key=lambda item: (item.order, item.path),
    )

"""The staff menu: each domain declares its pages in a `NAV` table of `NavItem`s, which the app
factory reads for the domains it mounts (`app.state.nav`); a page shows only if its route exists
and the account's role holds its permission."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission


@dataclass(frozen=True, slots=True)
class NavItem:
    """A menu entry: `path` is a GET route without parameters, `label` an i18n key, shown to
    roles holding `permission` (None: every logged-in account). `waiting(session, principal,
    now)`, when given, counts what waits there for the account (shown on its home page), capped
    at `WAITING_CAP`; `now` is the request's instant (the container clock)."""

    path: str
    label: str
    permission: Permission | None
    order: int = 100
    waiting: Callable[[Any, Principal, dt.datetime], int] | None = None


#: Home-page counts stop here ("1.000+"): a count never scans a province's millions of rows.
WAITING_CAP = 1000


def menu(items: Iterable[NavItem]) -> tuple[NavItem, ...]:
    """The menu of an app from its domains' `NAV` tables; two entries for one path is an error."""
    by_path: dict[str, NavItem] = {}
    for item in items:
        if by_path.get(item.path, item) != item:
            raise ValueError(f"menu path {item.path!r} is declared twice")
        by_path[item.path] = item
    return tuple(sorted(by_path.values(), key=lambda item: (item.order, item.path)))


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
    """The menu of `principal`: the app's pages that exist and that its role may open."""
    if principal is None:
        return []
    paths = get_paths(app)
    items: tuple[NavItem, ...] = getattr(app.state, "nav", ())
    return [
        item
        for item in items
        if item.path in paths and (item.permission is None or principal.can(item.permission))
    ]

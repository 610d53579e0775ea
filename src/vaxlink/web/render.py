"""Server-rendered pages: one Jinja2 environment, with language, strings, account and CSRF token.

    from vaxlink.web.render import render
    return render(request, "worklist/list.html", {"rows": rows})

Every template gets `lang`, `other_lang`, `t` (`t("worklist.title")`), `principal` (or None),
`csrf_token`, `nav` (menu items), `unit_label` and `site_labels` (the `site` filter's names:
`{{ d.facility_code|site }}` shows "Name (CODE)"). Staff pages `{% extends "staff/base.html" %}`,
citizen pages `{% extends "public/base.html" %}` (blocks `title` and `content`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.responses import HTMLResponse

from vaxlink.auth.principal import Principal
from vaxlink.facilities.service import SiteLabels
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.web import i18n
from vaxlink.web.nav import items_for

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"


def vn_date(value: object) -> str:
    """A stored date (`YYYY-MM-DD`, or partial `YYYY-MM` / `YYYY`) as Vietnamese write it:
    `DD/MM/YYYY`, `MM/YYYY`, `YYYY` (partial dates stay partial)."""
    text = "" if value is None else str(value)
    parts = text.split("-")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        return "/".join(reversed(parts))
    return text


@pass_context
def site(ctx: Context, code: str | None) -> str:
    """A vaccination site as pages show it: "Name (CODE)", or the bare code the list lacks."""
    labels = ctx.get("site_labels")
    return labels(code) if callable(labels) else (code or "")


@cache
def templates() -> Jinja2Templates:
    """The pages' Jinja2 environment, built on the first page rendered."""
    built = Jinja2Templates(directory=TEMPLATE_DIR)
    built.env.filters["vn_date"] = vn_date
    built.env.filters["site"] = site
    return built


def unit_label(principal: Principal | None) -> str:
    """The name of the account's unit, e.g. "Phường Phúc Xá" (its code if the name is unknown)."""
    if principal is None:
        return ""
    try:
        return UnitIndex.for_version().get(principal.unit).name
    except GeoError:
        return str(principal.unit)


def base_context(request: Request) -> dict[str, Any]:
    """What every page knows: language, strings, account, CSRF token, menu."""
    lang = i18n.language(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "request": request,
        "lang": lang,
        "other_lang": i18n.other(lang),
        "t": i18n.translator(lang),
        "principal": principal,
        "display_name": getattr(request.state, "display_name", None),
        "unit_label": unit_label(principal),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": items_for(request.app, principal),
        "site_labels": SiteLabels(db) if (db := getattr(request.state, "db", None)) else None,
    }


def render(
    request: Request,
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `template_name` rendered with the base context plus `context`."""
    ctx = base_context(request) | dict(context or {})
    return templates().TemplateResponse(
        request, template_name, ctx, status_code=status, headers=dict(headers or {})
    )

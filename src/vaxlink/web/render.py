"""Server-rendered pages: one Jinja2 environment, with language, strings, account and CSRF token.

    from vaxlink.web.render import render
    return render(request, "worklist/list.html", {"rows": rows})

Every template gets `lang`, `other_lang`, `t` (`t("worklist.title")`), `principal` (or None),
`csrf_token`, `nav` (menu items), `unit_label` and `site_labels` (the `site` filter's names:
`{{ d.facility_code|site }}` shows "Name (CODE)"). Staff pages `{% extends "staff/base.html" %}`,
citizen pages `{% extends "public/base.html" %}` (blocks `title` and `content`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from vaxlink.auth.principal import Principal
from vaxlink.facilities.service import SiteLabels
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.web import i18n
from vaxlink.web.nav import items_for

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"
#: The time zone people read times in (stored times are UTC).
LOCAL_ZONE: Final = "Asia/Ho_Chi_Minh"


def vn_date(value: object) -> str:
    """A stored date (`YYYY-MM-DD`, or partial `YYYY-MM` / `YYYY`) as Vietnamese write it:
    `DD/MM/YYYY`, `MM/YYYY`, `YYYY` (partial dates stay partial)."""
    text = "" if value is None else str(value)
    parts = text.split("-")
    if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
        return "/".join(reversed(parts))
    return text


_VI_DIGITS: Final = str.maketrans(",.", ".,")


@cache
def _local_zone() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(LOCAL_ZONE)


def vn_datetime(value: dt.datetime | None, seconds: bool = False) -> str:
    """A stored instant as people in Viet Nam read it: `DD/MM/YYYY HH:MM` in Asia/Ho_Chi_Minh
    (naive values are UTC, as the store keeps them)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_local_zone()).strftime("%d/%m/%Y %H:%M" + (":%S" if seconds else ""))


def day(value: dt.date | dt.datetime | str | None) -> str:
    """A date (or the local day of an instant) as `DD/MM/YYYY`; stored text dates via `vn_date`."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return vn_datetime(value)[:10]
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return vn_date(value)


@pass_context
def number(ctx: Context, value: int | float | None) -> str:
    """A count as the reader writes it: 12.345 in Vietnamese, 12,345 in English."""
    if value is None:
        return ""
    text = f"{value:,}"
    return text.translate(_VI_DIGITS) if ctx.get("lang", i18n.DEFAULT) == "vi" else text


@pass_context
def percent(ctx: Context, share: float | None, digits: int = 1) -> str:
    """A share (0.975) as the reader writes it: 97,5 % in Vietnamese, 97.5% in English."""
    from vaxlink import numbers

    return numbers.percent(share, ctx.get("lang", i18n.DEFAULT), digits)


def data(value: object) -> Markup:
    """`value` marked as data, not interface text (`translate="no"`): names, places, codes."""
    text = "" if value is None else value
    return Markup('<span translate="no">{}</span>').format(escape(text))


def commands(text: object) -> Markup:
    """Text whose `backquoted` parts are commands to type: those shown as code, not translated."""
    parts = str(text).split("`")
    return Markup("").join(
        Markup('<code translate="no">{}</code>').format(p) if i % 2 else escape(p)
        for i, p in enumerate(parts)
    )


@pass_context
def coded(ctx: Context, prefix: str, value: object) -> Markup:
    """A stored code as the reader's words: each `;`-joined code by its text `prefix + code`,
    one the catalogue does not know shown as it is, marked as data (`coded("linkage.reason.",
    "dob_differs;name_differs")`)."""
    lang = ctx.get("lang", i18n.DEFAULT)
    parts = [p.strip() for p in str(value or "").split(";") if p.strip()]
    return Markup("; ").join(
        escape(i18n.translate(lang, prefix + p)) if i18n.has(lang, prefix + p) else data(p)
        for p in parts
    )


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
    built.env.filters["vn_datetime"] = vn_datetime
    built.env.filters["day"] = day
    built.env.filters["number"] = number
    built.env.filters["percent"] = percent
    built.env.filters["data"] = data
    built.env.globals["coded"] = coded
    built.env.filters["commands"] = commands
    return built


def unit_label(principal: Principal | None) -> str:
    """The name of the account's unit, e.g. "Phường Phúc Xá" (its code if the name is unknown)."""
    if principal is None:
        return ""
    try:
        return UnitIndex.for_version().get(principal.unit).name
    except GeoError:
        return str(principal.unit)


def switch_url(request: Request, lang: str) -> str:
    """This page in `lang`: the same path and query (filters, page), only `lang` changed. A page
    answering a form (POST) switches on the nearest page above the form's address that a GET
    opens (`/worklist/doses/7/decision` -> `/worklist/doses/7`): the form's own address would
    refuse a GET (pages send no Referer, so the page the form was on is not known otherwise)."""
    from urllib.parse import urlencode

    path = request.url.path
    if request.method not in ("GET", "HEAD"):
        path = _page_above(request, path)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{path}?{urlencode([*kept, ('lang', lang)])}"


def _page_above(request: Request, path: str) -> str:
    """`path`, or the nearest of its parents, that a GET route of the app serves (else "/")."""
    from starlette.routing import Match

    routes = getattr(request.app, "routes", ())
    while path not in ("", "/"):
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            return path
        path = path.rsplit("/", 1)[0]
    return "/"


def base_context(request: Request) -> dict[str, Any]:
    """What every page knows: language, strings, account, CSRF token, menu."""
    lang = i18n.language(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "request": request,
        "lang": lang,
        "other_lang": i18n.other(lang),
        "switch_url": switch_url(request, i18n.other(lang)),
        "t": i18n.translator(lang),
        "principal": principal,
        "display_name": getattr(request.state, "display_name", None),
        "unit_label": unit_label(principal),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": items_for(request.app, principal),
        "site_labels": SiteLabels(db) if (db := getattr(request.state, "db", None)) else None,
        "error_text": lambda exc: i18n.error_text(lang, exc),
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

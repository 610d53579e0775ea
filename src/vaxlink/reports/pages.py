"""Dashboard and daily-report pages. Every route asks for its permission and checks that the unit
asked for lies inside the account's own unit (a refusal is audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from vaxlink import numbers
from vaxlink.auth.deps import ensure_in_scope, require
from vaxlink.auth.service import Permission, Principal
from vaxlink.compose import Container
from vaxlink.geo.codes import NATION, UnitKey
from vaxlink.reports import service
from vaxlink.reports.service import (
    TABLE_COLUMNS,
    VN_TZ,
    DailyReport,
    Figures,
    Row,
    charts,
    phases,
)
from vaxlink.settings import Settings
from vaxlink.web.deps import container as app_container
from vaxlink.web.deps import now as request_now
from vaxlink.web.deps import session as db_session
from vaxlink.web.deps import settings as app_settings
from vaxlink.web.i18n import language, translate
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

router = APIRouter(tags=["reports"])
NAV: Final = (
    NavItem("/dashboard", "reports.dashboard", Permission.DASHBOARD_VIEW, order=60),
    NavItem("/reports", "reports.reports", Permission.REPORT_VIEW, order=61),
)

Dashboard = Annotated[Principal, Depends(require(Permission.DASHBOARD_VIEW))]
Reports = Annotated[Principal, Depends(require(Permission.REPORT_VIEW))]
Db = Annotated[Session, Depends(db_session, scope="function")]
App = Annotated[Container, Depends(app_container)]
Now = Annotated[dt.datetime, Depends(request_now)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Sites listed on the page (lowest share verified first when there are more).
SITES_SHOWN = 50


def _unit(session: Session, principal: Principal, ref: str | None, now: dt.datetime) -> UnitKey:
    """The unit asked for (default: the account's own), refused when outside the account."""
    key = principal.unit if not ref else service.parse_unit(ref)
    if key == NATION:
        if principal.unit != NATION:
            ensure_in_scope(session, principal, province=None, object_type="dashboard_unit",
                            object_id=str(key), now=now)  # fmt: skip
        return key
    ensure_in_scope(session, principal, **service.unit_codes(key), object_type="dashboard_unit",
                    object_id=str(key), now=now)  # fmt: skip
    return key


def _day(session: Session, asked: dt.date | None, now: dt.datetime) -> dt.date:
    """The day shown (see `service.day_shown`) at the request's time `now`."""
    return service.day_shown(session, asked, now=now)


def pending(session: Session, app: Container, day: dt.date, lang: str) -> str | None:
    """The notice a page shows when `day` has no figures yet: how often they are computed and
    when they last were (None when the day has figures)."""
    if service.computed_at(session, day) is not None:
        return None
    return _refresh_notice(session, app, lang, "reports.pending")


def _refresh_notice(session: Session, app: Container, lang: str, key: str) -> str:
    last = service.last_refresh(session)
    when = (
        translate(lang, "reports.never_run")
        if last is None
        else f"{last.astimezone(VN_TZ):%H:%M %d/%m/%Y} (UTC+7)"
    )
    return translate(lang, key, minutes=app.report_settings.refresh_minutes, last=when)


def fmt(v: object, column: str, lang: str) -> str:
    """A figure as people read it: 1.234.567 and 97,5 % in Vietnamese, 1,234,567 and 97.5% in
    English (`vaxlink.numbers`, as in the daily report)."""
    if column == "linked_share" and isinstance(v, float):
        return numbers.percent(v, lang)
    return numbers.count(v if isinstance(v, int | float) else None, lang)


#: The longest period the trend chart shows (the series keeps this many days).
MAX_PERIOD_DAYS: Final = 366


@dataclass(frozen=True)
class Period:
    """The dashboard's period: what was chosen, its first and last day, and the link query that
    keeps it when drilling down."""

    choice: str
    start: dt.date
    end: dt.date
    query: str
    error: str | None = None
    typed_from: str = ""
    typed_to: str = ""


def _vn_day(text: str) -> dt.date | None:
    """dd/mm/yyyy (also d/m/yyyy, '-' or '.' between), or yyyy-mm-dd; None if not a date."""
    raw = text.strip()
    try:
        if len(raw) == 10 and raw[4] == "-":
            return dt.date.fromisoformat(raw)
        parts = raw.replace("-", "/").replace(".", "/").split("/")
        if len(parts) == 3 and all(x.isdigit() for x in parts) and len(parts[2]) == 4:
            return dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None
    return None


def period_of(
    session: Session, key: UnitKey, end: dt.date, lang: str, choice: str | None,
    typed_from: str = "", typed_to: str = "",
) -> Period:  # fmt: skip
    """The period asked for (last 7 or 30 days up to `end`, a campaign phase of the unit so far,
    or typed dates); a wrong choice falls back to the last 7 days with the reason."""

    def last(days: int, error: str | None = None) -> Period:
        return Period(str(days), end - dt.timedelta(days=days - 1), end,
                      f"&period={days}", error, typed_from, typed_to)  # fmt: skip

    asked = (choice or "7").strip()
    if asked in ("7", "30"):
        return last(int(asked))
    if asked.startswith("phase-") and asked[6:].isdigit():
        for phase in phases.applying(session, key, end):
            if phase.id == int(asked[6:]):
                last_day = min(phase.deadline, end)
                return Period(asked, min(phase.starts_on, last_day), last_day, f"&period={asked}")
        return last(7)
    if asked != "custom":
        return last(7)
    start: dt.date | None = _vn_day(typed_from)
    stop: dt.date | None = _vn_day(typed_to) if typed_to.strip() else end
    if start is None or stop is None:
        value = typed_from if start is None else typed_to
        return last(7, translate(lang, "reports.period.bad_date", value=value.strip()[:20]))
    if start > stop:
        return last(7, translate(lang, "reports.period.reversed", start=f"{start:%d/%m/%Y}",
                                 end=f"{stop:%d/%m/%Y}"))  # fmt: skip
    if (stop - start).days >= MAX_PERIOD_DAYS:
        return last(7, translate(lang, "reports.period.too_long", days=MAX_PERIOD_DAYS))
    query = "&" + urlencode({"period": "custom", "from": f"{start:%d/%m/%Y}",
                             "to": f"{stop:%d/%m/%Y}"})  # fmt: skip
    return Period("custom", start, stop, query, None, f"{start:%d/%m/%Y}", f"{stop:%d/%m/%Y}")


def trend_days(session: Session, key: UnitKey, period: Period) -> list[charts.TrendDay]:
    """Doses verified as entered and corrected-and-linked on each computed day of the period:
    the change of the stored end-of-day figures from the computed day before."""
    span = (period.end - period.start).days + 2
    rows = service.series(session, key, until=period.end, days=span)
    out: list[charts.TrendDay] = []
    before: Figures | None = None
    for day, f in rows:
        if day >= period.start:
            v0 = before["doses_verified"] if before else 0
            c0 = before["doses_auto_linked"] if before else 0
            out.append(charts.TrendDay(day, f["doses_verified"] - v0, f["doses_auto_linked"] - c0))
        before = f
    return out


def _trend_svg(days: list[charts.TrendDay], lang: str) -> Markup:
    svg = charts.trend(days, lang, title=translate(lang, "reports.trend"),
                       verified_label=translate(lang, "reports.trend.verified"),
                       corrected_label=translate(lang, "reports.trend.corrected"))  # fmt: skip
    return Markup(svg)  # noqa: S704 - built by vaxlink.reports.charts, every text escaped


def _row_json(r: Row) -> dict[str, Any]:
    return {"key": r.key, "label": r.label, **r.figures.as_dict()}


def _panel(
    session: Session, key: UnitKey, day: dt.date, lang: str, period: Period | None = None
) -> dict[str, Any]:
    period = period or period_of(session, key, day, lang, None)
    figures = service.unit_figures(session, day, key)
    below = service.children(session, day, key)
    all_sites = service.sites(session, day, key)
    # On a phone and at national scale, the sites needing attention first; the export has all.
    sites = service.worst(all_sites, SITES_SHOWN) if len(all_sites) > SITES_SHOWN else all_sites
    moment = service.computed_at(session, day)
    unit = service.view(key)

    def cells(f: Figures) -> list[str]:
        data = f.as_dict()
        return [fmt(data[c], c, lang) for c in TABLE_COLUMNS]

    return {
        "unit": unit,
        "day": day,
        "computed_at": moment.astimezone(VN_TZ) if moment else None,
        "figures": figures,
        "headline": [(c, fmt(figures.as_dict()[c], c, lang)) for c in (
            "doses_recorded", "doses_sent", "doses_linked", "doses_wrong", "linked_share",
            "people_verified", "certificates_issued", "tickets_open", "tickets_overdue")],
        "sent": fmt(figures["doses_sent"], "", lang),
        "linked": fmt(figures.linked, "", lang),
        "wrong": fmt(figures.wrong, "", lang),
        "columns": TABLE_COLUMNS,
        "below": [(r, cells(r.figures)) for r in below],
        "total": cells(figures),
        "sites": [(r, cells(r.figures)) for r in sites],
        "sites_total": len(all_sites),
        "child_level": service.child_level(key.level),
        "parent": unit.path[-2][0] if len(unit.path) > 1 else None,
        # The campaign's phases measured on the figures just read (no second read).
        "phases": phases.progress(session, key, day, figures),
        "period": period,
        "period_phases": phases.applying(session, key, day),
        "trend_svg": _trend_svg(trend_days(session, key, period), lang),
        "share_level": charts.level_name(figures.linked_share),
    }  # fmt: skip


def _period_panel(
    session: Session, key: UnitKey, now: dt.datetime, lang: str, day: dt.date | None,
    choice: str | None, typed_from: str, typed_to: str,
) -> dict[str, Any]:  # fmt: skip
    """The panel for the period asked: typed dates end on their last day, the others on `day`."""
    end_asked = _vn_day(typed_to) if choice == "custom" and typed_to.strip() else None
    shown = _day(session, end_asked or day, now)
    period = period_of(session, key, shown, lang, choice, typed_from, typed_to)
    if period.end != shown:  # a phase over before the day shown: its figures as of its end
        shown = _day(session, period.end, now)
    return _panel(session, key, shown, lang, period)


@router.get("/dashboard", include_in_schema=False)
def dashboard(
    request: Request, principal: Dashboard, session: Db, app: App, now: Now,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
) -> Response:  # fmt: skip
    """The dashboard of a unit: headline, period, charts, and the table one level down."""
    key = _unit(session, principal, unit, now)
    ctx = _period_panel(session, key, now, language(request), day, period, start, end)
    ctx["top"] = principal.unit
    ctx["pending"] = pending(session, app, ctx["day"], language(request))
    return render(request, "reports/dashboard.html", ctx)


@router.get("/dashboard/panel", include_in_schema=False)
def dashboard_panel(
    request: Request, principal: Dashboard, session: Db, app: App, now: Now,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
) -> Response:  # fmt: skip
    """The dashboard's body for another unit (htmx drill-down)."""
    key = _unit(session, principal, unit, now)
    ctx = _period_panel(session, key, now, language(request), day, period, start, end)
    ctx["top"] = principal.unit
    ctx["pending"] = pending(session, app, ctx["day"], language(request))
    return render(request, "reports/_panel.html", ctx)


@router.get("/dashboard/data")
def dashboard_data(
    principal: Dashboard, session: Db, now: Now,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    with_sites: Annotated[bool, Query(alias="sites")] = False,
    since: Annotated[dt.date | None, Query()] = None,
) -> JSONResponse:  # fmt: skip
    """The figures of a unit as JSON: headline, units below, history and worst units (and its
    sites with `?sites=1`)."""
    key = _unit(session, principal, unit, now)
    shown = _day(session, day, now)
    figures = service.unit_figures(session, shown, key)
    below = service.children(session, shown, key)
    moment = service.computed_at(session, shown)
    return JSONResponse({
        "unit": {"key": str(key), "level": key.level.value, "code": key.code,
                 "name": service.unit_name(key)},
        "day": shown.isoformat(),
        "computed_at": moment.isoformat() if moment else None,
        "headline": {"sent": figures["doses_sent"], "verified": figures.linked,
                     "wrong": figures.wrong},
        "figures": figures.as_dict(),
        "below": [_row_json(r) for r in below],
        "sites": [_row_json(r) for r in service.sites(session, shown, key)] if with_sites else None,
        "series": [{"day": d.isoformat(), **f.as_dict()}
                   for d, f in service.series(session, key, until=shown)
                   if since is None or d >= since],
        "worst": [_row_json(r) for r in service.worst([r for r in below if r.drill])],
    })  # fmt: skip


@router.get("/dashboard/export.xlsx", include_in_schema=False)
def dashboard_export(
    principal: Dashboard, session: Db, now: Now,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    table: Annotated[str, Query(pattern="^(below|sites)$")] = "below",
) -> Response:  # fmt: skip
    """One of the dashboard's tables as an XLSX file."""
    key = _unit(session, principal, unit, now)
    shown = _day(session, day, now)
    if table == "sites":
        rows, total, sites = service.sites(session, shown, key), None, True
    else:
        rows = service.children(session, shown, key)
        total, sites = service.unit_figures(session, shown, key), False
    content = service.table_xlsx(f"{key.level.value} {key.code}", rows, total, sites=sites)
    name = f"vaxlink-{shown.isoformat()}-{key.level.value}-{key.code}-{table}.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/reports", include_in_schema=False)
def reports_list(request: Request, principal: Reports, session: Db, app: App) -> Response:
    """The stored daily reports of the account's unit and the units below it, newest first."""
    rows = service.visible_reports(session, principal.scope_filter)
    notice = (
        None if rows else _refresh_notice(session, app, language(request), "reports.no_reports")
    )
    return render(request, "reports/list.html", {"reports": rows, "pending": notice})


@router.get("/reports/{report_id}/{kind}", include_in_schema=False)
def report_file(
    report_id: int, kind: str, principal: Reports, session: Db, now: Now,
    settings: Annotated[Settings, Depends(app_settings)],
) -> Response:  # fmt: skip
    """One stored report's XLSX or PDF."""

    def in_scope(report: DailyReport) -> None:
        ensure_in_scope(session, principal, province=report.province_code or None,
                        district=report.district_code or None, ward=report.ward_code or None,
                        object_type="daily_report", object_id=report.id, now=now)  # fmt: skip

    path = service.report_file(session, settings.data_dir, report_id, kind, check=in_scope)
    media = XLSX if kind == "xlsx" else "application/pdf"
    return Response(path.read_bytes(), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{path.name}"'})  # fmt: skip

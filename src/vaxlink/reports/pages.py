"""Dashboard and daily-report pages. Every route asks for its permission and checks that the unit
asked for lies inside the account's own unit (a refusal is audited)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.auth.deps import ensure_in_scope, require
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Permission
from vaxlink.geo.codes import NATION, Level, UnitKey
from vaxlink.reports import daily, query
from vaxlink.reports.errors import ReportNotFound
from vaxlink.reports.figures import VN_TZ, local_day, refresh_day
from vaxlink.reports.labels import TABLE_COLUMNS, register_i18n
from vaxlink.reports.models import DailyReport
from vaxlink.reports.query import Figures, Row
from vaxlink.reports.service import get, parse_unit
from vaxlink.settings import Settings
from vaxlink.web.deps import session as db_session
from vaxlink.web.deps import settings as app_settings
from vaxlink.web.i18n import language
from vaxlink.web.nav import register_nav
from vaxlink.web.render import render

router = APIRouter(tags=["reports"])
register_i18n()
register_nav("/dashboard", "reports.dashboard", Permission.DASHBOARD_VIEW, order=60)
register_nav("/reports", "reports.reports", Permission.REPORT_VIEW, order=61)

Dashboard = Annotated[Principal, Depends(require(Permission.DASHBOARD_VIEW))]
Reports = Annotated[Principal, Depends(require(Permission.REPORT_VIEW))]
Db = Annotated[Session, Depends(db_session, scope="function")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Sites listed on the page (lowest share verified first when there are more).
SITES_SHOWN = 50


def _codes(key: UnitKey) -> dict[str, str | None]:
    codes: dict[Level, str] = {k.level: k.code for k, _n in query.view(key).path}
    return {"province": codes.get(Level.PROVINCE), "district": codes.get(Level.DISTRICT),
            "ward": codes.get(Level.WARD)}  # fmt: skip


def _unit(session: Session, principal: Principal, ref: str | None) -> UnitKey:
    """The unit asked for (default: the account's own), refused when outside the account."""
    key = principal.unit if not ref else parse_unit(ref)
    if key == NATION:
        if principal.unit != NATION:
            ensure_in_scope(session, principal, province=None, object_type="dashboard_unit",
                            object_id=str(key))  # fmt: skip
        return key
    ensure_in_scope(session, principal, **_codes(key), object_type="dashboard_unit",
                    object_id=str(key))  # fmt: skip
    return key


def _day(session: Session, asked: dt.date | None) -> dt.date:
    """The day shown: the one asked for, else the latest with figures (today's computed on first
    use of an empty store)."""
    if asked is not None:
        return asked
    latest = query.latest_day(session)
    if latest is not None:
        return latest
    now = dt.datetime.now(dt.UTC)
    refresh_day(session, local_day(now), now=now)
    return local_day(now)


def fmt(v: object, column: str, lang: str) -> str:
    """A figure as people read it: 1.234.567 in Vietnamese, 1,234,567 in English."""
    if v is None:
        return "–"
    if column == "linked_share" and isinstance(v, float):
        text = f"{v * 100:.1f}%"
        return text.replace(".", ",") if lang == "vi" else text
    text = f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _row_json(r: Row) -> dict[str, Any]:
    return {"key": r.key, "label": r.label, **r.figures.as_dict()}


def _panel(session: Session, key: UnitKey, day: dt.date, lang: str) -> dict[str, Any]:
    figures = query.unit_figures(session, day, key)
    below = query.children(session, day, key)
    all_sites = query.sites(session, day, key)
    # On a phone and at national scale, the sites needing attention first; the export has all.
    sites = query.worst(all_sites, SITES_SHOWN) if len(all_sites) > SITES_SHOWN else all_sites
    moment = query.computed_at(session, day)
    unit = query.view(key)

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
        "child_level": query.child_level(key.level),
        "parent": unit.path[-2][0] if len(unit.path) > 1 else None,
    }  # fmt: skip


@router.get("/dashboard", include_in_schema=False)
def dashboard(
    request: Request, principal: Dashboard, session: Db,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
) -> Response:  # fmt: skip
    """The dashboard of a unit: headline, charts, and the table one level down."""
    key = _unit(session, principal, unit)
    shown = _day(session, day)
    ctx = _panel(session, key, shown, language(request))
    ctx["top"] = principal.unit
    return render(request, "reports/dashboard.html", ctx)


@router.get("/dashboard/panel", include_in_schema=False)
def dashboard_panel(
    request: Request, principal: Dashboard, session: Db,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
) -> Response:  # fmt: skip
    """The dashboard's body for another unit (htmx drill-down)."""
    key = _unit(session, principal, unit)
    ctx = _panel(session, key, _day(session, day), language(request))
    ctx["top"] = principal.unit
    return render(request, "reports/_panel.html", ctx)


@router.get("/dashboard/data")
def dashboard_data(
    principal: Dashboard, session: Db,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    with_sites: Annotated[bool, Query(alias="sites")] = False,
) -> JSONResponse:  # fmt: skip
    """The figures of a unit as JSON: headline, units below, history and worst units (and its
    sites with `?sites=1`)."""
    key = _unit(session, principal, unit)
    shown = _day(session, day)
    figures = query.unit_figures(session, shown, key)
    below = query.children(session, shown, key)
    moment = query.computed_at(session, shown)
    return JSONResponse({
        "unit": {"key": str(key), "level": key.level.value, "code": key.code,
                 "name": query.unit_name(key)},
        "day": shown.isoformat(),
        "computed_at": moment.isoformat() if moment else None,
        "headline": {"sent": figures["doses_sent"], "verified": figures.linked,
                     "wrong": figures.wrong},
        "figures": figures.as_dict(),
        "below": [_row_json(r) for r in below],
        "sites": [_row_json(r) for r in query.sites(session, shown, key)] if with_sites else None,
        "series": [{"day": d.isoformat(), **f.as_dict()}
                   for d, f in query.series(session, key, until=shown)],
        "worst": [_row_json(r) for r in query.worst([r for r in below if r.drill])],
    })  # fmt: skip


@router.get("/dashboard/export.xlsx", include_in_schema=False)
def dashboard_export(
    principal: Dashboard, session: Db,
    unit: Annotated[str | None, Query()] = None, day: Annotated[dt.date | None, Query()] = None,
    table: Annotated[str, Query(pattern="^(below|sites)$")] = "below",
) -> Response:  # fmt: skip
    """One of the dashboard's tables as an XLSX file."""
    key = _unit(session, principal, unit)
    shown = _day(session, day)
    if table == "sites":
        rows, total, sites = query.sites(session, shown, key), None, True
    else:
        rows, total = query.children(session, shown, key), query.unit_figures(session, shown, key)
        sites = False
    wb = daily.table_workbook(f"{key.level.value} {key.code}", rows, total, sites=sites)
    buf = io.BytesIO()
    wb.save(buf)
    name = f"vaxlink-{shown.isoformat()}-{key.level.value}-{key.code}-{table}.xlsx"
    return Response(buf.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/reports", include_in_schema=False)
def reports_list(request: Request, principal: Reports, session: Db) -> Response:
    """The stored daily reports of the account's unit and the units below it, newest first."""
    cols = DailyReport.__table__.c
    stmt = (
        select(DailyReport)
        .where(principal.scope_filter(cols.province_code, cols.district_code, cols.ward_code))
        .order_by(DailyReport.day.desc(), DailyReport.level, DailyReport.unit_code)
        .limit(500)
    )
    rows = [(r, query.unit_name(UnitKey(Level(r.level), r.unit_code)))
            for r in session.scalars(stmt)]  # fmt: skip
    return render(request, "reports/list.html", {"reports": rows})


@router.get("/reports/{report_id}/{kind}", include_in_schema=False)
def report_file(
    report_id: int, kind: str, principal: Reports, session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
) -> Response:  # fmt: skip
    """One stored report's XLSX or PDF."""
    if kind not in ("xlsx", "pdf"):
        raise ReportNotFound("a report is available as xlsx or pdf")
    report = get(session, report_id)
    ensure_in_scope(session, principal, province=report.province_code or None,
                    district=report.district_code or None, ward=report.ward_code or None,
                    object_type="daily_report", object_id=report.id)  # fmt: skip
    rel = report.xlsx_path if kind == "xlsx" else report.pdf_path
    path = Path(settings.data_dir) / rel
    if not path.is_file():
        raise ReportNotFound(f"the file of report {report_id} is missing on the server")
    media = XLSX if kind == "xlsx" else "application/pdf"
    return Response(path.read_bytes(), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{path.name}"'})  # fmt: skip

"""The daily report of one unit: its figures, the units one level down and its sites, as XLSX
(openpyxl) and PDF (`vaxlink.pdf`: WeasyPrint, Noto Sans), bilingual. The same stored figures give the same bytes:
workbook dates and zip entry times are fixed, and a final day's report carries no clock time.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from vaxlink import numbers
from vaxlink.geo.codes import UnitKey
from vaxlink.pdf import find_fonts, render_pdf, templates
from vaxlink.reports import charts, query
from vaxlink.reports.errors import ReportRenderError
from vaxlink.reports.figures import VN_TZ, end_of_day
from vaxlink.reports.labels import TABLE_COLUMNS, current, sheet_name
from vaxlink.reports.query import Figures, Row, UnitView
from vaxlink.tabular import new_workbook, put

TEMPLATES = Path(__file__).parent / "templates"
_BOLD = Font(bold=True)
_HEAD = PatternFill("solid", fgColor="DCE6F1")
#: Zip entries and workbook properties carry this instant, so equal content gives equal bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
Cell = str | int | float | None


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows."""

    unit: UnitView
    day: dt.date
    final: bool
    computed_at: dt.datetime | None
    figures: Figures
    below: list[Row]
    sites: list[Row]


def collect(session: Session, key: UnitKey, day: dt.date) -> ReportData:
    """The report's content from the stored figures of `day`."""
    moment = query.computed_at(session, day)
    final = moment is not None and moment >= end_of_day(day)
    return ReportData(
        unit=query.view(key),
        day=day,
        final=final,
        computed_at=moment,
        figures=query.unit_figures(session, day, key),
        below=query.children(session, day, key),
        sites=query.sites(session, day, key),
    )


def value(figures: Figures, column: str) -> int | float | None:
    """One cell: a count, the share linked (0..1) or the median hours."""
    data = figures.as_dict()
    return data[column]  # type: ignore[no-any-return]


def as_of(data: ReportData) -> tuple[str, str]:
    """When the figures stand, in both languages."""
    TEXT, _m, _l = current()  # noqa: N806 - the catalogue's table, named as in labels
    if data.final or data.computed_at is None:
        return (TEXT["as_of_end"][0].format(day=f"{data.day:%d/%m/%Y}"),
                TEXT["as_of_end"][1].format(day=data.day.isoformat()))  # fmt: skip
    local = data.computed_at.astimezone(VN_TZ)
    return (TEXT["as_of_time"][0].format(time=f"{local:%H:%M %d/%m/%Y}"),
            TEXT["as_of_time"][1].format(time=f"{local:%Y-%m-%d %H:%M}"))  # fmt: skip


def _label(row: Row, sites: bool) -> str:
    if row.label:
        return row.label
    return current()[0]["no_site" if sites else "not_given"][0]


def table_rows(rows: list[Row], total: Figures | None, *, sites: bool) -> list[list[Cell]]:
    """A table as cells: code, name, then one cell per column; a total line when given."""
    out: list[list[Cell]] = []
    for r in rows:
        code = r.key.split(":", 1)[1] if ":" in r.key else ""
        out.append([code, _label(r, sites), *(value(r.figures, c) for c in TABLE_COLUMNS)])
    if total is not None:
        out.append(["", current()[0]["total"][0], *(value(total, c) for c in TABLE_COLUMNS)])
    return out


def _header(ws: Worksheet, row: int, first: tuple[str, str]) -> None:
    TEXT, METRICS, _l = current()  # noqa: N806
    names = [first[0], TEXT["unit"][0], *(METRICS[c][0] for c in TABLE_COLUMNS)]
    english = [first[1], TEXT["unit"][1], *(METRICS[c][1] for c in TABLE_COLUMNS)]
    for col, (vi, en) in enumerate(zip(names, english, strict=True), start=1):
        cell = put(ws, row, col, f"{vi}\n{en}")
        cell.font, cell.fill = _BOLD, _HEAD
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _table(ws: Worksheet, cells: list[list[Cell]], first: tuple[str, str]) -> None:
    _header(ws, 1, first)
    for r, line in enumerate(cells, start=2):
        for c, v in enumerate(line, start=1):
            cell = put(ws, r, c, v)
            column = TABLE_COLUMNS[c - 3] if c > 2 else None
            if column == "linked_share":
                cell.number_format = "0.0%"
            elif column is not None:
                cell.number_format = "#,##0" if isinstance(v, int) else "0.0"
    ws.freeze_panes = "C2"
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 32
    for c in range(3, len(TABLE_COLUMNS) + 3):
        ws.column_dimensions[get_column_letter(c)].width = 14


def workbook(data: ReportData) -> Workbook:
    """The report as an openpyxl workbook: summary, units below, sites."""
    TEXT, METRICS, LEVELS = current()  # noqa: N806
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_name("summary")
    put(ws, 1, 1, f"{TEXT['title'][0]} / {TEXT['title'][1]}").font = Font(bold=True, size=14)
    level = LEVELS[data.unit.key.level.value]
    put(ws, 2, 1, f"{TEXT['unit'][0]} / {TEXT['unit'][1]}")
    put(ws, 2, 2, f"{data.unit.name} ({level[0]} {data.unit.key.code})")
    put(ws, 3, 1, f"{TEXT['day'][0]} / {TEXT['day'][1]}")
    put(ws, 3, 2, data.day).number_format = "dd/mm/yyyy"
    vi, en = as_of(data)
    put(ws, 4, 1, vi)
    put(ws, 4, 2, en)
    f = data.figures
    line = TEXT["sent_line"][0].format(sent=f"{f['doses_sent']:,}", linked=f"{f.linked:,}",
                                       wrong=f"{f.wrong:,}")  # fmt: skip
    put(ws, 5, 1, line).font = _BOLD
    for col, head in enumerate((TEXT["figure"], TEXT["in_english"], TEXT["value"]), start=1):
        cell = put(ws, 7, col, head[0])
        cell.font, cell.fill = _BOLD, _HEAD
    for r, column in enumerate(TABLE_COLUMNS, start=8):
        put(ws, r, 1, METRICS[column][0])
        put(ws, r, 2, METRICS[column][1])
        cell = put(ws, r, 3, value(f, column))
        cell.number_format = "0.0%" if column == "linked_share" else "#,##0.##"
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 16
    if data.below:
        _table(wb.create_sheet(sheet_name("below")), table_rows(data.below, f, sites=False),
               (TEXT["level"][0], TEXT["code"][1]))  # fmt: skip
    if data.sites:
        _table(wb.create_sheet(sheet_name("sites")), table_rows(data.sites, None, sites=True),
               (LEVELS["site"][0], TEXT["code"][1]))  # fmt: skip
    return wb


def table_workbook(title: str, rows: list[Row], total: Figures | None, *, sites: bool) -> Workbook:
    """One table (a dashboard export) as a workbook."""
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = re.sub(r"[^A-Za-z0-9 ]", "", title)[:31] or sheet_name("table")
    text, _m, levels = current()
    first = (levels["site"][0], text["code"][1]) if sites else text["code"]
    _table(ws, table_rows(rows, total, sites=sites), first)
    return wb


def xlsx_bytes(wb: Workbook, day: dt.date) -> bytes:
    """The workbook's bytes, made reproducible: fixed dates in the properties and the zip."""
    stamp = dt.datetime.combine(day, dt.time())
    wb.properties.created = stamp
    wb.properties.creator = "vaxlink"
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue(), stamp)


def _normalise_zip(data: bytes, stamp: dt.datetime) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + iso.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _fmt(v: object, column: str) -> str:
    """A figure as the (Vietnamese-first) report writes it: 1.234.567, 12,5, 97,5 %."""
    if column == "linked_share" and isinstance(v, float):
        return numbers.percent(v, "vi")
    return numbers.count(v if isinstance(v, int | float) else None, "vi")


#: Units drawn in the report's chart (the lowest shares first when there are more).
CHART_ROWS = 40


def _progress_chart(rows: list[Row]) -> Markup | None:
    """The share verified of each unit one level down as coloured bars (inline SVG), or None
    when there is no unit below with doses sent."""
    measured = [r for r in rows if r.figures.linked_share is not None]
    if not measured:
        return None
    if len(measured) > CHART_ROWS:
        measured = sorted(measured, key=lambda r: r.figures.linked_share or 0.0)[:CHART_ROWS]
    bars = [(_label(r, False), r.figures.linked_share) for r in measured]
    svg = charts.share_bars(bars, "vi", title=current()[0]["chart.by_unit"][0])
    return Markup(svg)  # noqa: S704 - built by vaxlink.reports.charts, every text escaped


def render_html(data: ReportData, *, font_dir: Path | None = None) -> str:
    """The report as a standalone HTML page for `vaxlink.pdf` (fonts by file URL)."""
    fonts = find_fonts(font_dir, error=ReportRenderError)
    TEXT, METRICS, LEVELS = current()  # noqa: N806
    vi, en = as_of(data)
    f = data.figures
    headline = [(METRICS[c][0], METRICS[c][1], _fmt(value(f, c), c)) for c in TABLE_COLUMNS]
    short = ("doses_recorded", "doses_sent", "doses_linked", "doses_wrong", "linked_share",
             "people_verified", "certificates_issued", "tickets_open")  # fmt: skip

    def lines(rows: list[Row], sites: bool) -> list[list[str]]:
        return [[_label(r, sites), *(_fmt(value(r.figures, c), c) for c in short)] for r in rows]

    return (
        templates(TEMPLATES)
        .get_template("daily_report.html.j2")
        .render(
            title=TEXT["title"],
            unit=data.unit,
            level=LEVELS[data.unit.key.level.value],
            day=f"{data.day:%d/%m/%Y}",
            as_of=(vi, en),
            sent_line=TEXT["sent_line"][0].format(
                sent=_fmt(f["doses_sent"], ""), linked=_fmt(f.linked, ""), wrong=_fmt(f.wrong, "")
            ),
            headline=headline,
            columns=[METRICS[c] for c in short],
            below=lines(data.below, False),
            chart=_progress_chart(data.below),
            sites=lines(data.sites[:200], True),
            sites_more=max(0, len(data.sites) - 200),
            text=TEXT,
            fonts=fonts.urls(),
        )
    )


def pdf_bytes(data: ReportData, *, font_dir: Path | None = None) -> bytes:
    """The report as PDF bytes (A4 landscape, fonts embedded)."""
    html = render_html(data, font_dir=font_dir)
    fonts = find_fonts(font_dir, error=ReportRenderError)
    return render_pdf(html, base_dir=TEMPLATES, fonts=fonts, error=ReportRenderError)

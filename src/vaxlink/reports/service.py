"""The reports domain's front door: progress figures, dashboards' data and daily reports.

Make a report (XLSX + PDF under the data directory, one row in `report_daily`), list the ones a
person may see, mail them, run what the schedule says is due; read a unit's figures, the units
below it, its sites and its history. Other domains and the web and CLI edges call only this
module (it re-exports the figures' types and labels they show).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.db import transaction
from vaxlink.files import private_dir, write_private
from vaxlink.geo.codes import NATION, Level, UnitKey, unit_key
from vaxlink.geo.errors import GeoError
from vaxlink.reports import charts, daily, labels, phases, query
from vaxlink.reports.background import PeriodicRefresh
from vaxlink.reports.config import ReportSettings, SmtpSettings
from vaxlink.reports.errors import MailError, ReportError, ReportNotFound, UnknownUnit
from vaxlink.reports.figures import (
    VN_TZ,
    RefreshResult,
    computed_days,
    local_day,
    q,
    refresh_day,
    refresh_due,
)
from vaxlink.reports.labels import METRICS, TABLE_COLUMNS
from vaxlink.reports.models import DailyReport
from vaxlink.reports.query import (
    Figures,
    Row,
    UnitView,
    child_level,
    children,
    computed_at,
    latest_day,
    series,
    sites,
    unit_figures,
    unit_name,
    view,
    worst,
)
from vaxlink.reports.refresh import DayRun, RefreshRun, refresh
from vaxlink.reports.schedule import Due, due_reports
from vaxlink.reports.smtp import Attachment, Mailer, mailer_from

__all__ = [
    "METRICS",
    "TABLE_COLUMNS",
    "VN_TZ",
    "DailyReport",
    "DayRun",
    "Figures",
    "MailError",
    "Mailer",
    "PeriodicRefresh",
    "RefreshResult",
    "RefreshRun",
    "Rendered",
    "ReportError",
    "ReportNotFound",
    "ReportSettings",
    "Row",
    "SmtpSettings",
    "UnitView",
    "UnknownUnit",
    "charts",
    "child_level",
    "children",
    "computed_at",
    "day_shown",
    "ensure_figures",
    "find",
    "generate",
    "get",
    "last_refresh",
    "latest_day",
    "local_day",
    "mail",
    "mailer_from",
    "parse_unit",
    "phases",
    "refresh",
    "refresh_day",
    "refresh_due",
    "render",
    "report_file",
    "run_due",
    "series",
    "sites",
    "start_background_refresh",
    "table_xlsx",
    "unit_codes",
    "unit_figures",
    "unit_name",
    "units_with_figures",
    "view",
    "visible_reports",
    "worst",
]

log = logging.getLogger(__name__)
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
#: The files a stored report is available as.
FILE_KINDS = ("xlsx", "pdf")


def parse_unit(ref: str) -> UnitKey:
    """A unit reference (VN, province:001, district:001, ward:00001) or a refusal that says how."""
    try:
        return unit_key(ref)
    except GeoError as exc:
        raise UnknownUnit(str(exc)) from exc


def unit_codes(key: UnitKey) -> dict[str, str | None]:
    """{"province", "district", "ward"} codes of a unit and the units above it (None above the
    unit, all None for the nation): what scope checks and stored reports are keyed by."""
    codes: dict[Level, str] = {}
    if key != NATION:
        codes = {k.level: k.code for k, _name in query.view(key).path}
    return {"province": codes.get(Level.PROVINCE), "district": codes.get(Level.DISTRICT),
            "ward": codes.get(Level.WARD)}  # fmt: skip


def ensure_figures(session: Session, day: dt.date, *, now: dt.datetime) -> None:
    """Compute the figures of `day` when there are none yet (a final day is never recomputed)."""
    if day not in computed_days(session):
        refresh_day(session, day, now=now)


def day_shown(session: Session, asked: dt.date | None, *, now: dt.datetime) -> dt.date:
    """The day a dashboard shows: the one asked for, else the latest with figures, else today.
    Never computes: figures come from the scheduler or the app's background refresh, and a day
    without them says so (`last_refresh`)."""
    if asked is not None:
        return asked
    return latest_day(session) or local_day(now)


def last_refresh(session: Session) -> dt.datetime | None:
    """When figures were last computed, for any day (None: never)."""
    value = session.execute(
        text("SELECT MAX(computed_at) FROM report_daily_figures WHERE level = 'nation'")
    ).scalar_one_or_none()
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def start_background_refresh(
    engine: Engine, config: ReportSettings, clock: Callable[[], dt.datetime]
) -> PeriodicRefresh | None:
    """Start the web app's periodic figures refresh (None when the settings turn it off)."""
    if not config.refresh_in_app:
        return None
    return PeriodicRefresh(engine, clock, config.refresh_minutes * 60.0).start()


def table_xlsx(title: str, rows: list[Row], total: Figures | None, *, sites: bool) -> bytes:
    """One dashboard table (units below, with their total, or sites) as XLSX bytes."""
    buf = io.BytesIO()
    daily.table_workbook(title, rows, total, sites=sites).save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Rendered:
    """A report's two files."""

    xlsx: bytes
    pdf: bytes
    stem: str


def render(session: Session, key: UnitKey, day: dt.date) -> Rendered:
    """The report's files from the stored figures of `day`."""
    data = daily.collect(session, key, day)
    stem = f"vaxlink-{day.isoformat()}-{key.level.value}-{key.code}"
    return Rendered(daily.xlsx_bytes(daily.workbook(data), day), daily.pdf_bytes(data), stem)


def generate(
    session: Session,
    data_dir: Path,
    key: UnitKey,
    day: dt.date,
    *,
    now: dt.datetime,
    by: str,
) -> DailyReport:
    """The stored report of `key` for `day`, made (once) when it does not exist yet."""
    existing = find(session, key, day)
    if existing is not None:
        return existing
    ensure_figures(session, day, now=now)
    files = render(session, key, day)
    folder = Path("reports") / day.isoformat()
    private_dir(data_dir / folder)
    paths = {}
    for ext, content in (("xlsx", files.xlsx), ("pdf", files.pdf)):
        rel = folder / f"{files.stem}.{ext}"
        tmp = data_dir / rel.with_suffix(f".{ext}.tmp")
        write_private(tmp, content)
        tmp.replace(data_dir / rel)
        paths[ext] = rel
    codes = unit_codes(key)
    report = DailyReport(
        day=day, level=key.level.value, unit_code=key.code,
        province_code=codes["province"] or "", district_code=codes["district"] or "",
        ward_code=codes["ward"] or "", generated_at=now, generated_by=by,
        xlsx_path=str(paths["xlsx"]), pdf_path=str(paths["pdf"]),
        xlsx_sha256=hashlib.sha256(files.xlsx).hexdigest(),
        pdf_sha256=hashlib.sha256(files.pdf).hexdigest(),
    )  # fmt: skip
    session.add(report)
    session.flush()
    return report


def find(session: Session, key: UnitKey, day: dt.date) -> DailyReport | None:
    """The stored report of a unit for a day, if made."""
    return session.scalars(
        select(DailyReport).where(
            DailyReport.day == day,
            DailyReport.level == key.level.value,
            DailyReport.unit_code == key.code,
        )
    ).one_or_none()


def get(session: Session, report_id: int) -> DailyReport:
    """One stored report by id."""
    report = session.get(DailyReport, report_id)
    if report is None:
        raise ReportNotFound(f"report {report_id} does not exist")
    return report


def visible_reports(
    session: Session,
    scope: Callable[..., ColumnElement[bool]],
    *,
    limit: int = 500,
) -> list[tuple[DailyReport, str]]:
    """Stored reports, newest first, with their unit's name; `scope(province, district, ward)`
    (the account's scope filter) keeps the ones of the account's unit and the units below it."""
    cols = DailyReport.__table__.c
    stmt = (
        select(DailyReport)
        .where(scope(cols.province_code, cols.district_code, cols.ward_code))
        .order_by(DailyReport.day.desc(), DailyReport.level, DailyReport.unit_code)
        .limit(limit)
    )
    return [(r, unit_name(UnitKey(Level(r.level), r.unit_code))) for r in session.scalars(stmt)]


def report_file(
    session: Session,
    data_dir: Path,
    report_id: int,
    kind: str,
    *,
    check: Callable[[DailyReport], object],
) -> Path:
    """The stored XLSX or PDF file of a report; `check(report)` (the caller's scope check)
    runs before the file is looked for, and may raise."""
    if kind not in FILE_KINDS:
        raise ReportNotFound("a report is available as xlsx or pdf")
    report = get(session, report_id)
    check(report)
    path = Path(data_dir) / (report.xlsx_path if kind == "xlsx" else report.pdf_path)
    if not path.is_file():
        raise ReportNotFound(f"the file of report {report_id} is missing on the server")
    return path


def units_with_figures(session: Session, day: dt.date, level: str) -> list[str]:
    """Codes of the units of `level` that have figures on `day` (the ones worth a report)."""
    if level == "nation":
        return ["VN"]
    col = {"province": "province_code", "district": "district_code", "ward": "ward_code"}[level]
    rows = session.execute(
        q(f"SELECT {col} FROM report_daily_figures WHERE day = :day AND level = '{level}' "
          f"AND {col} <> '' ORDER BY {col}"),
        {"day": day},
    ).scalars()  # fmt: skip
    return [str(r) for r in rows]


def mail(
    session: Session, data_dir: Path, report: DailyReport, mailer: Mailer, to: list[str],
    *, now: dt.datetime,
) -> None:  # fmt: skip
    """Send a stored report's two files; the outcome is kept on the report's row."""
    key = UnitKey(Level(report.level), report.unit_code)
    name = query.unit_name(key)
    vi_day, en_day = f"{report.day:%d/%m/%Y}", report.day.isoformat()
    subject = (labels.text("vi", "mail.subject", day=vi_day, unit=name) + " · "
               + labels.text("en", "mail.subject", day=en_day, unit=name))  # fmt: skip
    body = (
        labels.text("vi", "mail.body", day=vi_day, unit=name) + "\n"
        + labels.text("en", "mail.body", day=en_day, unit=name) + "\n"
    )  # fmt: skip
    files = [
        Attachment(Path(report.xlsx_path).name, (data_dir / report.xlsx_path).read_bytes(),
                   *XLSX_TYPE),
        Attachment(Path(report.pdf_path).name, (data_dir / report.pdf_path).read_bytes(),
                   "application", "pdf"),
    ]  # fmt: skip
    try:
        mailer.send(to, subject, body, files)
    except MailError as exc:
        report.email_error = str(exc)[:255]
        session.flush()
        raise
    report.emailed_at, report.email_error = now, None
    session.flush()


def run_due(
    engine: Engine,
    data_dir: Path,
    config: ReportSettings,
    *,
    now: dt.datetime,
    mailer: Mailer | None = None,
) -> list[DailyReport]:
    """One step of the scheduler: refresh the figures (incremental, province by province), then make (and mail) every report that
    is due and not made yet. Each report is its own transaction; a second call makes nothing."""
    refresh(engine, now=now)
    today = local_day(now)
    with transaction(engine) as s:
        units = {lv: units_with_figures(s, today, lv) for lv in config.times}
        done = [
            (r.day, r.level, r.unit_code)
            for r in s.scalars(select(DailyReport).where(DailyReport.day == today))
        ]
    made: list[DailyReport] = []
    for due in due_reports(now, config, units, done):
        made.append(_make(engine, data_dir, config, due, now=now, mailer=mailer))
    return made


def _make(
    engine: Engine, data_dir: Path, config: ReportSettings, due: Due, *, now: dt.datetime,
    mailer: Mailer | None,
) -> DailyReport:  # fmt: skip
    key = UnitKey(Level(due.level), due.code)
    with transaction(engine) as s:
        report = generate(s, data_dir, key, due.day, now=now, by="scheduler")
    to = config.recipients_for(due.level, due.code)
    if mailer is not None and to:
        try:
            with transaction(engine) as s:
                mail(s, data_dir, s.merge(report), mailer, to, now=now)
        except MailError as exc:
            log.warning("report %s not mailed: %s", report.id, exc)
            with transaction(engine) as s:
                s.execute(
                    text("UPDATE report_daily SET email_error = :e WHERE id = :i"),
                    {"e": str(exc)[:255], "i": report.id},
                )
    return report

"""`vaxlink report …`: daily reports for any day, figure refreshes, and the scheduler loop."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink import compose
from vaxlink.errors import InvalidInput
from vaxlink.reports.service import (
    METRICS,
    TABLE_COLUMNS,
    ensure_figures,
    generate,
    local_day,
    parse_unit,
    refresh,
    refresh_day,
    render,
    run_due,
    unit_figures,
    unit_name,
)

if TYPE_CHECKING:
    from vaxlink.certificates.service import LifecycleReport, RenewalJob

log = logging.getLogger(__name__)
app = typer.Typer(help="Progress figures and daily reports.", no_args_is_help=True)


def _day(raw: str | None, now: dt.datetime) -> dt.date:
    if raw is None:
        return local_day(now)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"date {raw!r} must be written YYYY-MM-DD") from None


@app.command("daily")
def daily_command(
    unit: Annotated[str, typer.Option("--unit", help="VN, province:001, district:001, ward:00001")],
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for copies of the two files.")
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Keep it among the app's reports.")
    ] = True,
) -> None:
    """Make the daily report (XLSX + PDF) of one unit for any day; same figures, same files."""
    with compose.running() as c, c.transaction() as s:
        now, settings = c.clock.now(), c.settings
        key = parse_unit(unit)
        day = _day(date, now)
        ensure_figures(s, day, now=now)
        files = render(s, key, day)
        if store:
            report = generate(s, settings.data_dir, key, day, now=now, by="cli")
            c.audit_cli(s, "reports.daily", "daily_report", report.id, unit=str(key),
                        detail={"day": day.isoformat()})  # fmt: skip
        figures = unit_figures(s, day, key)
    target = out or settings.data_dir / "reports" / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    console = Console()
    for ext, content in (("xlsx", files.xlsx), ("pdf", files.pdf)):
        path = target / f"{files.stem}.{ext}"
        path.write_bytes(content)
        console.print(f"{ext.upper()}: {path}")
    console.print(
        f"{figures['doses_sent']:,} doses sent for verification, {figures.linked:,} verified, "
        f"{figures.wrong:,} wrong"
    )


@app.command("figures")
def figures_command(
    date: Annotated[str | None, typer.Option("--date", help="Recompute this day only.")] = None,
    backfill: Annotated[
        int, typer.Option("--backfill", min=0, help="Also compute this many earlier days.")
    ] = 0,
    unit: Annotated[str, typer.Option("--unit", help="Unit to print afterwards.")] = "VN",
) -> None:
    """Refresh the stored figures (today, unfinished days, and optionally a backfill) and print."""
    key = parse_unit(unit)
    started = time.perf_counter()
    with compose.running() as c:
        now, engine = c.clock.now(), c.engine
        if date is not None:
            with c.transaction() as s:
                days = [refresh_day(s, _day(date, now), now=now).day]
        else:  # province by province, short writes: the web app keeps working meanwhile
            days = [
                r.day for r in refresh(engine, now=now, backfill_days=backfill, force=True).days
            ]
        c.audit_cli_now("reports.figures", "daily_figures", days[-1].isoformat(),
                        detail={"days": [d.isoformat() for d in days]})  # fmt: skip
        with c.transaction() as s:
            day = days[-1]
            figures = unit_figures(s, day, key)
    table = Table(title=f"{unit_name(key)} — {day.isoformat()}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    data = figures.as_dict()
    for column in TABLE_COLUMNS:
        v = data[column]
        table.add_row(METRICS[column][1], "–" if v is None else f"{v:,}")
    console = Console()
    console.print(table)
    console.print(
        f"{len(days)} day(s) computed ({', '.join(d.isoformat() for d in days)}) "
        f"in {time.perf_counter() - started:.1f} s"
    )


def _renew(job: RenewalJob | None, now: dt.datetime) -> LifecycleReport | None:
    """The renewal job's run when due (it audits itself; a failure waits for the next step)."""
    if job is None:
        return None
    try:
        return job.run_if_due(now)
    except Exception:  # the reports must go on; the renewal is tried again at the next step
        log.exception("renewal job failed; trying again at the next step")
        return None


#: The scheduler's CPU niceness: background work (the figures refresh computes for seconds on
#: a core) that must leave the cores to the web app's requests when both want them.
SCHEDULER_NICE = 10


def lower_priority(nice: int) -> int:
    """Make this process `nice` steps kinder to others (0: unchanged); returns its niceness."""
    return os.nice(max(0, nice))


@app.command("scheduler")
def scheduler_command(
    once: Annotated[bool, typer.Option("--once", help="Run one step and stop.")] = False,
    nice: Annotated[
        int,
        typer.Option(
            help="Lower the scheduler's CPU priority by this much (0-19; 0 keeps it) so the "
            "web app's requests get the cores first while the figures refresh runs.",
            min=0,
            max=19,
        ),
    ] = SCHEDULER_NICE,
) -> None:
    """Refresh figures every few minutes and make each level's daily report when it is due;
    renew the certificates that expire soon when their renewal is due (VAXLINK_RENEWAL_*); each
    step also settles the citizen reports whose new certificate waited for a site's signature."""
    lower_priority(nice)
    console = Console()
    with compose.running() as c:
        config, mailer = c.report_settings, c.mailer
        renewal = c.renewal_job() if "certificates" not in c.settings.disabled_domains else None
        while True:
            made = run_due(c.engine, c.settings.data_dir, config, now=c.clock.now(), mailer=mailer)
            for r in made:
                console.print(f"{r.day} {r.level}:{r.unit_code} -> {r.xlsx_path}, {r.pdf_path}")
            if made:
                c.audit_cli_now("reports.scheduled", "daily_report_batch", str(made[0].day),
                                detail={"reports": len(made)})  # fmt: skip
            renewed = _renew(renewal, c.clock.now())
            if renewed is not None:
                console.print(f"renewal: {renewed.checked:,} checked, {renewed.issued:,} renewed, "
                              f"{renewed.expired:,} marked expired", highlight=False)  # fmt: skip
            settled = c.settle_certificates(by="job:report.scheduler")
            if settled.resolved:
                console.print(f"{len(settled.resolved)} citizen report(s) resolved: their new "
                              "certificates are issued")  # fmt: skip
            if once:
                return
            time.sleep(config.refresh_minutes * 60)


phases_app = typer.Typer(help="Campaign phases: name, unit, start, deadline, target.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(phases_app, name="phases")


@phases_app.command("add")
def phase_add(
    name: Annotated[str, typer.Option("--name", help='e.g. "Đợt 1: làm sạch dữ liệu".')],
    starts: Annotated[str, typer.Option("--starts", help="YYYY-MM-DD")],
    deadline: Annotated[str, typer.Option("--deadline", help="YYYY-MM-DD")],
    target: Annotated[
        str,
        typer.Option("--target", help="linked_share, people_verified_share or tickets_answered"),
    ] = "linked_share",
    percent: Annotated[float, typer.Option("--percent", help="The share to reach, in %.")] = 95.0,
    unit: Annotated[
        str, typer.Option("--unit", help="VN, province:001, district:001, ward:00001")
    ] = "VN",
) -> None:
    """Add a phase for a unit and every unit below it (audited)."""
    from vaxlink.reports.service import phases

    with compose.running() as c, c.transaction() as s:
        now = c.clock.now()
        phase = phases.create(s, name=name, unit=unit, starts_on=_day(starts, now),
                              deadline=_day(deadline, now), target_kind=target,
                              target_percent=percent, by=c.operator(), now=now)  # fmt: skip
        c.audit_cli(s, "campaign.phase_add", "campaign_phase", phase.id, unit=unit)
        Console().print(f"phase {phase.id} added", highlight=False)


@phases_app.command("list")
def phase_list(
    unit: Annotated[
        str | None, typer.Option("--unit", help="Only phases set in this unit.")
    ] = None,
) -> None:
    """Print the phases and, for each, where its own unit stands today."""
    from vaxlink.reports.service import phases

    with compose.running() as c, c.transaction() as s:
        now = c.clock.now()
        day = local_day(now)
        rows = phases.listing(s, parse_unit(unit) if unit else None)
        table = Table("id", "name", "unit", "starts", "deadline", "target", "active", "reached",
                      "state", title=f"{len(rows):,} campaign phases")  # fmt: skip
        for p in rows:
            key = parse_unit("VN" if p.unit_level == "nation" else f"{p.unit_level}:{p.unit_code}")
            value = phases.measure(p.target_kind, unit_figures(s, day, key))
            state, _expected, _left = phases.state_of(p, value, day)
            table.add_row(str(p.id), p.name, str(key), p.starts_on.isoformat(),
                          p.deadline.isoformat(), f"{p.target_kind} ≥ {p.target_share:.1%}",
                          "yes" if p.active else "no",
                          "–" if value is None else f"{value:.1%}", state)  # fmt: skip
    Console().print(table)


@phases_app.command("end")
def phase_end(phase_id: Annotated[int, typer.Argument(help="The phase's id.")]) -> None:
    """End a phase (kept, no longer shown on dashboards)."""
    from vaxlink.reports.service import phases

    with compose.running() as c, c.transaction() as s:
        phases.set_active(s, phases.get(s, phase_id), False)
        c.audit_cli(s, "campaign.phase_end", "campaign_phase", phase_id)

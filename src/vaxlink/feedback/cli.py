"""`vaxlink feedback ...`: the escalation job and the ticket figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Citizen reports (phản ánh): escalation and figures.", no_args_is_help=True)
console = Console()


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("escalate")
def escalate_command(
    at: Annotated[str | None, typer.Option(help="Pretend it is this instant (ISO 8601).")] = None,
) -> None:
    """Hand every overdue open report to its district health centre and tell the citizen by SMS;
    also remove expired one-time codes and citizen sessions. Run it from cron, e.g. hourly."""
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.feedback.otp import purge_expired
    from vaxlink.feedback.service import phone_of
    from vaxlink.feedback.sms import sms_from_settings
    from vaxlink.feedback.tickets import TicketStatus, escalate_overdue, status_sms
    from vaxlink.settings import get_settings

    settings = get_settings()
    engine = engine_from_settings(settings)
    try:
        with transaction(engine) as s:
            rows = escalate_overdue(s, now=_now(at))
            phones = {r.ticket_id: phone_of(s, r.citizen_id) for r in rows}
            purged = purge_expired(s, now=_now(at))
        port = sms_from_settings(settings)
        failed = 0
        for r in rows:
            phone = phones[r.ticket_id]
            if phone:
                try:
                    port.send(phone, status_sms(r.ticket_id, TicketStatus.NEW, escalated=True))
                except Exception:
                    failed += 1
    finally:
        engine.dispose()
    console.print(
        f"escalated {len(rows)} overdue report(s); {failed} SMS failed; "
        f"{purged} expired code(s) and session(s) removed"
    )


@app.command("figures")
def figures_command(
    day: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD), default today.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Open, overdue, resolved, median hours to resolve and share overdue, per ward."""
    from dataclasses import asdict

    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.feedback.service import ticket_figures
    from vaxlink.settings import get_settings

    engine = engine_from_settings(get_settings())
    try:
        with transaction(engine) as s:
            rows = ticket_figures(s, None, date.fromisoformat(day) if day else date.today())
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
        return
    table = Table("province", "district", "ward", "open", "overdue", "resolved", "escalated",
                  "median h", "share overdue")  # fmt: skip
    for r in rows:
        median = f"{r.median_hours_to_resolve:.1f}" if r.median_hours_to_resolve is not None else ""
        table.add_row(r.province_code, r.district_code or "", r.ward_code or "", str(r.open),
                      str(r.overdue), str(r.resolved), str(r.escalated), median,
                      f"{r.share_overdue:.0%}")  # fmt: skip
    console.print(table)

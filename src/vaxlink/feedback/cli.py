"""`vaxlink feedback ...`: the escalation job and the ticket figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.errors import InvalidInput

app = typer.Typer(help="Citizen reports (phản ánh): escalation and figures.", no_args_is_help=True)
console = Console()


def _as_of(text: str | None) -> datetime | None:
    """The instant `text` names (ISO 8601; naive is UTC), or None for the clock's."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"--at {text!r} is not an ISO 8601 instant") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("escalate")
def escalate_command(
    at: Annotated[str | None, typer.Option(help="Pretend it is this instant (ISO 8601).")] = None,
) -> None:
    """Hand every overdue open report to its district health centre and tell the citizen by SMS;
    also remove expired one-time codes and citizen sessions. Run it from cron, e.g. hourly."""
    from vaxlink import compose
    from vaxlink.feedback.otp import purge_expired
    from vaxlink.feedback.service import phone_of
    from vaxlink.feedback.tickets import TicketStatus, escalate_overdue, status_sms

    with compose.running(as_of=_as_of(at)) as c:
        with c.transaction() as s:
            now = c.clock.now()
            rows = escalate_overdue(s, now=now)
            phones = {r.ticket_id: phone_of(s, r.citizen_id) for r in rows}
            purged = purge_expired(s, now=now)
            c.audit_cli(s, "feedback.escalate", "feedback_ticket_batch", "overdue",
                        detail={"escalated": len(rows), "purged": purged})  # fmt: skip
        port = c.sms
        failed = 0
        for r in rows:
            phone = phones[r.ticket_id]
            if phone:
                try:
                    port.send(phone, status_sms(r.ticket_id, TicketStatus.NEW, escalated=True))
                except Exception:
                    failed += 1
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

    from vaxlink import compose
    from vaxlink.feedback.service import ticket_figures

    with compose.running() as c, c.transaction() as s:
        rows = ticket_figures(s, None, date.fromisoformat(day) if day else c.clock.today())
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

"""Set-based ticket figures the dashboard reads, per ward and day."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from vaxlink.feedback.models import Ticket
from vaxlink.feedback.tickets import OPEN


@dataclass(frozen=True)
class WardFigures:
    """Tickets of one ward (station) on one day."""

    province_code: str
    district_code: str | None
    ward_code: str | None
    open: int
    overdue: int
    resolved: int
    escalated: int
    median_hours_to_resolve: float | None
    share_overdue: float


def ticket_figures(
    session: Session, unit_filter: ColumnElement[bool] | None, day: date
) -> list[WardFigures]:
    """Per ward, as of the end of `day` (UTC): open, overdue, closed on or before it, median hours
    from report to closing, and the share of tickets (open or closed) that were or are overdue.

    `unit_filter` is a condition over `feedback_ticket` columns, e.g.
    `principal.scope_filter(Ticket.province_code, Ticket.district_code, Ticket.ward_code)`.
    """
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    closed = and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at < end)
    open_then = and_(Ticket.created_at < end, ~closed)
    late = or_(and_(open_then, Ticket.due_at < end),
               and_(closed, Ticket.resolved_at > Ticket.due_at))  # fmt: skip
    where = [Ticket.created_at < end]
    if unit_filter is not None:
        where.append(unit_filter)
    groups = (Ticket.province_code, Ticket.district_code, Ticket.ward_code)
    rows = session.execute(
        select(*groups,
               func.sum(case((open_then, 1), else_=0)),
               func.sum(case((and_(open_then, Ticket.due_at < end), 1), else_=0)),
               func.sum(case((closed, 1), else_=0)),
               func.sum(case((and_(Ticket.escalated_at.is_not(None), Ticket.escalated_at < end),
                              1), else_=0)),
               func.sum(case((late, 1), else_=0)),
               func.count())
        .where(*where).group_by(*groups).order_by(*groups)
    ).all()  # fmt: skip
    medians = _median_hours(session, [*where, closed], groups)
    return [
        WardFigures(
            p,
            d,
            w,
            int(o or 0),
            int(od or 0),
            int(r or 0),
            int(e or 0),
            medians.get((p, d, w)),
            (int(lt or 0) / n) if n else 0.0,
        )
        for p, d, w, o, od, r, e, lt, n in rows
    ]


def _median_hours(
    session: Session, where: list[Any], groups: tuple[Any, ...]
) -> dict[tuple[str, str | None, str | None], float]:
    """Median hours to close per ward: PostgreSQL computes it; SQLite gets the closed durations
    (few per ward) and the median is taken here."""
    if session.get_bind().dialect.name == "postgresql":
        hours = func.extract("epoch", Ticket.resolved_at - Ticket.created_at) / 3600.0
        pg = select(*groups, func.percentile_cont(0.5).within_group(hours)).where(*where)
        return {(r[0], r[1], r[2]): float(r[3]) for r in session.execute(pg.group_by(*groups))}
    out: dict[tuple[str, str | None, str | None], list[float]] = {}
    stmt = select(*groups, Ticket.created_at, Ticket.resolved_at).where(*where)
    for r in session.execute(stmt):
        out.setdefault((r[0], r[1], r[2]), []).append((r[4] - r[3]).total_seconds() / 3600.0)
    return {k: statistics.median(v) for k, v in out.items()}


def open_statuses() -> list[str]:
    """The statuses of tickets still being worked."""
    return [s.value for s in OPEN]

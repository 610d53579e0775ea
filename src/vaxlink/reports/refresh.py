"""The figures refresh as the scheduler, the CLI and the web app's background thread run it:
incremental and chunked, so it never holds the store's write lock for long (issue #13 point 5).

- Incremental: a final day is never recomputed; today is recomputed only when something that
  feeds the figures changed since its last refresh (the watermark: the nation row's
  `computed_at`, less a margin for transactions that were still open then), or when that refresh
  is older than `max_age` (overdue tickets and expiring certificates move with the clock alone).
  Of a recomputed day, only the provinces whose figures changed are written again.
- Chunked: the day is computed read-only (on SQLite's WAL a reader blocks no writer), then
  written one province per short transaction, the nation row last; each write waits for the
  store's write turn like any other writer (`vaxlink.db.WriteTurn`), and after each one the
  refresh pauses as long as it wrote, so the writers queued meanwhile go first.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.db import session_factory, transaction
from vaxlink.reports.figures import (
    DayFigures,
    Key,
    compute_day,
    local_day,
    q,
    write_rows,
)
from vaxlink.reports.models import COUNT_METRICS, MEDIAN_METRIC

log = logging.getLogger(__name__)

#: Changes older than the watermark by less than this still count: a transaction that was open
#: when the last refresh read the store may carry earlier timestamps.
MARGIN: Final = dt.timedelta(minutes=15)
#: Today's figures are recomputed at least this often, changes or not.
MAX_AGE: Final = dt.timedelta(hours=1)
#: (table, timestamp column): every change that can move a figure leaves one of these.
CHANGES: Final = (
    ("import_batch", "started_at"),
    ("dose_link", "decided_at"),
    ("dose_correction", "at"),
    ("facility_approval", "approved_at"),
    ("certificate", "created_at"),
    ("certificate", "status_changed_at"),
    ("revocation", "revoked_at"),
    ("feedback_ticket", "created_at"),
    ("feedback_ticket_event", "at"),
)


@dataclass(frozen=True)
class DayRun:
    """What one refresh did to one day."""

    day: dt.date
    final: bool
    skipped: bool = False
    provinces_written: int = 0
    rows_written: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class RefreshRun:
    """One refresh: its days, when it started and how long it took."""

    started_at: dt.datetime
    days: list[DayRun] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def _reading(engine: Engine) -> Iterator[Session]:
    """A session that only reads (rolled back at the end)."""
    with session_factory(engine)() as session:
        try:
            yield session
        finally:
            session.rollback()


def changed_since(session: Session, since: dt.datetime) -> bool:
    """Whether anything that feeds the figures changed at or after `since`."""
    tables = set(inspect(session.connection()).get_table_names())
    for table, column in CHANGES:
        if table not in tables:
            continue
        found = session.execute(
            q(f"SELECT 1 FROM {table} WHERE {column} >= :ref LIMIT 1"), {"ref": since}
        ).first()
        if found is not None:
            return True
    return False


def _watermarks(session: Session) -> dict[dt.date, tuple[bool, dt.datetime]]:
    rows = session.execute(
        q("SELECT day, final, computed_at FROM report_daily_figures WHERE level = 'nation'")
    ).all()
    out = {}
    for day, final, at in rows:
        d = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        moment = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        out[d] = (bool(final), moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return out


def _stored(session: Session, day: dt.date) -> dict[Key, tuple[bool, list[int], float | None]]:
    cols = ", ".join(COUNT_METRICS)
    rows = session.execute(
        q(
            f"SELECT level, province_code, district_code, ward_code, site_code, final, {cols}, "
            f"{MEDIAN_METRIC} FROM report_daily_figures WHERE day = :day"
        ),
        {"day": day},
    ).all()
    return {
        (str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])): (
            bool(r[5]),
            [int(v) for v in r[6:-1]],
            None if r[-1] is None else float(r[-1]),
        )
        for r in rows
    }


def _changed_provinces(
    figures: DayFigures, stored: dict[Key, tuple[bool, list[int], float | None]]
) -> list[str]:
    """Provinces whose rows differ from the stored ones (or have rows on one side only)."""
    ours = {
        key: (figures.final, counts, figures.medians.get(key))
        for key, counts in figures.counts.items()
        if key[0] != "nation"
    }
    theirs = {k: v for k, v in stored.items() if k[0] != "nation"}
    provinces = {k[1] for k in ours} | {k[1] for k in theirs}

    def part(rows: dict[Key, tuple[bool, list[int], float | None]], p: str) -> dict[Key, object]:
        return {k: v for k, v in rows.items() if k[1] == p}

    return sorted(p for p in provinces if part(ours, p) != part(theirs, p))


#: Bounds of the pause after each chunk's write (see `_yield_turn`).
YIELD_MIN: Final = 0.001
YIELD_MAX: Final = 0.05


def _yield_turn(held: float) -> None:
    """Pause as long as the last chunk's write took (within YIELD_MIN..YIELD_MAX): the store's
    other writers, queued for its write turn (`vaxlink.db.WriteTurn`) meanwhile, write before
    the next chunk, so the refresh uses at most about half of the store's write time."""
    time.sleep(min(max(held, YIELD_MIN), YIELD_MAX))


def refresh_day_chunked(engine: Engine, day: dt.date, *, now: dt.datetime) -> DayRun:
    """Compute `day` read-only, then write each changed province in its own short transaction
    and the nation row (the day's watermark) last."""
    started = time.perf_counter()
    with _reading(engine) as s:
        figures = compute_day(s, day, now=now)
        stored = _stored(s, day)
    changed = _changed_provinces(figures, stored)
    rows = 0
    for province in changed:
        wrote = time.perf_counter()
        with transaction(engine) as s:
            rows += write_rows(s, figures, province)
        _yield_turn(time.perf_counter() - wrote)
    with transaction(engine) as s:
        rows += write_rows(s, figures, None)
    return DayRun(day, figures.final, provinces_written=len(changed), rows_written=rows,
                  seconds=time.perf_counter() - started)  # fmt: skip


def refresh(
    engine: Engine,
    *,
    now: dt.datetime,
    backfill_days: int = 0,
    force: bool = False,
    max_age: dt.timedelta = MAX_AGE,
) -> RefreshRun:
    """Refresh what is due: every earlier day computed but not final (made final), the
    `backfill_days` days before today that have no figures, and today when it changed since its
    last refresh or that refresh is older than `max_age` (always with `force`)."""
    started = time.perf_counter()
    today = local_day(now)
    with _reading(engine) as s:
        marks = _watermarks(s)
        todo = {d for d, (final, _at) in marks.items() if not final and d < today}
        todo |= {today - dt.timedelta(days=k) for k in range(1, backfill_days + 1)}
        todo -= {d for d, (final, _at) in marks.items() if final}
        skip_today = False
        if not force and today in marks:
            last = marks[today][1]
            skip_today = now - last < max_age and not changed_since(s, last - MARGIN)
    runs = [refresh_day_chunked(engine, d, now=now) for d in sorted(todo)]
    if skip_today:
        runs.append(DayRun(today, final=False, skipped=True))
    else:
        runs.append(refresh_day_chunked(engine, today, now=now))
    return RefreshRun(now, runs, time.perf_counter() - started)

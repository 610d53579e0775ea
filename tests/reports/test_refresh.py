"""The scheduler's figures refresh (issue #13 point 5): province by province it stores what the
one-transaction refresh stores, it writes in short transactions that hold no computation, and it
recomputes only what changed since its last run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from tests.reports.expected import expected
from tests.reports.test_figures import stored
from tests.reports.world import DAY1, DAY2, NOW, TODAY, Built
from vaxlink.db import transaction
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.records.models import DoseRecord
from vaxlink.reports import refresh as refresh_module
from vaxlink.reports.figures import end_of_day
from vaxlink.reports.refresh import MAX_AGE, YIELD_MAX, YIELD_MIN, refresh


def test_the_chunked_refresh_stores_the_independent_count(
    built: Built, report_synth: dict[str, Path]
) -> None:
    run = refresh(built.engine, now=NOW, backfill_days=2)
    assert [d.day for d in run.days] == [DAY1, DAY2, TODAY]
    assert [d.final for d in run.days] == [True, True, False]
    for day in (DAY1, DAY2, TODAY):
        got, got_medians = stored(built, day)
        want, want_medians = expected(built.engine, report_synth["registry"], end_of_day(day), NOW)
        assert got == want, day
        assert got_medians == pytest.approx(want_medians, abs=1e-3)


@contextmanager
def _transactions(engine: Engine) -> Iterator[list[list[str]]]:
    """The statements of every transaction on `engine` that wrote, in order."""
    current: dict[int, list[str]] = {}
    done: list[list[str]] = []

    def on_execute(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        current.setdefault(id(conn.connection), []).append(" ".join(statement.split())[:80])

    def on_end(conn: Any) -> None:
        statements = current.pop(id(conn.connection), [])
        if any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in statements):
            done.append(statements)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_end)
        event.remove(engine, "rollback", on_end)


def test_each_write_is_one_province_and_computes_nothing(built: Built) -> None:
    with _transactions(built.engine) as writes:
        run = refresh(built.engine, now=NOW)
    (today,) = run.days
    assert today.provinces_written >= 2
    assert len(writes) == today.provinces_written + 1  # one per province, the nation row last
    for statements in writes:
        # Only the day's own rows are deleted and inserted: the sources are read before, with
        # no write lock held (a write transaction on SQLite blocks every other writer).
        assert all(s.startswith(("DELETE FROM report_daily_figures",
                                 "INSERT INTO report_daily_figures")) for s in statements), statements  # fmt: skip
    assert "level = 'nation'" in writes[-1][0]


def _relink(built: Built, status: str, at: dt.datetime) -> str:
    """One linked dose decided again (`status`) at `at`; returns its province."""
    with transaction(built.engine) as s:
        dose = s.scalars(
            select(DoseRecord).where(
                DoseRecord.status == "verified", DoseRecord.province_code != ""
            )
        ).first()
        assert dose is not None
        run = LinkRunRecord(started_at=at, finished_at=at, engine="duckdb", model_name="m",
                            model_version=1, model_digest="d")  # fmt: skip
        s.add(run)
        s.flush()
        s.add(DoseLink(dose_record_id=dose.id, run_id=run.id, status=status, citizen_id=None,
                       candidates=[], decided_at=at))  # fmt: skip
        dose.status, dose.citizen_id = status, None
        return str(dose.province_code)


def test_only_what_changed_is_recomputed(built: Built) -> None:
    first = refresh(built.engine, now=NOW)
    assert not first.days[-1].skipped
    quiet = refresh(built.engine, now=NOW + dt.timedelta(minutes=10))
    assert quiet.days[-1].skipped  # nothing changed: today is not recomputed
    _relink(built, "invalid", NOW + dt.timedelta(minutes=11))
    changed = refresh(built.engine, now=NOW + dt.timedelta(minutes=20))
    assert not changed.days[-1].skipped
    assert changed.days[-1].provinces_written == 1  # only the dose's own province is rewritten
    with built.engine.connect() as conn:
        moment = conn.execute(
            text("SELECT computed_at FROM report_daily_figures WHERE level = 'nation' "
                 "AND day = :d"),
            {"d": TODAY.isoformat() if built.engine.dialect.name == "sqlite" else TODAY},
        ).scalar_one()  # fmt: skip
    assert str(moment).startswith(str(NOW + dt.timedelta(minutes=20))[:16].replace("+00:00", ""))
    # Overdue tickets and expiring certificates move with the clock: an old run is redone.
    stale = refresh(built.engine, now=NOW + dt.timedelta(minutes=20) + MAX_AGE)
    assert not stale.days[-1].skipped
    assert stale.days[-1].provinces_written == 0  # ...and nothing moved, so nothing rewritten


def test_after_each_province_the_refresh_leaves_the_turn_to_others(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two province writes the refresh pauses as long as the write took (bounded), so the
    store's writers queued for the write turn meanwhile go first."""
    pauses: list[tuple[float, int]] = []
    with _transactions(built.engine) as writes:
        original = refresh_module._yield_turn

        def pause(held: float) -> None:
            pauses.append((held, len(writes)))
            original(held)

        monkeypatch.setattr(refresh_module, "_yield_turn", pause)
        run = refresh(built.engine, now=NOW)
    (today,) = run.days
    assert today.provinces_written >= 2
    # one pause after each province's write (committed by then), none after the nation row
    assert [n for _held, n in pauses] == list(range(1, today.provinces_written + 1))
    assert all(held > 0 for held, _n in pauses)
    for held, at_least, at_most in ((0.0, YIELD_MIN, 0.5), (10.0, YIELD_MAX, YIELD_MAX + 0.5)):
        started = time.perf_counter()
        refresh_module._yield_turn(held)
        assert at_least <= time.perf_counter() - started < at_most

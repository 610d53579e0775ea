"""The store limiter (SQLite and PostgreSQL): windows, lockouts, clearing, hashed keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from vaxlink.db import transaction
from vaxlink.ratelimit import Limit, Limiter, Rate, StoreCounters, TokenBuckets, hit_all
from vaxlink.ratelimit.models import RateCounter

T0 = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
SECRET = b"test secret"


def _at(session: Session, limit: Limit, minutes: float) -> StoreCounters:
    return StoreCounters(session, limit, secret=SECRET, now=T0 + dt.timedelta(minutes=minutes))


def test_one_more_than_allowed_locks_for_the_lockout(session: Session) -> None:
    limit = Limit("t", 2, dt.timedelta(minutes=10), dt.timedelta(minutes=30))
    assert [_at(session, limit, 0).take("a") for _ in range(2)] == [0.0, 0.0]
    assert _at(session, limit, 1).take("a") == 30 * 60.0  # locked from this hit
    assert _at(session, limit, 2).wait("a") == 29 * 60.0
    assert _at(session, limit, 2).take("a") == 29 * 60.0  # a locked key counts nothing more
    assert _at(session, limit, 2).wait("b") == 0.0  # other keys are not affected
    assert _at(session, limit, 31).wait("a") == 0.0
    assert _at(session, limit, 31).take("a") == 0.0  # a fresh window after the lockout


def test_without_a_lockout_the_lock_ends_with_the_window(session: Session) -> None:
    limit = Limit("w", 1, dt.timedelta(minutes=15))
    assert _at(session, limit, 0).take("n") == 0.0
    assert _at(session, limit, 5).take("n") == 10 * 60.0  # until 15 minutes after the first
    assert _at(session, limit, 15).wait("n") == 0.0


def test_windows_restart_and_clear_forgets_unlocked_keys(session: Session) -> None:
    limit = Limit("c", 1, dt.timedelta(minutes=10), dt.timedelta(minutes=10))
    assert _at(session, limit, 0).take("k") == 0.0
    assert _at(session, limit, 11).take("k") == 0.0  # the first window has passed
    _at(session, limit, 11).clear("k")
    assert _at(session, limit, 12).take("k") == 0.0  # cleared: counting starts again
    assert _at(session, limit, 12).take("k") > 0  # now locked
    _at(session, limit, 13).clear("k")  # a lockout is not cleared by a success
    assert _at(session, limit, 13).wait("k") > 0


def test_keys_are_stored_as_hmacs_only(session: Session) -> None:
    limit = Limit("id", 5, dt.timedelta(hours=1), dt.timedelta(hours=1))
    _at(session, limit, 0).take("001085012345")
    keys = session.scalars(select(RateCounter.key)).all()
    assert len(keys) == 1
    assert keys[0].startswith("id:")
    assert "001085012345" not in keys[0]
    other = StoreCounters(session, limit, secret=b"another secret", now=T0)
    assert other.key("001085012345") != keys[0]


def test_both_stores_are_limiters() -> None:
    def spend(limiter: Limiter, key: str) -> float:
        return limiter.take(key)

    buckets = TokenBuckets(Rate(60, 1))
    assert spend(buckets, "a") == 0.0
    assert buckets.wait("a") > 0
    buckets.clear("a")
    assert buckets.wait("a") == 0.0


def test_backoff_delays_grow_and_end_with_the_window(session: Session) -> None:
    limit = Limit("b", 2, dt.timedelta(days=1), dt.timedelta(minutes=8), dt.timedelta(minutes=1))
    assert _at(session, limit, 0).take("p") == 0.0
    assert _at(session, limit, 0).wait("p") == 0.0  # one attempt is free of delays
    t, waits = 0.0, []
    for _ in range(5):
        assert _at(session, limit, t).take("p") == 0.0  # an attempt after its wait goes ahead
        waits.append(_at(session, limit, t).wait("p") / 60)
        assert _at(session, limit, t).take("p") > 0  # ... the next one waits
        t += waits[-1]
    assert waits == [1, 2, 4, 8, 8]  # doubling, capped at the lockout
    _at(session, limit, t).clear("p")  # a success forgets the pair once its wait is over
    assert _at(session, limit, t).take("p") == 0.0
    assert _at(session, limit, t).wait("p") == 0.0


def test_hit_all_counts_as_one_hit_each_in_one_statement(store: Engine) -> None:
    """Several counters in one upsert: the same lockouts, window by window, as one `hit` each
    (a plain limit, one with backoff, one with a shorter window), and one statement a call."""
    plain = Limit("p", 2, dt.timedelta(minutes=10), dt.timedelta(minutes=30))
    backoff = Limit("b", 1, dt.timedelta(days=1), dt.timedelta(hours=1), dt.timedelta(minutes=1))
    short = Limit("s", 3, dt.timedelta(minutes=5))
    limits = [plain, backoff, short]
    statements: list[str] = []
    event.listen(store, "before_cursor_execute", lambda *a: statements.append(a[2]))
    together, alone = [], []
    for minutes in [0, 1, 2, 3, 4, 6, 33, 34, 40]:
        with transaction(store) as s:
            counters = [(_at(s, limit, minutes), "v") for limit in limits]
            statements.clear()
            together.append(hit_all(counters))
            counted = [q for q in statements if "feedback_rate_counter" in q]
            assert len([q for q in counted if q.lstrip().upper().startswith("WITH")]) == 1
        with transaction(store) as s:
            alone.append([_at(s, limit, minutes).hit("w") for limit in limits])
    assert together == alone
    minute = dt.timedelta(minutes=1)
    assert together[2][0] == T0 + 32 * minute  # the plain limit's third hit locks for 30 min
    assert together[1][1] is None  # backoff: its second hit goes ahead, and waits 2 minutes
    assert together[2][1] == T0 + 3 * minute
    assert together[4][2] == T0 + 5 * minute  # the fourth hit in 5 minutes: until the window ends
    assert together[6] == [None, None, None]  # lockouts over, windows restarted (not backoff's)


def test_hit_all_refuses_one_key_twice(session: Session) -> None:
    limit = Limit("d", 2, dt.timedelta(minutes=10))
    with pytest.raises(ValueError, match="once"):
        hit_all([(_at(session, limit, 0), "x"), (_at(session, limit, 0), "x")])
    assert hit_all([]) == []

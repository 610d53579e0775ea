"""The Clock port: the system clock is UTC-aware, a FixedClock answers what it is given."""

from __future__ import annotations

import datetime as dt

import pytest

from vaxlink.clock import Clock, FixedClock, SystemClock

T0 = dt.datetime(2026, 1, 5, 16, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in Viet Nam
VN = dt.timezone(dt.timedelta(hours=7))


def test_the_system_clock_is_timezone_aware_utc_and_its_day_is_the_hosts() -> None:
    clock = SystemClock()
    before = dt.datetime.now(dt.UTC)
    now = clock.now()
    assert now.utcoffset() == dt.timedelta(0)
    assert before <= now <= dt.datetime.now(dt.UTC)
    assert clock.today() in (dt.date.today(), dt.date.today() - dt.timedelta(days=1))
    assert isinstance(clock, Clock)


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.today() == dt.date(2026, 1, 5)
    assert clock.advance(dt.timedelta(seconds=31)) == T0 + dt.timedelta(seconds=31)
    assert clock.today() == dt.date(2026, 1, 5)  # still the 5th in UTC
    clock.set(T0 + dt.timedelta(days=3))
    assert clock.now() == T0 + dt.timedelta(days=3)
    assert clock.today() == dt.date(2026, 1, 8)
    assert isinstance(clock, Clock)


def test_a_fixed_clock_gives_its_instant_in_utc_and_its_day_where_it_is_told() -> None:
    clock = FixedClock(T0.astimezone(VN), tz=VN)
    assert clock.now().tzinfo is dt.UTC
    assert clock.now() == T0
    assert clock.today() == dt.date(2026, 1, 5)
    clock.advance(dt.timedelta(seconds=31))  # midnight passes in Viet Nam
    assert clock.today() == dt.date(2026, 1, 6)


def test_a_pinned_day_stays_until_set_again() -> None:
    clock = FixedClock(T0, today=dt.date(2021, 7, 1))
    clock.advance(dt.timedelta(days=2))
    assert clock.today() == dt.date(2021, 7, 1)
    clock.set(T0)
    assert clock.today() == dt.date(2026, 1, 5)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(dt.datetime(2026, 1, 5, 9))
    clock = FixedClock(T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(dt.datetime(2026, 1, 5, 9))

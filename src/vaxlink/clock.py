"""The Clock port: the one place the time is read, so a test (or a replay) can set it.

`now()` is an instant, timezone-aware UTC. `today()` is the calendar day the plausibility rules
(a dose in the future, a birth date after the dose) compare with: the host's own date, what
`date.today()` gave before (production runs with `TZ=Asia/Ho_Chi_Minh`; docs/deployment.md).
Days that must be Viet Nam's whatever the host says (daily reports, their schedule) are derived
from `now()` with `vaxlink.reports.figures.local_day`, as before.

    from vaxlink.clock import Clock, SystemClock, FixedClock

    clock: Clock = SystemClock()             # what the composition root hands out
    clock = FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    clock.advance(timedelta(minutes=16))     # a test moves it on
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Where the time comes from."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def today(self) -> dt.date:
        """The current calendar day (the host's date; see the module docstring)."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return dt.date.today()

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until it is told to move (`set`, `advance`); for tests.

    Its day is `now()`'s date in `tz` (UTC unless given), or the day given with `today=`, so a
    test never depends on the host's time zone."""

    def __init__(
        self,
        now: dt.datetime,
        *,
        today: dt.date | None = None,
        tz: dt.tzinfo = dt.UTC,
    ) -> None:
        self._lock = threading.Lock()
        self._tz = tz
        self._today = today
        self._now = _aware(now)

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def today(self) -> dt.date:
        with self._lock:
            return self._today if self._today is not None else self._now.astimezone(self._tz).date()

    def set(self, now: dt.datetime, *, today: dt.date | None = None) -> None:
        """Jump to `now` (and, if given, pin the day to `today`; else it follows `now`)."""
        with self._lock:
            self._now = _aware(now)
            self._today = today

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move on by `delta` (a pinned day stays pinned); returns the new instant."""
        with self._lock:
            self._now = self._now + delta
            return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"

    def __getstate__(self) -> dict[str, object]:
        """A copy standing at the same time crosses into a child process (the lock does not)."""
        with self._lock:
            return {"now": self._now, "today": self._today, "tz": self._tz}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["now"], today=state["today"], tz=state["tz"])  # type: ignore[misc]


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock's time must be timezone-aware")
    return moment.astimezone(dt.UTC)

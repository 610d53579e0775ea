"""The figures refresh inside the web app: a daemon thread started by the app's lifespan that runs
`refresh.refresh` every few minutes (VAXLINK_REPORT_REFRESH_MINUTES), so the figures never freeze
when no `vaxlink report scheduler` runs; VAXLINK_REPORT_REFRESH_IN_APP=false turns it off (run the
scheduler instead). It never runs inside a request, and a failed run is logged and retried at the
next interval."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from vaxlink.reports.refresh import RefreshRun, refresh

log = logging.getLogger(__name__)


class PeriodicRefresh:
    """Run `job(engine, now=clock())` now and then every `every` seconds until `stop()` (the
    figures refresh by default; the web app runs its other periodic steps with it too)."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], dt.datetime],
        every: float,
        job: Callable[..., Any] = refresh,
        *,
        name: str = "vaxlink-figures",
    ) -> None:
        self._engine, self._clock, self._every, self._job = engine, clock, every, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        #: The last completed run (a `RefreshRun` for the figures), and how many runs failed.
        self.last: RefreshRun | Any = None
        self.failures = 0
        self.runs = 0

    def start(self) -> PeriodicRefresh:
        """Start the thread (the first run begins at once)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a run in progress to finish (up to `timeout`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self._job(self._engine, now=self._clock())
            except Exception:  # a bad run must not end the loop; it is retried next time
                self.failures += 1
                log.exception("%s failed; retrying in %.0f s", self._thread.name, self._every)
            self.runs += 1
            self._stop.wait(self._every)

"""The figures refresh inside the web app: a daemon thread started by the app's lifespan that runs
`refresh.refresh` every few minutes (VAXLINK_REPORT_REFRESH_MINUTES), so the figures never freeze
when no `vaxlink report scheduler` runs; VAXLINK_REPORT_REFRESH_IN_APP=false turns it off (run the
scheduler instead). It never runs inside a request, and a failed run is logged and retried at the
next interval."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from vaxlink.periodic import Periodic
from vaxlink.reports.refresh import refresh


class PeriodicRefresh(Periodic):
    """Run `job(engine, now=clock())` now and then every `every` seconds until `stop()` (the
    figures refresh by default); `last` is the last `RefreshRun`."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], dt.datetime],
        every: float,
        job: Callable[..., Any] = refresh,
        *,
        name: str = "vaxlink-figures",
    ) -> None:
        super().__init__(lambda: job(engine, now=clock()), every, name=name)

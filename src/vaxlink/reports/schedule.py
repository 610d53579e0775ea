"""When daily reports are due: a pure function of the clock, the configuration and what exists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vaxlink.reports.config import ReportSettings
from vaxlink.reports.figures import VN_TZ


@dataclass(frozen=True, order=True)
class Due:
    """One report to make: a unit of a level, for a day."""

    day: dt.date
    level: str
    code: str


def due_reports(
    now: dt.datetime,
    config: ReportSettings,
    units: Mapping[str, Iterable[str]],
    done: Iterable[tuple[dt.date, str, str]],
) -> list[Due]:
    """The reports due at `now`: for each level whose time (Viet Nam) has passed today, every unit
    of that level in `units` that has no report for today in `done` (day, level, code)."""
    local = now.astimezone(VN_TZ)
    today = local.date()
    made = set(done)
    out: list[Due] = []
    for level, at in sorted(config.times.items()):
        if local.time() < at:
            continue
        for code in sorted(set(units.get(level, ()))):
            if (today, level, code) not in made:
                out.append(Due(today, level, code))
    return sorted(out)

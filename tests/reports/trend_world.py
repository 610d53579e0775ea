"""Stored end-of-day figures written directly (no import run): the nation and three provinces
over 40 days, doses verified growing by 100 a day and corrected-and-linked by 10 a day, with
shares verified of 100 %, 85 % and 50 % in the three provinces (one of each colour level)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy.engine import Engine

from vaxlink.db import transaction
from vaxlink.reports.models import CampaignPhase, DailyFigures

LAST: Final = dt.date(2021, 11, 30)
DAYS: Final = 40
#: province -> share verified (of the doses it sent)
SHARES: Final = {"001": 1.0, "002": 0.85, "004": 0.5}
COMPUTED: Final = dt.datetime(2021, 12, 1, 1, 0, tzinfo=dt.UTC)


def _row(day: dt.date, i: int, level: str, province: str, share: float) -> DailyFigures:
    verified, corrected = 100 * (i + 1), 10 * (i + 1)
    linked = verified + corrected
    sent = round(linked / share)
    return DailyFigures(
        day=day, level=level, province_code=province, district_code="", ward_code="",
        site_code="", computed_at=COMPUTED, final=True, doses_recorded=sent + 5,
        doses_pending=5, doses_sent=sent, doses_verified=verified, doses_auto_linked=corrected,
        doses_review=sent - linked,
    )  # fmt: skip


def write_figures(engine: Engine) -> None:
    """40 days of figures ending on `LAST` for the nation and the three provinces."""
    with transaction(engine) as s:
        for i in range(DAYS):
            day = LAST - dt.timedelta(days=DAYS - 1 - i)
            for province, share in SHARES.items():
                s.add(_row(day, i, "province", province, share))
            # the nation: the three provinces' sum (its share is their combined share)
            rows = [_row(day, i, "province", p, sh) for p, sh in SHARES.items()]
            nation = _row(day, i, "nation", "", 1.0)
            for name in ("doses_recorded", "doses_pending", "doses_sent", "doses_verified",
                         "doses_auto_linked", "doses_review"):  # fmt: skip
                setattr(nation, name, sum(getattr(r, name) for r in rows))
            s.add(nation)


def add_phase(engine: Engine, *, name: str, starts: dt.date, deadline: dt.date) -> int:
    """A national campaign phase (share verified ≥ 95 %)."""
    with transaction(engine) as s:
        phase = CampaignPhase(
            name=name, unit_level="nation", unit_code="VN", starts_on=starts, deadline=deadline,
            target_kind="linked_share", target_share=0.95, active=True, created_at=COMPUTED,
            created_by="test",
        )  # fmt: skip
        s.add(phase)
        s.flush()
        return phase.id

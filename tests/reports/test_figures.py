"""The stored figures equal an independent count over the raw rows, for today and for past days,
and every level adds up to the level above it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.reports.expected import Key, expected
from tests.reports.world import DAY1, DAY2, NOW, TODAY, Built
from vaxlink.db import transaction
from vaxlink.reports.figures import end_of_day, refresh_day, refresh_due
from vaxlink.reports.models import COUNT_METRICS


def stored(built: Built, day: dt.date) -> tuple[dict[Key, dict[str, int]], dict[Key, float]]:
    cols = ", ".join(COUNT_METRICS)
    with built.engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT level, province_code, district_code, ward_code, site_code, {cols}, "
                "ticket_median_hours FROM report_daily_figures WHERE day = :d"
            ),
            {"d": day.isoformat() if built.engine.dialect.name == "sqlite" else day},
        ).all()
    figures, medians = {}, {}
    for r in rows:
        key = tuple(r[:5])
        figures[key] = {m: int(v) for m, v in zip(COUNT_METRICS, r[5:-1], strict=True) if v}
        if r[-1] is not None:
            medians[key] = float(r[-1])
    return {k: v for k, v in figures.items() if v}, medians


@pytest.mark.parametrize("day", [DAY1, DAY2, TODAY])
def test_figures_match_an_independent_count(
    built: Built, report_synth: dict[str, Path], day: dt.date
) -> None:
    with transaction(built.engine) as s:
        result = refresh_day(s, day, now=NOW)
    assert result.final is (day < TODAY)
    got, got_medians = stored(built, day)
    want, want_medians = expected(built.engine, report_synth["registry"], end_of_day(day), NOW)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == want[key], key
    assert got_medians.keys() == want_medians.keys()
    for key, value in want_medians.items():
        assert got_medians[key] == pytest.approx(value, abs=1e-3), key
    nation = got[("nation", "", "", "", "")]
    # The data set moves from day to day: something is recorded, linked and reported.
    assert nation["doses_recorded"] > 0
    if day == DAY1:
        assert "certificates_issued" not in nation
    else:
        assert nation["certificates_issued"] > 0
    assert nation["doses_recorded"] == nation.get("doses_sent", 0) + nation.get("doses_pending", 0)
    assert nation.get("doses_sent", 0) == sum(
        nation.get(f"doses_{s}", 0) for s in ("verified", "auto_linked", "review", "unmatched",
                                                "invalid")
    )  # fmt: skip


def test_levels_add_up_and_history_moves(built: Built) -> None:
    with transaction(built.engine) as s:
        results = refresh_due(s, now=NOW, backfill_days=2)
    assert [(r.day, r.final) for r in results] == [(DAY1, True), (DAY2, True), (TODAY, False)]
    by_day = {}
    for day in (DAY1, DAY2, TODAY):
        got, _ = stored(built, day)
        by_day[day] = got
        parents = {"ward": ("district", 3), "district": ("province", 2), "province": ("nation", 1)}
        for child, (parent, width) in parents.items():
            sums: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for key, figures in got.items():
                if key[0] == child:
                    for m, v in figures.items():
                        sums[key[1:width]][m] += v
            for key, figures in got.items():
                if key[0] == parent:
                    assert dict(sums[key[1:width]]) == figures, (day, key)
        site_sum: dict[str, int] = defaultdict(int)
        for key, figures in got.items():
            if key[0] == "site":
                for m, v in figures.items():
                    site_sum[m] += v
        nation = got[("nation", "", "", "", "")]
        for m in ("doses_recorded", "doses_verified", "doses_approved", "tickets_open"):
            assert site_sum.get(m, 0) == nation.get(m, 0), m
    n1, n2, n3 = (by_day[d][("nation", "", "", "", "")] for d in (DAY1, DAY2, TODAY))
    assert n1["doses_recorded"] < n2["doses_recorded"] < n3["doses_recorded"]
    assert n1.get("doses_sent", 0) < n2["doses_sent"] == n3["doses_sent"]
    assert "doses_pending" not in n2
    assert n3["doses_pending"] > 0
    assert n2["doses_review"] == 1
    assert "doses_review" not in n1
    assert "doses_review" not in n3
    assert n3.get("certificates_revoked", 0) == 1
    assert "certificates_revoked" not in n2


def test_refresh_is_idempotent_and_final_days_stay(built: Built) -> None:
    with transaction(built.engine) as s:
        refresh_due(s, now=NOW, backfill_days=1)
    first = stored(built, DAY2)
    with transaction(built.engine) as s:
        again = refresh_due(s, now=NOW + dt.timedelta(minutes=5))
    assert [r.day for r in again] == [TODAY], "a final day is not computed again"
    assert stored(built, DAY2) == first


def test_an_empty_store_has_an_all_zero_nation(store) -> None:
    with transaction(store) as s:
        result = refresh_day(s, TODAY, now=NOW)
    assert result.rows == 1
    got, medians = stored(Built(engine=store, url="", settings=None), TODAY)  # type: ignore[arg-type]
    assert got == {}
    assert medians == {}

"""The web app keeps the figures fresh by itself, outside requests (issue #13 point 5): a background
thread started by the lifespan refreshes every few minutes and survives a failed run; a page never
computes figures, and a day without them says so and when they were last computed."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.reports.world import NOW, TODAY, Built
from vaxlink.auth.roles import Role
from vaxlink.clock import FixedClock
from vaxlink.reports.background import PeriodicRefresh
from vaxlink.reports.refresh import RefreshRun, refresh
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

SECONDS = 60.0  # generous: the machine may be busy


def _wait(cond: Any) -> None:
    deadline = time.monotonic() + SECONDS
    while not cond():
        assert time.monotonic() < deadline, "the background refresh did not run"
        time.sleep(0.05)


def test_the_loop_repeats_survives_a_failure_and_stops() -> None:
    calls: list[dt.datetime] = []

    def job(_engine: Any, *, now: dt.datetime) -> RefreshRun:
        calls.append(now)
        if len(calls) == 2:
            raise RuntimeError("store unreachable")
        return RefreshRun(now)

    loop = PeriodicRefresh(None, lambda: NOW, every=0.01, job=job).start()  # type: ignore[arg-type]
    _wait(lambda: loop.runs >= 4)
    loop.stop()
    assert not loop.alive
    assert loop.failures == 1
    assert loop.last is not None
    assert calls[0] == NOW


def _nation_days(built: Built) -> list[str]:
    with built.engine.connect() as conn:
        return [str(d) for d in conn.execute(
            text("SELECT day FROM report_daily_figures WHERE level = 'nation'")).scalars()]  # fmt: skip


def test_the_app_refreshes_in_the_background(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAXLINK_REPORT_REFRESH_IN_APP", "true")
    assert _nation_days(built) == []
    app = create_app(Settings(data_dir=tmp_path, database_url=built.url), clock=FixedClock(NOW))
    with TestClient(app):
        loop = app.state.figures_refresh
        assert isinstance(loop, PeriodicRefresh)
        _wait(lambda: loop.runs >= 1)
        assert loop.failures == 0
        assert [d.day for d in loop.last.days] == [TODAY]
    assert not loop.alive  # stopped with the app
    (day,) = _nation_days(built)
    assert day.startswith(TODAY.isoformat())


def test_the_background_refresh_can_be_turned_off(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAXLINK_REPORT_REFRESH_IN_APP", "false")
    app = create_app(Settings(data_dir=tmp_path, database_url=built.url))
    with TestClient(app):
        assert app.state.figures_refresh is None


@pytest.mark.parametrize(
    ("lang", "says"),
    [("vi", "Chưa có số liệu cho ngày này"), ("en", "No figures yet for this day")],
)
def test_a_page_without_figures_says_so_and_computes_nothing(
    built: Built, staff_client: Any, lang: str, says: str
) -> None:
    client = staff_client(Role.NATIONAL_ISSUER, "VN")
    r = client.get("/dashboard", params={"lang": lang})
    assert r.status_code == 200, r.text
    assert says in r.text
    assert ("chưa chạy lần nào" if lang == "vi" else "not run yet") in r.text
    assert "10" in r.text.split(says, 1)[1][:80]  # every VAXLINK_REPORT_REFRESH_MINUTES (10)
    reports = client.get("/reports", params={"lang": lang})
    assert "reports-pending" in reports.text
    assert _nation_days(built) == []  # the request computed nothing


def test_the_notice_names_the_last_run(built: Built, staff_client: Any) -> None:
    refresh(built.engine, now=NOW)
    client = staff_client(Role.NATIONAL_ISSUER, "VN")
    shown = client.get("/dashboard", params={"lang": "en"})
    assert "No figures yet" not in shown.text
    other = client.get("/dashboard", params={"lang": "en", "day": "2025-02-01"})
    assert "No figures yet for this day" in other.text
    assert "last run: 10:00 03/03/2025 (UTC+7)" in other.text

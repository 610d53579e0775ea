"""The dashboard's period picker and daily trend over HTTP (SQLite and PostgreSQL), on stored
figures written by the test: the last 7 or 30 days, a campaign phase, typed dates (and clear
errors for bad ones); numbers and shares written per language."""

from __future__ import annotations

import datetime as dt
import re

from tests.reports.trend_world import LAST, add_phase, write_figures
from vaxlink.auth.roles import Role


def _days(html: str) -> list[tuple[str, int, int]]:
    return [(d, int(v), int(c)) for d, v, c in re.findall(
        r'<g class="day" data-day="([0-9-]+)" data-verified="(-?\d+)" data-corrected="(-?\d+)"',
        html)]  # fmt: skip


def test_period_picker_and_trend(staff_client) -> None:
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    write_figures(nation.engine)
    page = nation.get("/dashboard")
    assert page.status_code == 200, page.text[:500]
    days = _days(page.text)
    assert len(days) == 7  # the last 7 days by default, up to the latest day with figures
    assert days[-1][0] == LAST.isoformat()
    assert {(v, c) for _d, v, c in days} == {(300, 30)}  # 3 provinces x 100 and x 10 a day
    assert "Từ 24/11/2021 đến 30/11/2021" in page.text
    assert 'id="period-form"' in page.text

    month = nation.get("/dashboard", params={"period": "30"})
    assert len(_days(month.text)) == 30
    assert "&amp;period=30" in month.text  # drill-down links keep the period

    typed = nation.get("/dashboard", params={"period": "custom", "from": "5/11/2021",
                                             "to": "09/11/2021"})  # fmt: skip
    assert [d for d, _v, _c in _days(typed.text)] == [
        (dt.date(2021, 11, 5) + dt.timedelta(days=i)).isoformat() for i in range(5)
    ]
    assert "Ngày 09/11/2021" in typed.text  # the figures shown are those of the last day
    assert 'value="05/11/2021"' in typed.text

    bad = nation.get("/dashboard", params={"period": "custom", "from": "31/02/2021"})
    assert bad.status_code == 200
    assert "Ngày &#39;31/02/2021&#39; không đúng" in bad.text
    assert len(_days(bad.text)) == 7
    backwards = nation.get("/dashboard", params={"period": "custom", "from": "20/11/2021",
                                                 "to": "10/11/2021"})  # fmt: skip
    assert "sau ngày kết thúc" in backwards.text
    en = nation.get("/dashboard", params={"period": "custom", "from": "31/02/2021",
                                          "lang": "en"})  # fmt: skip
    assert "is not right" in en.text


def test_campaign_phase_as_the_period(staff_client) -> None:
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    write_figures(nation.engine)
    phase = add_phase(nation.engine, name="Đợt 2", starts=dt.date(2021, 11, 20),
                      deadline=dt.date(2021, 12, 31))  # fmt: skip
    page = nation.get("/dashboard", params={"period": f"phase-{phase}"})
    assert "Đợt: Đợt 2" in page.text
    days = _days(page.text)
    assert days[0][0] == "2021-11-20"
    assert days[-1][0] == LAST.isoformat()  # the phase so far


def test_numbers_per_language(staff_client) -> None:
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    write_figures(nation.engine)
    vi = nation.get("/dashboard").text
    en = nation.get("/dashboard", params={"lang": "en"}).text
    # Hà Giang on the last day: 5.181 recorded, 5.176 sent, 4.000 + 400 linked = 85,0 %
    cells = r"<td>5{0}181</td><td>5{0}176</td><td>4{0}400</td><td>776</td><td>85{1}</td>"
    assert re.search(cells.format(r"\.", ",0 %"), vi)
    assert re.search(cells.format(",", r"\.0%"), en)
    assert "85.0%" not in vi
    assert "85,0 %" not in en


def test_data_json_series_follows_the_period(staff_client) -> None:
    nation = staff_client(Role.NATIONAL_ISSUER, "VN")
    write_figures(nation.engine)
    data = nation.get("/dashboard/data", params={"day": LAST.isoformat(),
                                                 "since": "2021-11-28"}).json()  # fmt: skip
    assert [p["day"] for p in data["series"]] == ["2021-11-28", "2021-11-29", "2021-11-30"]

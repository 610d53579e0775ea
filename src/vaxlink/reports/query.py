"""Reading the stored figures: one unit, its children (one level down), its sites, its history.

Every read is an indexed lookup in `report_daily_figures`; nothing here touches the dose records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from vaxlink.facilities import service as facilities
from vaxlink.geo.codes import NATION, Level, UnitKey
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.reports.figures import LEGACY, q
from vaxlink.reports.models import COUNT_METRICS, MEDIAN_METRIC

_CHILD: Final = {
    Level.NATION: Level.PROVINCE,
    Level.PROVINCE: Level.DISTRICT,
    Level.DISTRICT: Level.WARD,
}
_COLUMN: Final = {
    Level.PROVINCE: "province_code",
    Level.DISTRICT: "district_code",
    Level.WARD: "ward_code",
}
_SELECT: Final = ", ".join((*COUNT_METRICS, MEDIAN_METRIC))


@dataclass(frozen=True)
class Figures:
    """The figures of one row: the counts, the median, and the headline the ministry quotes."""

    counts: dict[str, int]
    median_hours: float | None = None

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)

    @property
    def wrong(self) -> int:
        """Doses sent that did not come back linked to a citizen (review, unmatched, invalid)."""
        return self["doses_review"] + self["doses_unmatched"] + self["doses_invalid"]

    @property
    def linked(self) -> int:
        """Doses the registry confirmed (verified) or the linkage corrected (auto-linked)."""
        return self["doses_verified"] + self["doses_auto_linked"]

    @property
    def linked_share(self) -> float | None:
        """Linked doses per dose sent, or None when nothing was sent."""
        sent = self["doses_sent"]
        return self.linked / sent if sent else None

    def as_dict(self) -> dict[str, Any]:
        """Every figure by name, the derived headline included (for JSON and files)."""
        out: dict[str, Any] = {m: self[m] for m in COUNT_METRICS}
        out["doses_linked"] = self.linked
        out["doses_wrong"] = self.wrong
        out["linked_share"] = None if self.linked_share is None else round(self.linked_share, 4)
        out[MEDIAN_METRIC] = None if self.median_hours is None else round(self.median_hours, 2)
        return out


EMPTY: Final = Figures({})


@dataclass(frozen=True)
class Row:
    """One line of a table: a unit or a site, its label and its figures."""

    key: str  # "province:001", "site:F0011234", or "" for rows not given a place
    label: str
    figures: Figures
    drill: UnitKey | None = None


@dataclass(frozen=True)
class UnitView:
    """A unit with its name and its path from the nation (for breadcrumbs)."""

    key: UnitKey
    name: str
    path: tuple[tuple[UnitKey, str], ...] = field(default=())


def index() -> UnitIndex:
    """The list of administrative units the campaign's records use."""
    return UnitIndex.for_version(LEGACY)


def unit_name(key: UnitKey) -> str:
    """The unit's name, or its code when the list does not know it."""
    try:
        return index().get(key).name
    except GeoError:
        return key.code


def view(key: UnitKey) -> UnitView:
    """The unit with its path of names (a unit unknown to the list keeps a one-step path)."""
    try:
        path = index().path(key)
    except GeoError:
        path = (NATION, key) if key != NATION else (NATION,)
    return UnitView(key, unit_name(key), tuple((k, unit_name(k)) for k in path))


def child_level(level: Level) -> Level | None:
    """The level one step below `level` (None for a ward)."""
    return _CHILD.get(level)


def latest_day(session: Session) -> dt.date | None:
    """The most recent day that has figures."""
    value = session.execute(
        text("SELECT MAX(day) FROM report_daily_figures WHERE level = 'nation'")
    ).scalar_one()
    if value is None:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def computed_at(session: Session, day: dt.date) -> dt.datetime | None:
    """When the figures of `day` were computed (UTC)."""
    value = session.execute(
        q("SELECT computed_at FROM report_daily_figures WHERE day = :day AND level = 'nation'"),
        {"day": day},
    ).scalar_one_or_none()
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _figures(row: Any) -> Figures:
    counts = {m: int(v or 0) for m, v in zip(COUNT_METRICS, row[: len(COUNT_METRICS)], strict=True)}
    median = row[len(COUNT_METRICS)]
    return Figures(counts, None if median is None else float(median))


def _where(key: UnitKey) -> tuple[str, dict[str, Any]]:
    if key.level is Level.NATION:
        return "level = 'nation'", {}
    return f"level = '{key.level.value}' AND {_COLUMN[key.level]} = :code", {"code": key.code}


def unit_figures(session: Session, day: dt.date, key: UnitKey) -> Figures:
    """The figures of one unit on one day (all zero when it had nothing)."""
    cond, params = _where(key)
    row = session.execute(
        q(f"SELECT {_SELECT} FROM report_daily_figures WHERE day = :day AND {cond}"),
        {"day": day, **params},
    ).first()
    return EMPTY if row is None else _figures(row)


def children(session: Session, day: dt.date, key: UnitKey) -> list[Row]:
    """The units one level below `key` that have figures, by code; rows whose place below `key`
    was not given come last, so the rows always add up to `key`."""
    level = child_level(key.level)
    if level is None:
        return []
    cond = "" if key.level is Level.NATION else f" AND {_COLUMN[key.level]} = :code"
    col = _COLUMN[level]
    rows = session.execute(
        q(
            f"SELECT {col}, {_SELECT} FROM report_daily_figures WHERE day = :day "
            f"AND level = '{level.value}'{cond} ORDER BY {col}"
        ),
        {"day": day, "code": key.code},
    ).all()
    out: list[Row] = []
    unknown: list[Row] = []
    for r in rows:
        code = str(r[0])
        if not code:
            unknown.append(Row("", "", _figures(r[1:])))
            continue
        child = UnitKey(level, code)
        out.append(Row(str(child), unit_name(child), _figures(r[1:]), drill=child))
    return out + unknown


def sites(session: Session, day: dt.date, key: UnitKey) -> list[Row]:
    """Vaccination sites' figures within `key` (nation, province or district), by site code,
    each labelled "Name (CODE)" when the site list names it."""
    if key.level is Level.WARD:
        return []
    cond = "" if key.level is Level.NATION else f" AND {_COLUMN[key.level]} = :code"
    sums = ", ".join(f"SUM({m})" for m in COUNT_METRICS)
    # A site's median is only known per district; across districts it is left out.
    median = f"MAX({MEDIAN_METRIC})" if key.level is Level.DISTRICT else "NULL"
    rows = session.execute(
        q(
            f"SELECT site_code, {sums}, {median} FROM report_daily_figures WHERE day = :day "
            f"AND level = 'site'{cond} GROUP BY site_code ORDER BY site_code"
        ),
        {"day": day, "code": key.code},
    ).all()
    known = facilities.names(session, (str(r[0]) for r in rows))
    return [Row(f"site:{r[0]}" if r[0] else "", facilities.label(str(r[0]), known),
                _figures(r[1:])) for r in rows]  # fmt: skip


def series(
    session: Session, key: UnitKey, *, until: dt.date, days: int = 120
) -> list[tuple[dt.date, Figures]]:
    """The unit's figures for each computed day up to `until` (at most `days` of them)."""
    cond, params = _where(key)
    rows = session.execute(
        q(
            f"SELECT day, {_SELECT} FROM report_daily_figures WHERE {cond} AND day <= :day "
            f"AND day > :since ORDER BY day"
        ),
        {"day": until, "since": until - dt.timedelta(days=days), **params},
    ).all()
    return [
        (r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(str(r[0])), _figures(r[1:]))
        for r in rows
    ]


def worst(rows: list[Row], n: int = 10) -> list[Row]:
    """The `n` rows with the lowest share of linked doses among those sent (ties: more wrong)."""
    ranked = [r for r in rows if r.figures.linked_share is not None]
    ranked.sort(key=lambda r: (r.figures.linked_share, -r.figures.wrong, r.key))
    return ranked[:n]

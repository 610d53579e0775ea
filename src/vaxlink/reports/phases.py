"""Campaign phases (đợt) with a deadline and a target, and each phase's progress for a unit.

Progress is read from the stored figures (`report_daily_figures`, one indexed row per unit and
day); nothing here touches dose records. A phase set for a unit applies to it and every unit
below it. Its state on a day:

- `met`: the target share is reached;
- `late`: the deadline has passed and it is not;
- `on_track`: the share is at least the target scaled by the time elapsed since the start
  (a straight line from 0 on the first day to the target on the deadline);
- `at_risk`: below that line, deadline not passed;
- `no_data`: nothing to measure yet (no dose sent, no citizen report, ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vaxlink.errors import InvalidInput, NotFound
from vaxlink.geo.codes import NATION, Level, UnitKey, unit_key
from vaxlink.geo.errors import GeoError
from vaxlink.reports import query
from vaxlink.reports.models import CampaignPhase
from vaxlink.reports.query import Figures

#: target kind -> (Vietnamese, English) name of what is measured.
TARGETS: Final[dict[str, tuple[str, str]]] = {
    "linked_share": ("Tỷ lệ mũi tiêm đã xác thực", "Share of doses verified"),
    "people_verified_share": ("Tỷ lệ người đã tiêm được xác thực", "Share of vaccinated people verified"),
    "tickets_answered": ("Tỷ lệ phản ánh đã giải quyết", "Share of citizen reports answered"),
}  # fmt: skip
STATES: Final = ("met", "on_track", "at_risk", "late", "no_data")


class PhaseError(InvalidInput):
    """A phase that cannot be stored as given."""

    code = "campaign_phase_invalid"


class PhaseNotFound(NotFound):
    """No campaign phase has this id."""

    code = "campaign_phase_not_found"


@dataclass(frozen=True)
class PhaseProgress:
    """One phase as a unit stands against it on one day."""

    phase: CampaignPhase
    value: float | None
    expected: float
    days_left: int
    state: str

    @property
    def percent(self) -> str:
        return "–" if self.value is None else f"{self.value * 100:.1f}%"


def measure(kind: str, f: Figures) -> float | None:
    """The share a target kind measures from one unit's figures (None when nothing to measure)."""
    if kind == "linked_share":
        return f.linked_share
    if kind == "people_verified_share":
        people = f["people_verified"] + f["people_not_verified"]
        return f["people_verified"] / people if people else None
    if kind == "tickets_answered":
        tickets = f["tickets_open"] + f["tickets_resolved"]
        return f["tickets_resolved"] / tickets if tickets else None
    raise PhaseError(f"chỉ tiêu '{kind}' không có / unknown target '{kind}'")


def state_of(phase: CampaignPhase, value: float | None, day: dt.date) -> tuple[str, float, int]:
    """(state, expected share on `day`, days left) of a phase whose unit stands at `value`."""
    days_left = (phase.deadline - day).days
    span = (phase.deadline - phase.starts_on).days + 1
    elapsed = min(max((day - phase.starts_on).days + 1, 0), span)
    expected = phase.target_share * elapsed / span
    if value is None:
        return ("late" if days_left < 0 else "no_data"), expected, days_left
    if value >= phase.target_share:
        return "met", expected, days_left
    if days_left < 0:
        return "late", expected, days_left
    return ("on_track" if value >= expected else "at_risk"), expected, days_left


def _place(unit: str) -> UnitKey:
    try:
        return unit_key(unit.strip() or "VN")
    except GeoError as exc:
        raise PhaseError(str(exc)) from exc


def codes_of(key: UnitKey) -> dict[str, str]:
    """{"province", "district", "ward"} codes of a unit's path ('' above its level)."""
    codes: dict[Level, str] = {}
    if key != NATION:
        codes = {k.level: k.code for k, _ in query.view(key).path}
    return {"province": codes.get(Level.PROVINCE, ""), "district": codes.get(Level.DISTRICT, ""),
            "ward": codes.get(Level.WARD, "")}  # fmt: skip


def create(
    session: Session, *, name: str, unit: str, starts_on: dt.date, deadline: dt.date,
    target_kind: str, target_percent: float, by: str, now: dt.datetime,
) -> CampaignPhase:  # fmt: skip
    """A new active phase (flushed); PhaseError when a field cannot be used."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise PhaseError("tên đợt phải có, tối đa 200 ký tự / a phase name is required (≤ 200)")
    if target_kind not in TARGETS:
        raise PhaseError(f"chỉ tiêu '{target_kind}' không có; chọn một trong: "
                         f"{', '.join(TARGETS)} / unknown target")  # fmt: skip
    if not 0 < target_percent <= 100:
        raise PhaseError("mục tiêu là phần trăm từ 1 đến 100 / the target is a percentage")
    if deadline < starts_on:
        raise PhaseError("hạn chót trước ngày bắt đầu / the deadline is before the start")
    key = _place(unit)
    codes = codes_of(key)
    phase = CampaignPhase(
        name=name, unit_level=key.level.value, unit_code=key.code, province_code=codes["province"],
        district_code=codes["district"], ward_code=codes["ward"], starts_on=starts_on,
        deadline=deadline, target_kind=target_kind, target_share=target_percent / 100,
        active=True, created_at=now, created_by=by,
    )  # fmt: skip
    session.add(phase)
    session.flush()
    return phase


def get(session: Session, phase_id: int) -> CampaignPhase:
    phase = session.get(CampaignPhase, phase_id)
    if phase is None:
        raise PhaseNotFound(f"không có đợt số {phase_id} / no campaign phase {phase_id}")
    return phase


def set_active(session: Session, phase: CampaignPhase, active: bool) -> None:
    """End (or resume) a phase; phases are never deleted."""
    phase.active = active
    session.flush()


def listing(session: Session, key: UnitKey | None = None) -> Sequence[CampaignPhase]:
    """Every phase (key None) or those set for `key`'s area and below, newest deadline first."""
    q = select(CampaignPhase)
    if key is not None and key != NATION:
        column = {Level.PROVINCE: CampaignPhase.province_code,
                  Level.DISTRICT: CampaignPhase.district_code,
                  Level.WARD: CampaignPhase.ward_code}[key.level]  # fmt: skip
        q = q.where(column == key.code)
    return session.scalars(q.order_by(CampaignPhase.deadline.desc(), CampaignPhase.id)).all()


def applying(session: Session, key: UnitKey, day: dt.date) -> Sequence[CampaignPhase]:
    """Active phases that apply to unit `key` (set for it or a unit above) and started by `day`."""
    codes = codes_of(key)
    clauses = [CampaignPhase.unit_level == "nation"]
    for level in ("province", "district", "ward"):
        if codes[level]:
            column = getattr(CampaignPhase, f"{level}_code")
            clauses.append((CampaignPhase.unit_level == level) & (column == codes[level]))
    q = select(CampaignPhase).where(CampaignPhase.active.is_(True), CampaignPhase.starts_on <= day,
                                    or_(*clauses))  # fmt: skip
    return session.scalars(q.order_by(CampaignPhase.deadline, CampaignPhase.id)).all()


def progress(session: Session, key: UnitKey, day: dt.date, figures: Figures) -> list[PhaseProgress]:
    """Each phase applying to `key` on `day`, measured on the unit's stored `figures` of `day`."""
    out = []
    for phase in applying(session, key, day):
        value = measure(phase.target_kind, figures)
        state, expected, days_left = state_of(phase, value, day)
        out.append(PhaseProgress(phase, value, expected, days_left, state))
    return out

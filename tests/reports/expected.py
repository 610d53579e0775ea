"""The figures computed independently of the SQL: plain Python over the raw rows of the store and
the synthetic registry file, using the Python index of administrative units for the roll-up."""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.index import UnitIndex

LINKED = {"verified", "auto_linked"}
SENT = {"verified", "auto_linked", "review", "unmatched", "invalid"}
CHIP = {"cccd12", "cccd12_lost_zeros"}
IDENTITY_FIRST = dt.date(2021, 10, 20)
Key = tuple[str, str, str, str, str]  # level, province, district, ward, site


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def place(index: UnitIndex, p: str | None, d: str | None, w: str | None) -> tuple[str, str, str]:
    """Province, district, ward of a row: the ward's own parents when the ward is known."""
    if w and UnitKey(Level.WARD, w) in index:
        path = index.path(UnitKey(Level.WARD, w))
        return path[1].code, path[2].code, w
    if d and UnitKey(Level.DISTRICT, d) in index:
        path = index.path(UnitKey(Level.DISTRICT, d))
        return path[1].code, d, w or ""
    return p or "", d or "", w or ""


def _keys(p: str, d: str, w: str) -> list[Key]:
    return [
        ("nation", "", "", "", ""),
        ("province", p, "", "", ""),
        ("district", p, d, "", ""),
        ("ward", p, d, w, ""),
    ]


def expected(
    engine: Engine, registry: Path, t: dt.datetime, now: dt.datetime
) -> tuple[dict[Key, dict[str, int]], dict[Key, float]]:
    """Every figure of every unit and site as of instant `t` (end of a day), seen at `now`."""
    index = UnitIndex.for_version("2008-2025")
    live = t > now
    ref = min(t, now)
    out: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with engine.connect() as conn:
        doses = conn.execute(text(
            "SELECT d.id, d.province_code, d.district_code, d.ward_code, d.facility_code, d.status,"
            " d.citizen_id, b.started_at, d.id_number, d.id_kind, d.name_folded, d.date_of_birth,"
            " d.vaccination_date FROM dose_record d JOIN import_batch b ON b.id = d.batch_id"
        )).all()  # fmt: skip
        links = conn.execute(
            text("SELECT dose_record_id, decided_at, id, status, citizen_id FROM dose_link")
        ).all()
        approvals = conn.execute(text(
            "SELECT ar.dose_id, a.approved_at FROM facility_approval_record ar "
            "JOIN facility_approval a ON a.id = ar.approval_id"
        )).all()  # fmt: skip
        certs = conn.execute(text(
            "SELECT c.id, c.citizen_id, c.created_at, c.exp, c.status, c.status_changed_at, "
            "r.revoked_at FROM certificate c LEFT JOIN revocation r ON r.certificate_id = c.id"
        )).all()  # fmt: skip
        tickets = conn.execute(text(
            "SELECT province_code, district_code, ward_code, facility_code, status, created_at, "
            "due_at, resolved_at FROM feedback_ticket"
        )).all()  # fmt: skip
        corrections = (
            conn.execute(text(
                "SELECT dose_record_id, at, id, new_value FROM dose_correction "
                "WHERE field = 'status'"
            )).all()
            if inspect(conn).has_table("dose_correction")
            else []
        )  # fmt: skip
    history: dict[int, list[tuple[dt.datetime, int, int, str, str | None]]] = defaultdict(list)
    for dose_id, decided, link_id, status, citizen in links:
        history[dose_id].append((_utc(decided), 0, link_id, status, citizen))
    for dose_id, when, corr_id, status in corrections:
        history[dose_id].append((_utc(when), 1, corr_id, status, None))
    where: dict[int, tuple[str, str, str, str]] = {}
    linked_people: set[str] = set()
    chip_people: set[str] = set()  # verified citizens with a 12-digit number on a linked record
    linked_keys: set[str] = set()
    # person key -> (latest vaccination date, dose id, place, whether that record has a chip ID)
    unlinked: dict[str, tuple[str, int, tuple[str, str, str], bool]] = {}
    for dose_id, p, d, w, f, status, citizen, started, idn, kind, folded, dob, vday in doses:
        where[dose_id] = (*place(index, p, d, w), f or "")
        if _utc(started) >= t:
            continue
        if not live and history[dose_id]:
            before = sorted(e for e in history[dose_id] if e[0] < t)
            status, citizen = (
                (before[-1][3], before[-1][4] or citizen) if before else ("pending", None)
            )
        pp, dd, ww, ff = where[dose_id]
        names = ["doses_recorded", "doses_sent" if status in SENT else "doses_pending"]
        if status in SENT:
            names.append(f"doses_{status}")
        if str(vday) >= IDENTITY_FIRST.isoformat() and status not in LINKED:
            names.append("doses_identity_first_unverified")
        for key in [*_keys(pp, dd, ww), ("site", pp, dd, "", ff)]:
            for name in names:
                out[key][name] += 1
        person = idn if idn is not None else f"{folded}|{dob or ''}"
        if status in LINKED:
            linked_keys.add(person)
            if citizen:
                linked_people.add(citizen)
                if kind in CHIP:
                    chip_people.add(citizen)
        else:
            seen = unlinked.get(person)
            if seen is None or (str(vday), dose_id) > seen[:2]:
                unlinked[person] = (str(vday), dose_id, (pp, dd, ww), kind in CHIP)
    residence: dict[str, tuple[str, str, str]] = {}
    with registry.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            home = place(index, r["province_code"], r["district_code"], r["ward_code"])
            residence[r["citizen_id"]] = home
            if r["citizen_id"] in linked_people:
                for key in _keys(*home):
                    out[key]["people_verified"] += 1
                    out[key]["people_without_chip"] += int(r["citizen_id"] not in chip_people)
    for person, (_day, _dose, home, chip) in unlinked.items():
        if person in linked_keys or person in linked_people:
            continue
        for key in _keys(*home):
            out[key]["people_not_verified"] += 1
            out[key]["people_without_chip"] += int(not chip)
    approved: dict[int, dt.datetime] = {}
    for dose_id, approved_at in approvals:
        when = _utc(approved_at)
        approved[dose_id] = min(when, approved.get(dose_id, when))
    for dose_id, when in approved.items():
        if when < t:
            pp, dd, ww, ff = where[dose_id]
            for key in [*_keys(pp, dd, ww), ("site", pp, dd, "", ff)]:
                out[key]["doses_approved"] += 1
    for _id, citizen, created, exp, status, changed, revoked in certs:
        if _utc(created) >= t:
            continue
        home = residence.get(citizen, ("", "", ""))
        rev = revoked is not None and _utc(revoked) < t
        gone = status != "active" and changed is not None and _utc(changed) < t
        soon = ref < _utc(exp) <= ref + dt.timedelta(days=30) and not gone and not rev
        for key in _keys(*home):
            out[key]["certificates_issued"] += 1
            out[key]["certificates_revoked"] += int(rev)
            out[key]["certificates_expiring"] += int(soon)
    durations: dict[Key, list[float]] = defaultdict(list)
    for p, d, w, f, status, created, due, resolved in tickets:
        if _utc(created) >= t:
            continue
        pp, dd, ww = place(index, p, d, w)
        closed = resolved is not None and _utc(resolved) < t
        keys = [*_keys(pp, dd, ww), ("site", pp, dd, "", f or "")]
        for key in keys:
            out[key]["tickets_open"] += int(not closed)
            out[key]["tickets_overdue"] += int(not closed and _utc(due) < ref)
            out[key]["tickets_resolved"] += int(closed and status == "resolved")
            if closed and status == "resolved":
                durations[key].append((_utc(resolved) - _utc(created)).total_seconds() / 3600)
    figures = {k: {m: n for m, n in v.items() if n} for k, v in out.items()}
    medians = {k: statistics.median(v) for k, v in durations.items()}
    return {k: v for k, v in figures.items() if v}, medians

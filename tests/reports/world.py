"""A small, fully processed data set for the report tests: synthetic citizens and doses imported in
two batches on two days, linked by two runs, some approvals, certificates, a revocation and
citizen reports, with every timestamp set to a known instant so past days can be checked."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, inspect, select, text, update
from sqlalchemy.engine import Engine

from vaxlink import compose
from vaxlink.certificates import service as certificates
from vaxlink.certificates.service import Certificate, DccType, approve_records, issue_batch, revoke
from vaxlink.clock import FixedClock, SystemClock
from vaxlink.db import UtcDateTime, transaction
from vaxlink.feedback.models import Ticket
from vaxlink.geo.service import load_units
from vaxlink.ingest.models import ImportBatch
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.linkage.store import verify_store
from vaxlink.records.importer import import_doses
from vaxlink.registry.importer import load_registry
from vaxlink.reports.figures import VN_TZ
from vaxlink.settings import Settings
from vaxlink.synth import generate, write

DAY1 = dt.date(2025, 3, 1)
DAY2 = dt.date(2025, 3, 2)
#: "Now" in the tests: the morning of the third day (Viet Nam time).
NOW = dt.datetime(2025, 3, 3, 10, 0, tzinfo=VN_TZ).astimezone(dt.UTC)
TODAY = dt.date(2025, 3, 3)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An instant of `day` in Viet Nam, as UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), VN_TZ).astimezone(dt.UTC)


def make_synth(out: Path, citizens: int = 400, seed: int = 7) -> dict[str, Path]:
    """Synthetic registry and doses, the doses split in two files (two import days)."""
    paths = write(generate(citizens, seed=seed), out)
    with paths["doses"].open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    half, last = len(rows) // 2, len(rows) - len(rows) // 10
    parts = (("doses_a", rows[:half]), ("doses_b", rows[half:last]), ("doses_c", rows[last:]))
    for name, part in parts:
        paths[name] = out / f"{name}.csv"
        with paths[name].open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(part)
    return paths


@dataclass
class Built:
    """What the builder made, for the tests' own independent counts."""

    engine: Engine
    url: str
    settings: Settings
    tickets: list[dict[str, Any]] = field(default_factory=list)
    revoked_uvci: str = ""


def _stamp_batches(engine: Engine, since_id: int, moment: dt.datetime) -> None:
    with transaction(engine) as s:
        s.execute(update(ImportBatch).where(ImportBatch.id > since_id).values(started_at=moment))


def _last_batch(engine: Engine) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(ImportBatch.id).order_by(ImportBatch.id.desc()).limit(1)) or 0)


def _stamp_links(engine: Engine, run_id: int | None, moment: dt.datetime) -> None:
    assert run_id is not None
    with transaction(engine) as s:
        s.execute(update(DoseLink).where(DoseLink.run_id == run_id).values(decided_at=moment))


def build(url: str, engine: Engine, data_dir: Path, synth: dict[str, Path]) -> Built:
    """Import, link, approve, issue, revoke and report, each at a known instant."""
    settings = Settings(data_dir=data_dir, database_url=url)
    built = Built(engine=engine, url=url, settings=settings)
    with transaction(engine) as s:
        load_units(s, "2008-2025")
    load_registry(engine, synth["registry"], settings=settings, today=DAY1, clock=SystemClock())
    _stamp_batches(engine, 0, at(DAY1, 7))
    model = compose.build(Settings()).link_model
    # Day 1: the first file arrives at 08:00 and is linked at 11:00.
    before = _last_batch(engine)
    import_doses(engine, synth["doses_a"], settings=settings, today=DAY1, clock=SystemClock())
    _stamp_batches(engine, before, at(DAY1, 8))
    run1 = verify_store(url, settings, model, clock=FixedClock(at(DAY1, 11)), today=DAY1)
    _stamp_links(engine, run1.run_id, at(DAY1, 11))
    # Day 2: the second file arrives at 09:00; it is linked at 23:30 (still day 2 in Viet Nam,
    # already day 2 16:30 UTC) — and a late run just after midnight would belong to day 3.
    before = _last_batch(engine)
    import_doses(engine, synth["doses_b"], settings=settings, today=DAY2, clock=SystemClock())
    _stamp_batches(engine, before, at(DAY2, 9))
    run2 = verify_store(url, settings, model, clock=FixedClock(at(DAY2, 23, 30)), today=DAY2)
    _stamp_links(engine, run2.run_id, at(DAY2, 23, 30))
    # Day 2, 14:00: a station corrects a linked dose of day 1 (back to pending); a reviewer sends
    # it to review at 15:00 and confirms it this morning (today 08:00).
    _human_history(engine)
    # Today 08:00: the third file arrives; it is not linked yet.
    before = _last_batch(engine)
    import_doses(engine, synth["doses_c"], settings=settings, today=TODAY, clock=SystemClock())
    _stamp_batches(engine, before, at(TODAY, 8))
    _approve_and_issue(built)
    _tickets(built)
    return built


def _human_history(engine: Engine) -> None:
    with transaction(engine) as s:
        dose_id, citizen = s.execute(
            text("SELECT id, citizen_id FROM dose_record WHERE status = 'auto_linked' "
                 "ORDER BY id LIMIT 1")
        ).one()  # fmt: skip
        runs = []
        for started in (at(DAY2, 15), at(TODAY, 8)):
            run = LinkRunRecord(started_at=started, finished_at=started, engine="human",
                                model_name="human", model_version=0, model_digest="-")  # fmt: skip
            s.add(run)
            s.flush()
            runs.append(run.id)
        has_corrections = inspect(s.connection()).has_table("dose_correction")
        if has_corrections:
            s.execute(
                text("INSERT INTO dose_correction (dose_record_id, version, kind, base_version, "
                     "at, field, old_value, new_value) VALUES (:d, 1, 'correction', 2, :at, "
                     "'status', 'auto_linked', 'pending')").bindparams(
                    bindparam("at", type_=UtcDateTime())),
                {"d": dose_id, "at": at(DAY2, 14)},
            )  # fmt: skip
        s.add(DoseLink(dose_record_id=dose_id, run_id=runs[0], status="review", citizen_id=None,
                       candidates=[], decided_at=at(DAY2, 15)))  # fmt: skip
        s.add(DoseLink(dose_record_id=dose_id, run_id=runs[1], status="verified",
                       citizen_id=citizen, candidates=[], decided_at=at(TODAY, 8)))  # fmt: skip
        s.execute(text("UPDATE dose_record SET status = 'verified', version = version + 1 "
                       "WHERE id = :d"), {"d": dose_id})  # fmt: skip


def _approve_and_issue(built: Built) -> None:
    start = at(DAY1, 0) - dt.timedelta(days=2)
    csca = certificates.create_csca(country="VN", organization="Bộ Y tế", now=start)
    dsc = certificates.create_dsc(csca, now=start, common_name="DSC", types=(DccType.VACCINATION,),
                          validity_days=3 * 365)  # fmt: skip
    with transaction(built.engine) as s:
        sites = s.scalars(
            text("SELECT facility_code FROM dose_record WHERE status IN ('verified', "
                 "'auto_linked') GROUP BY facility_code ORDER BY COUNT(*) DESC, facility_code")
        ).all()  # fmt: skip
    chosen = list(sites[: max(3, len(sites) // 3)])
    for n, site in enumerate(chosen):
        signer = certificates.create_facility_signer(csca, facility_code=site, facility_name=site,
                                             now=start)  # fmt: skip
        day = DAY1 if n % 2 else DAY2
        moment = at(day, 12) if day == DAY1 else at(day, 23, 45)
        with transaction(built.engine) as s:
            approve_records(s, signer, facility_code=site, approver="Trưởng trạm", now=moment)
    # Certificates issued on day 2 evening; a second batch this morning for the rest.
    issue_batch(built.engine, dsc, issuer_name="Bộ Y tế", by="tester", now=at(DAY2, 20))
    with transaction(built.engine) as s:
        certs = s.scalars(select(Certificate).order_by(Certificate.id)).all()
        assert len(certs) >= 4, "the data set needs a few certificates"
        # Two expire soon: within 30 days of day 2's end, and (another) only of today.
        certs[1].exp = at(DAY2, 12) + dt.timedelta(days=20)
        certs[2].exp = at(TODAY, 9) + dt.timedelta(days=30)
        uvci = certs[0].uvci
    with transaction(built.engine) as s:
        revoke(s, uvci, reason="wrong dose", by="tester", now=at(TODAY, 9))
    built.revoked_uvci = uvci


def _tickets(built: Built) -> None:
    """Citizen reports in a few wards: open, overdue, resolved at known durations, rejected."""
    with transaction(built.engine) as s:
        places = s.execute(
            text("SELECT DISTINCT d.province_code, d.district_code, d.ward_code, d.facility_code, "
                 "d.citizen_id FROM dose_record d WHERE d.ward_code IS NOT NULL "
                 "AND d.citizen_id IS NOT NULL ORDER BY d.ward_code, d.facility_code LIMIT 6")
        ).all()  # fmt: skip
        plan = [
            # (created, due, resolved, status)
            (at(DAY1, 9), at(DAY1, 9) + dt.timedelta(days=5), at(DAY1, 15), "resolved"),
            (at(DAY1, 10), at(DAY1, 10) + dt.timedelta(days=1), None, "new"),
            (at(DAY1, 10), at(DAY1, 10) + dt.timedelta(days=5), at(DAY2, 10), "resolved"),
            (at(DAY2, 8), at(DAY2, 8) + dt.timedelta(days=5), at(DAY2, 9), "rejected"),
            (at(DAY2, 8), at(DAY2, 8) + dt.timedelta(days=5), at(TODAY, 9), "resolved"),
            (at(DAY2, 14), at(DAY2, 14) + dt.timedelta(hours=12), None, "in_progress"),
            (at(DAY1, 20), at(DAY1, 20) + dt.timedelta(days=5), at(DAY2, 2), "resolved"),
            (at(TODAY, 8), at(TODAY, 8) + dt.timedelta(days=5), None, "new"),
        ]
        for i, (created, due, resolved, status) in enumerate(plan):
            p, d, w, f, c = places[i % len(places)]
            row = {"citizen_id": c, "kind": "wrong_record", "status": status,
                   "description": "sai ngày tiêm", "created_at": created, "due_at": due,
                   "resolved_at": resolved, "province_code": p, "district_code": d,
                   "ward_code": w, "facility_code": f}  # fmt: skip
            s.add(Ticket(**row))
            built.tickets.append(row)

"""A small campaign for the phase and ageing tests: two districts' sites, doses waiting in the
worklist for known times, stored figures for one day, and phases in every state."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.engine import Engine

from vaxlink.db import transaction
from vaxlink.facilities import service as facilities
from vaxlink.facilities.service import FacilityInput
from vaxlink.ingest.models import ImportBatch
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.records.models import DoseRecord
from vaxlink.reports import phases
from vaxlink.reports.figures import local_day
from vaxlink.reports.models import DailyFigures

#: A site name that would be a formula in a spreadsheet program: must stay text in the export.
FORMULA_SITE = '=HYPERLINK("http://evil.example/x","Trạm Y tế Phúc Xá")'
HEAD = "Nguyễn Văn Trưởng"
_rows = itertools.count(1)


def _dose(batch: int, site: str, ward: str, district: str, status: str) -> DoseRecord:
    n = next(_rows)
    return DoseRecord(
        record_id=f"AG{n:06d}", batch_id=batch, source_row=n, row_hash="x", full_name="Lê Thị Hoa",
        name_folded="le thi hoa", date_of_birth="1990-01-01", dob_precision="day", sex="F",
        id_number=None, id_kind="none", vaccine_key="Comirnaty", vaccine_mp="EU/1/20/1528",
        lot_number="FK1", vaccination_date=dt.date(2021, 10, 1), dose_number=1,
        dose_category="primary", dose_sequence=1, facility_code=site, status=status,
        citizen_id=None, province_code="001", district_code=district, ward_code=ward,
    )  # fmt: skip


def build_ageing(engine: Engine, now: dt.datetime) -> dict[str, int]:
    """Sites F-BD (ward 00001, district 001, head HEAD), F-HK (ward 00037, district 002) and an
    unlisted site in ward 00004 (district 001); their worklist doses aged 20, 1, 5 and 10 days."""
    with transaction(engine) as s:
        facilities.upsert_many(s, [
            FacilityInput("F-BD", FORMULA_SITE, "00001", "health_station", HEAD, "0912345678"),
            FacilityInput("F-HK", "Trạm Y tế Hàng Bạc", "00037", "health_station", "Trần Thị Khác"),
        ], now=now)  # fmt: skip
        batch = ImportBatch(kind="doses", file_name="ageing.csv", file_sha256="1" * 64,
                            file_kind="csv", started_at=now - dt.timedelta(days=20))  # fmt: skip
        run = LinkRunRecord(started_at=now, engine="duckdb", model_name="m", model_version=1,
                            model_digest="0" * 64)  # fmt: skip
        s.add_all([batch, run])
        s.flush()
        doses = {
            "old_review": _dose(batch.id, "F-BD", "00001", "001", "review"),
            "fresh_unmatched": _dose(batch.id, "F-BD", "00001", "001", "unmatched"),
            "week_invalid": _dose(batch.id, "F-BD", "00001", "001", "invalid"),
            "fortnight_review": _dose(batch.id, "F-BD", "00001", "001", "review"),
            "verified": _dose(batch.id, "F-BD", "00001", "001", "verified"),
            "other_district": _dose(batch.id, "F-HK", "00037", "002", "review"),
            "unlisted": _dose(batch.id, "F-NEW", "00004", "001", "unmatched"),
        }
        s.add_all(doses.values())
        s.flush()
        decided = {"fresh_unmatched": (1,), "week_invalid": (30, 5), "fortnight_review": (10,)}
        for key, ages in decided.items():
            for i, days in enumerate(ages):
                r = run if i == 0 else LinkRunRecord(
                    started_at=now, engine="duckdb", model_name="m", model_version=1,
                    model_digest="0" * 64)  # fmt: skip
                if i:
                    s.add(r)
                    s.flush()
                s.add(DoseLink(dose_record_id=doses[key].id, run_id=r.id,
                               status=doses[key].status, candidates=[],
                               decided_at=now - dt.timedelta(days=days)))  # fmt: skip
        return {k: d.id for k, d in doses.items()}


def _figures(day: dt.date, now: dt.datetime, level: str, province: str, district: str,
             **counts: int) -> DailyFigures:  # fmt: skip
    return DailyFigures(day=day, level=level, province_code=province, district_code=district,
                        ward_code="", site_code="", computed_at=now, final=False, **counts)  # fmt: skip


def build_phases(engine: Engine, now: dt.datetime) -> dict[str, int]:
    """Figures of district 001 (and the nation) on the local day of `now`, and five phases: on
    track, late, met, at risk (all applying to district 001) and one of district 002."""
    day = local_day(now)
    figures = {"doses_sent": 100, "doses_verified": 80, "doses_auto_linked": 10,
               "doses_review": 10, "tickets_open": 5, "tickets_resolved": 5,
               "people_verified": 10, "people_not_verified": 90}  # fmt: skip
    with transaction(engine) as s:
        s.add(_figures(day, now, "nation", "", "", **figures))
        s.add(_figures(day, now, "province", "001", "", **figures))
        s.add(_figures(day, now, "district", "001", "001", **figures))
        made = {}
        specs = {
            "on_track": ("Đợt 1: xác thực 95%", "province:001", -9, 10, "linked_share", 95),
            "late": ("Trả lời mọi phản ánh", "VN", -20, -1, "tickets_answered", 100),
            "met": ("Xác thực 80%", "district:001", -30, 5, "linked_share", 80),
            "at_risk": ("Xác thực người đã tiêm", "district:001", -1, 0, "people_verified_share", 90),
            "elsewhere": ("Đợt của quận khác", "district:002", -9, 10, "linked_share", 95),
        }  # fmt: skip
        for key, (name, unit, start, end, kind, pct) in specs.items():
            phase = phases.create(s, name=name, unit=unit, starts_on=day + dt.timedelta(days=start),
                                  deadline=day + dt.timedelta(days=end), target_kind=kind,
                                  target_percent=pct, by="test", now=now)  # fmt: skip
            made[key] = phase.id
        return made

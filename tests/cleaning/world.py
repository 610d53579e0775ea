"""A small, hand-made store for the cleaning tests: citizens, doses in two communes and two
provinces, and the batch linkage's decisions on them (review, unmatched, invalid)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.clock import SystemClock
from vaxlink.db import session_factory
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.identity import fold_name, normalise_name
from vaxlink.ingest.models import ImportBatch
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.linkage.service import LinkModel
from vaxlink.records.models import DoseRecord
from vaxlink.registry.keys import name_key
from vaxlink.registry.models import Citizen
from vaxlink.registry.service import LocalRegistry, RegistryPort

PHUC_XA = UnitKey(Level.WARD, "00001")
TRUC_BACH = UnitKey(Level.WARD, "00004")
BA_DINH = UnitKey(Level.DISTRICT, "001")
HA_NOI = UnitKey(Level.PROVINCE, "001")
TAN_DINH = UnitKey(Level.WARD, "26734")
PLACES = {"00001": ("001", "001"), "00004": ("001", "001"), "26734": ("079", "760")}

CITIZENS = [
    ("001085012345", "Nguyễn Văn An", "1985-03-14", "M", "00001", "0912345678"),
    ("001085012346", "Nguyễn Văn Ân", "1985-04-14", "M", "00001", None),
    ("001190000111", "Trần Thị Bình", "1990-07-02", "F", "00001", None),
    ("001072000222", "Lê Văn Cường", "1972-01-05", "M", "00004", None),
    ("079085000333", "Phạm Minh Dũng", "1985-06-30", "M", "26734", None),
]
#: key -> (name, dob, sex, id, ward, vaccine, date, dose no., status, reason, candidates)
DOSES: dict[str, tuple[Any, ...]] = {
    "an1": ("Nguyen Van An", "1985-03-14", "M", None, "00001", "Comirnaty", "2021-08-01", 1,
            "review", "below_threshold", [("001085012345", 0.81), ("001085012346", 0.15)]),
    "an2": ("Nguyen Van An", "1985-03-14", "M", None, "00001", "Comirnaty", "2021-09-01", 2,
            "review", "below_threshold", [("001085012345", 0.79), ("001085012346", 0.17)]),
    "binh": ("Tran Thi Binh", "1990-02-07", "F", "00119000011", "00001", "Vaxzevria",
             "2021-07-15", 1, "unmatched", "no_plausible_candidate", []),
    "ghost": ("Hoang Van Ma", "1960-01-01", "M", None, "00001", "BBIBP-CorV", "2021-10-10", 1,
              "invalid", "id_missing", []),
    "cuong": ("Le Van Cuong", "1972-01-05", "M", None, "00004", "Vaxzevria", "2021-07-20", 1,
              "review", "below_threshold", [("001072000222", 0.9)]),
    "dung": ("Pham Minh Dung", "1985-06-30", "M", None, "26734", "Spikevax", "2021-11-02", 1,
             "review", "below_threshold", [("079085000333", 0.9)]),
    "done": ("Tran Thi Binh", "1990-07-02", "F", "001190000111", "00001", "Vaxzevria",
             "2021-09-15", 2, "verified", None, []),
}  # fmt: skip
PRIMARY = {"Comirnaty": 2, "Vaxzevria": 2, "BBIBP-CorV": 2, "Spikevax": 2}
MP = {"Comirnaty": "EU/1/20/1528", "Vaxzevria": "EU/1/21/1529", "BBIBP-CorV": "BBIBP-CorV",
      "Spikevax": "EU/1/20/1507"}  # fmt: skip


@cache
def _model() -> LinkModel:
    return LinkModel.load(None)


def registry_of(db: Session) -> RegistryPort:
    """The store's own citizens as the registry port (what the app builds without a registry URL)."""
    return LocalRegistry(session_factory(db.get_bind().engine))


def ports(db: Session) -> dict[str, Any]:
    """The registry port, linkage model and clock the cleaning services are given."""
    return {"registry": registry_of(db), "model": _model(), "clock": SystemClock()}


@dataclass
class World:
    """The ids of what `build` inserted."""

    doses: dict[str, int]
    facility: str = "F001"


def principal(role: Role, unit: UnitKey, user_id: int = 1) -> Principal:
    """An account as the auth module resolves it (the services need no stored user)."""
    return Principal(user_id=user_id, username=f"{role.value}-{unit.code}", role=role, unit=unit)


def build(session: Session, *, prefix: str = "T") -> World:
    """Insert the citizens, doses and one batch linkage run; flushes, never commits."""
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    batch = ImportBatch(kind="doses", file_name="t.csv", file_sha256="0" * 64, file_kind="csv",
                        started_at=now)  # fmt: skip
    session.add(batch)
    session.flush()
    if not prefix or prefix == "T":
        for cid, name, dob, sex, ward, phone in CITIZENS:
            province, district = PLACES[ward]
            session.add(Citizen(
                citizen_id=cid, full_name=name, name_folded=fold_name(name),
                name_key=name_key(name) or fold_name(name), date_of_birth=dob,
                dob_precision="day", sex=sex, province_code=province, district_code=district,
                ward_code=ward, phone=phone, row_hash="x", batch_id=batch.id, source_row=1,
            ))  # fmt: skip
    run = LinkRunRecord(started_at=now, finished_at=now, engine="duckdb", model_name="m",
                        model_version=1, model_digest="d")  # fmt: skip
    session.add(run)
    session.flush()
    ids = {}
    for n, (key, d) in enumerate(DOSES.items(), start=1):
        name, dob, sex, idn, ward, vac, vdate, dn, status, reason, cands = d
        province, district = PLACES[ward]
        dose = DoseRecord(
            record_id=f"{prefix}{n}", batch_id=batch.id, source_row=n, row_hash="h",
            raw_full_name=name, raw_date_of_birth=dob, raw_sex=sex, raw_id_number=idn,
            raw_ward_code=ward, raw_vaccine=vac, raw_vaccination_date=vdate,
            raw_dose_number=str(dn), raw_facility_code="F001",
            full_name=normalise_name(name), name_folded=fold_name(name), date_of_birth=dob,
            dob_precision="day", sex=sex, id_number=idn, id_kind="cccd12" if idn else "empty",
            province_code=province, district_code=district, ward_code=ward, vaccine_key=vac,
            vaccine_mp=MP[vac], vaccination_date=dt.date.fromisoformat(vdate), dose_number=dn,
            dose_category="primary", dose_sequence=dn, facility_code="F001", status=status,
            citizen_id=idn if status == "verified" else None,
        )  # fmt: skip
        session.add(dose)
        session.flush()
        ids[key] = dose.id
        session.add(DoseLink(
            dose_record_id=dose.id, run_id=run.id, status=status, citizen_id=dose.citizen_id,
            match_probability=cands[0][1] if cands else None,
            candidates=[{"citizen_id": c, "probability": p} for c, p in cands],
            reason=reason, rule="model" if cands else None,
            explanation=[{"citizen_id": c, "probability": p, "match_weight": 3.0,
                          "fields": {"given": {"level": "exact", "bits": 4.2}}}
                         for c, p in cands],
            decided_at=now,
        ))  # fmt: skip
    session.flush()
    return World(doses=ids)

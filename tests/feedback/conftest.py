"""Fixtures for the citizen portal: a small world of citizens with phones, doses, keys."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.cleaning.entry_support import SIGNING
from tests.store_support import complete as complete_row
from vaxlink.certificates import service as certificates
from vaxlink.certificates.service import DccType, KeyPair, KeyStore, Role
from vaxlink.db import Base, transaction
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen
from vaxlink.settings import Settings

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
#: A real ward of Hà Nội (province 001, district 001 Ba Đình, ward 00001 Phúc Xá).
PROVINCE, DISTRICT, WARD = "001", "001", "00001"
OTHER_DISTRICT, OTHER_WARD = "002", "00037"


def complete(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """`values` plus placeholders for the other NOT NULL columns (times are NOW)."""
    return complete_row(model, values, now=NOW)


@dataclass(frozen=True)
class Pki:
    csca: KeyPair
    dsc: KeyPair
    facility: dict[str, KeyPair]

    def save(self, directory: Path) -> KeyStore:
        store = KeyStore(directory)
        store.save(Role.CSCA, self.csca, passphrase=b"pass phrase for tests")
        store.save(Role.DSC, self.dsc)
        store.set_active_dsc(self.dsc.kid)
        for code, pair in self.facility.items():  # wrapped for approver.<code>
            store.save_facility(pair, f"approver.{code.lower()}", SIGNING)
        return store


def make_pki(now: dt.datetime) -> Pki:
    csca = certificates.create_csca(country="VN", organization="Bộ Y tế", now=now)
    dsc = certificates.create_dsc(csca, now=now, common_name="DSC 1", types=(DccType.VACCINATION,),
                          validity_days=3 * 365)  # fmt: skip
    facility = {
        code: certificates.create_facility_signer(
            csca, facility_code=code, facility_name=code, now=now
        )
        for code in ("F001", "F002")
    }
    return Pki(csca, dsc, facility)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))


class World:
    """Citizens and doses, each written in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._n = itertools.count(1)
        with transaction(engine) as s:
            batch = ImportBatch(**complete(ImportBatch, {"kind": "doses", "started_at": NOW}))
            s.add(batch)
            s.flush()
            self.batch_id = batch.id

    def citizen(
        self,
        citizen_id: str,
        full_name: str = "Nguyễn Văn An",
        dob: str = "1985-03-14",
        phone: str | None = "0912345678",
        ward: str = WARD,
        district: str = DISTRICT,
        old_id: str | None = None,
    ) -> str:
        from vaxlink.identity import fold_name

        with transaction(self.engine) as s:
            s.add(Citizen(**complete(Citizen, {
                "citizen_id": citizen_id, "full_name": full_name,
                "name_folded": fold_name(full_name), "date_of_birth": dob,
                "dob_precision": "day", "sex": "M", "province_code": PROVINCE,
                "district_code": district, "ward_code": ward, "phone": phone, "old_id": old_id,
                "batch_id": self.batch_id,
            })))  # fmt: skip
        return citizen_id

    def dose(
        self,
        citizen_id: str | None,
        dose_number: int,
        day: dt.date,
        *,
        facility: str = "F001",
        status: str = "verified",
        full_name: str = "Nguyễn Văn An",
        dob: str = "1985-03-14",
        ward: str = WARD,
        district: str = DISTRICT,
        category: str = "primary",
    ) -> int:
        n = next(self._n)
        with transaction(self.engine) as s:
            row = DoseRecord(**complete(DoseRecord, {
                "record_id": f"R{n:06d}-{citizen_id}", "batch_id": self.batch_id,
                "source_row": n, "full_name": full_name, "name_folded": full_name.lower(),
                "date_of_birth": dob, "sex": "M", "id_number": citizen_id, "id_kind": "cccd12",
                "citizen_id": citizen_id, "vaccine_key": "Comirnaty",
                "vaccine_mp": "EU/1/20/1528", "lot_number": "FK8891",
                "vaccination_date": day, "dose_number": dose_number,
                "dose_category": category,
                "dose_sequence": dose_number if category == "primary" else dose_number - 2,
                "facility_code": facility, "status": status, "province_code": PROVINCE,
                "district_code": district, "ward_code": ward,
            }))  # fmt: skip
            s.add(row)
            s.flush()
            return row.id


@pytest.fixture
def world(store: Engine) -> World:
    return World(store)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url="sqlite://", _env_file=None)  # type: ignore[call-arg]

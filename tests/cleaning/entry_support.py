"""Test data for dose entry and approval: registry citizens and dose records, committed."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable
from pathlib import Path

import segno
from sqlalchemy import select
from sqlalchemy.engine import Engine

from vaxlink.certificates import service as certificates
from vaxlink.db import transaction
from vaxlink.identity import format_chip_qr
from vaxlink.identity.dates import PartialDate
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen

NOW = dt.datetime(2021, 11, 2, 3, 0, tzinfo=dt.UTC)
#: The signing passphrase the tests' site approvers' key wraps are made under.
SIGNING = "amber lantern 47 quiet harbor"
_rows = itertools.count(1)


def _batch(engine: Engine, kind: str) -> int:
    with transaction(engine) as s:
        found = s.scalar(select(ImportBatch.id).where(ImportBatch.file_name == f"test-{kind}"))
        if found is not None:
            return found
        batch = ImportBatch(
            kind=kind, file_name=f"test-{kind}", file_sha256="0" * 64, file_kind="csv",
            rows_read=0, rows_imported=0, rows_unchanged=0, rows_quarantined=0, started_at=NOW,
        )  # fmt: skip
        s.add(batch)
        s.flush()
        return batch.id


def add_citizen(
    engine: Engine,
    citizen_id: str = "001085012345",
    *,
    full_name: str = "Nguyễn Văn An",
    old_id: str | None = None,
    ward: str = "00001",
) -> str:
    """A registry citizen living in Phúc Xá, Ba Đình, Hà Nội (unless told otherwise)."""
    batch = _batch(engine, "registry")
    from vaxlink.identity import fold_name

    folded = fold_name(full_name)
    words = folded.split()
    with transaction(engine) as s:
        s.add(
            Citizen(
                citizen_id=citizen_id, full_name=full_name, name_folded=folded,
                name_key=f"{words[0]} {words[-1]}", date_of_birth="1985-03-14",
                dob_precision="day", sex="M", province_code="001", district_code="001",
                ward_code=ward, old_id=old_id, address=None, phone=None, row_hash="x",
                batch_id=batch, source_row=next(_rows),
            )
        )  # fmt: skip
    return citizen_id


def add_dose(
    engine: Engine,
    citizen_id: str | None,
    day: dt.date,
    *,
    facility: str = "F001",
    vaccine: str = "Comirnaty",
    dose_number: int = 1,
    status: str = "verified",
    full_name: str = "Nguyễn Văn An",
) -> int:
    """A dose record as an import would leave it (linked when a citizen is given)."""
    batch = _batch(engine, "doses")
    n = next(_rows)
    category = "primary" if dose_number <= 2 else "booster"
    with transaction(engine) as s:
        row = DoseRecord(
            record_id=f"T{n:06d}", batch_id=batch, source_row=n, row_hash="x",
            full_name=full_name, name_folded=full_name.lower(), date_of_birth="1985-03-14",
            dob_precision="day", sex="M", id_number=citizen_id, id_kind="cccd12",
            vaccine_key=vaccine, vaccine_mp="EU/1/20/1528", lot_number="FK8891",
            vaccination_date=day, dose_number=dose_number, dose_category=category,
            dose_sequence=dose_number if category == "primary" else dose_number - 2,
            facility_code=facility, status=status, citizen_id=citizen_id,
            province_code="001", district_code="001", ward_code="00001",
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def chip_text(citizen_id: str = "001085012345", name: str = "Nguyễn Văn An") -> str:
    """The QR payload of the person's chip ID card."""
    return format_chip_qr(
        id_number=citizen_id, full_name=name, date_of_birth=PartialDate(1985, 3, 14), sex="M",
        address="Số 1 Phúc Xá, Ba Đình, Hà Nội", issue_date=dt.date(2021, 5, 1),
    )  # fmt: skip


def chip_png(text: str, scale: int = 6) -> bytes:
    """A photo-like PNG of the chip-card QR (segno, as a card printer would draw it)."""
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def facility_keys(data_dir: Path, *codes: str, holders: Iterable[str] = ()) -> None:
    """Facility approval keys in the app's key directory (`<data_dir>/keys`), each wrapped for
    `holders` (site approver accounts) under `SIGNING`; for `approver.<code>` when none given."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    csca = certificates.create_csca(country="VN", organization="Bộ Y tế", now=now)
    store = certificates.KeyStore(data_dir / "keys")
    for code in codes:
        pair = certificates.create_facility_signer(
            csca, facility_code=code, facility_name=f"Trạm Y tế {code}", now=now
        )
        for holder in list(holders) or [f"approver.{code.lower()}"]:
            store.save_facility(pair, holder, SIGNING)

"""Doses and certificates for write-back tests and the benchmark: one at a time (small, exact
scenarios) or many at once (Arrow, bulk-inserted through a staging table)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import Engine
from tests.store_support import complete

from vaxlink.certificates.models import Certificate
from vaxlink.db import transaction
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.records.vaccines import catalogue

NOW = dt.datetime(2022, 3, 1, 9, 0, tzinfo=dt.UTC)


class Doses:
    """Writes dose records and certificates into a store, one row each call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._n = itertools.count(1)
        with transaction(engine) as s:
            batch = ImportBatch(
                **complete(ImportBatch, {"kind": "doses", "started_at": NOW}, now=NOW)
            )
            s.add(batch)
            s.flush()
            self.batch_id = batch.id

    def dose(
        self, citizen_id: str, dose_number: int, day: dt.date, *, vaccine: str = "Comirnaty",
        status: str = "verified", category: str | None = None,
    ) -> int:  # fmt: skip
        n = next(self._n)
        v = catalogue()[vaccine]
        category = category or ("primary" if dose_number <= v.primary_doses else "booster")
        with transaction(self.engine) as s:
            row = DoseRecord(**complete(DoseRecord, {
                "record_id": f"R{n:06d}", "batch_id": self.batch_id, "source_row": n,
                "full_name": "Nguyễn Văn An", "name_folded": "nguyen van an",
                "citizen_id": citizen_id, "id_number": citizen_id, "id_kind": "cccd12",
                "vaccine_key": v.key, "vaccine_mp": v.mp, "vaccination_date": day,
                "dose_number": dose_number, "dose_category": category,
                "dose_sequence": dose_number, "status": status,
            }, now=NOW))  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

    def set_status(self, dose_id: int, status: str) -> None:
        """Move a dose's status (as linkage or a reviewer would)."""
        with transaction(self.engine) as s:
            row = s.get(DoseRecord, dose_id)
            assert row is not None
            row.status = status

    def certificate(
        self, citizen_id: str, uvci: str, *, iat: dt.datetime = NOW, days: int = 365,
        status: str = "active",
    ) -> int:  # fmt: skip
        with transaction(self.engine) as s:
            row = Certificate(**complete(Certificate, {
                "uvci": uvci, "citizen_id": citizen_id, "kind": "v", "payload": {},
                "iat": iat, "exp": iat + dt.timedelta(days=days), "status": status,
                "content_digest": "0" * 64, "generation": 0, "created_at": iat,
            }, now=NOW))  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

    def set_certificate_status(self, cert_id: int, status: str) -> None:
        with transaction(self.engine) as s:
            row = s.get(Certificate, cert_id)
            assert row is not None
            row.status = status


def bulk_population(engine: Engine, citizens: int) -> dict[str, int]:
    """`citizens` people with 1-3 doses each (10 % one, 60 % two, 30 % three; 5 % of doses
    still in review) and 70 % with an active certificate, generated set-based in the store's
    own SQL (two INSERT … SELECT statements). Returns the row counts."""
    batch_id = import_batch(engine)
    pg = engine.dialect.name == "postgresql"
    products = [catalogue()[k] for k in ("Vaxzevria", "Comirnaty", "Spikevax", "BBIBP-CorV")]
    key = " ".join(f"WHEN {i} THEN '{p.key}'" for i, p in enumerate(products))
    mp = " ".join(f"WHEN {i} THEN '{p.mp}'" for i, p in enumerate(products))
    if pg:
        people = "SELECT i FROM generate_series(0, :n - 1) AS g(i)"
        cid = "'001' || lpad(CAST(i AS TEXT), 9, '0')"
        day = "DATE '2021-06-01' + (i * 13 % 200) + (d - 1) * 84"
        ts = "CAST('{}+00' AS TIMESTAMPTZ)"
        payload = "CAST('{}' AS JSONB)"
    else:
        people = ("WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g "
                  "WHERE i < :n - 1) SELECT i FROM g")  # fmt: skip
        cid = "'001' || printf('%09d', i)"
        day = "date('2021-06-01', '+' || ((i * 13 % 200) + (d - 1) * 84) || ' days')"
        ts = "'{}.000000'"
        payload = "'{}'"
    dose_sql = f"""
        INSERT INTO dose_record (record_id, batch_id, source_row, row_hash, full_name,
            name_folded, id_kind, citizen_id, vaccine_key, vaccine_mp, vaccination_date,
            dose_number, dose_category, dose_sequence, status, version)
        SELECT 'B' || i || '-' || d, {batch_id}, i, '{"0" * 32}', 'Nguyễn Văn An',
            'nguyen van an', 'cccd12', {cid}, CASE i * 7 % 4 {key} END,
            CASE i * 7 % 4 {mp} END, {day}, d, CASE WHEN d <= 2 THEN 'primary' ELSE 'booster' END,
            CASE WHEN d <= 2 THEN d ELSE 1 END,
            CASE WHEN (i * 31 + d) % 20 = 0 THEN 'review' ELSE 'verified' END, 1
        FROM ({people}) p
        JOIN (SELECT 1 AS d UNION ALL SELECT 2 UNION ALL SELECT 3) k
          ON k.d <= CASE WHEN i % 10 = 0 THEN 1 WHEN i % 10 < 7 THEN 2 ELSE 3 END
    """
    iat, exp = ts.format("2022-01-10 08:00:00"), ts.format("2023-01-10 08:00:00")
    cert_sql = f"""
        INSERT INTO certificate (uvci, citizen_id, kind, payload, hc1, kid, iat, exp, status,
            content_digest, generation, created_at, created_by, created_reason)
        SELECT 'URN:UVCI:01:VN:B' || i, {cid}, 'v', {payload}, 'x', 'x', {iat}, {exp},
            'active', '{"0" * 64}', 0, {iat}, 'bench', 'issue'
        FROM ({people}) p WHERE i % 10 < 7
    """
    with engine.begin() as conn:
        doses = conn.execute(text(dose_sql), {"n": citizens}).rowcount
        certs = conn.execute(text(cert_sql), {"n": citizens}).rowcount
    return {"citizens": citizens, "doses": int(doses), "certificates": int(certs)}


def import_batch(engine: Engine) -> int:
    """An import batch row for bulk doses to belong to."""
    with transaction(engine) as s:
        batch = ImportBatch(**complete(ImportBatch, {"kind": "doses", "started_at": NOW}, now=NOW))
        s.add(batch)
        s.flush()
        return int(batch.id)


def as_dicts(table: pa.Table) -> dict[str, dict[str, Any]]:
    """A status table's rows by citizen ID."""
    return {r["citizen_id"]: r for r in table.to_pylist()}

"""Dose-entry routes for the access-matrix test (tests/auth): a recorded dose is scoped by the
vaccination site that recorded it (the account's facility_code), wherever the person lives.

Merged by `tests/certificates/access_cases.py` (the matrix loads `*/access_cases.py`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord

#: The site `tests/web_support.create_account` gives health-station and approver accounts.
SITE = "F-TEST"
_n = itertools.count(1)


def _dose(s: Session, ward: str, facility: str) -> int:
    now = dt.datetime.now(dt.UTC)
    batch = ImportBatch(kind="doses", file_name="matrix", file_sha256="0" * 64, file_kind="web",
                        rows_read=1, rows_imported=1, rows_unchanged=0, rows_quarantined=0,
                        started_at=now)  # fmt: skip
    s.add(batch)
    s.flush()
    n = next(_n)
    dose = DoseRecord(
        record_id=f"MATRIX-ENTRY-{n}", batch_id=batch.id, source_row=n, row_hash="x",
        full_name="Nguyễn Văn An", name_folded="nguyen van an", id_kind="cccd12",
        vaccine_key="Comirnaty", vaccine_mp="EU/1/20/1528", vaccination_date=dt.date(2021, 11, 1),
        dose_number=1, dose_category="primary", dose_sequence=1, facility_code=facility,
        ward_code=ward, status="verified", citizen_id="001085012345",
    )  # fmt: skip
    s.add(dose)
    s.flush()
    return dose.id


def _done(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # The person's ward does not matter: what counts is the site that recorded the dose.
    return {"dose_id": _dose(s, outside, SITE)}, {"dose_id": _dose(s, inside, "F-ELSEWHERE")}


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "/entry/done/{dose_id}": _done,
}
SKIP: dict[str, str] = {}

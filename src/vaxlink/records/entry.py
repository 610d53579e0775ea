"""The write path of a dose entered on the web, and the read of a person's doses on record.

A dose entered at the vaccination point is an ordinary `DoseRecord` in the facility's web-entry
import batch of the day (made through the ingest front door on first use), its raw_* values
exactly what was entered, its row hash the twin of the file import's (`ingest.checks.raw_hash_sql`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.ingest.service import BatchKind, open_batch, take_row
from vaxlink.records import vaccines
from vaxlink.records.lifecycle import DoseStatus, create
from vaxlink.records.models import DoseRecord

#: `import_batch.file_kind` of the batches that hold doses entered on the web.
WEB_FILE_KIND: Final = "web"
#: The raw values of an entered dose, in the order of the file contract (docs/formats.md §2).
RAW_ORDER: Final = (
    "full_name", "date_of_birth", "sex", "id_number", "phone", "province_code", "district_code",
    "ward_code", "vaccine", "lot_number", "vaccination_date", "dose_number", "facility_code",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistoryDose:
    """One of the person's doses already on record (any site), as the entry page shows it."""

    id: int
    date: dt.date
    vaccine_key: str
    vaccine: str
    category: str
    sequence: int
    dose_number: int
    facility_code: str | None
    lot_number: str | None
    status: str


def history(session: Session, citizen_id: str) -> tuple[HistoryDose, ...]:
    """The person's doses on record (linked to them, any site, not invalid), oldest first."""
    stmt = (
        select(DoseRecord)
        .where(DoseRecord.citizen_id == citizen_id)
        .where(DoseRecord.status != DoseStatus.INVALID.value)
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    )
    out = []
    for d in session.scalars(stmt):
        v = vaccines.catalogue().get(d.vaccine_key)
        shown = v.display if v else d.vaccine_key
        out.append(
            HistoryDose(d.id, d.vaccination_date, d.vaccine_key, shown, d.dose_category,
                        d.dose_sequence, d.dose_number, d.facility_code, d.lot_number, d.status)
        )  # fmt: skip
    return tuple(out)


def already_on_record(
    session: Session,
    *,
    vaccination_date: dt.date,
    district_code: str,
    name_folded: str,
    date_of_birth: str | None,
    citizen_id: str | None,
) -> DoseRecord | None:
    """A dose already on record for the same day and the same person: linked to `citizen_id`,
    or entered in `district_code` under the same folded name and date of birth (linked or not).
    Invalid doses do not count. One probe of the citizen index and one of the district's."""
    day = (DoseRecord.vaccination_date == vaccination_date,
           DoseRecord.status != DoseStatus.INVALID.value)  # fmt: skip
    if citizen_id:
        found = session.scalars(select(DoseRecord).where(DoseRecord.citizen_id == citizen_id, *day)
                                .order_by(DoseRecord.id).limit(1)).first()  # fmt: skip
        if found is not None:
            return found
    if not date_of_birth:
        return None
    return session.scalars(
        select(DoseRecord)
        .where(DoseRecord.district_code == district_code, DoseRecord.name_folded == name_folded,
               DoseRecord.date_of_birth == date_of_birth, *day)
        .order_by(DoseRecord.id)
        .limit(1)
    ).first()  # fmt: skip


def web_batch_name(facility: str, day: dt.date) -> str:
    """The file name of a facility's web-entry batch of a day."""
    return f"web-entry:{facility}:{day.isoformat()}"


def row_hash(raw: Sequence[str | None]) -> str:
    """md5 over the raw values, the twin of `ingest.checks.raw_hash_sql`."""
    text = chr(31).join("=" + v if v is not None else "~" for v in raw)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def precision(iso: str) -> str:
    """The precision of an ISO (partial) date: day, month or year."""
    return {10: "day", 7: "month"}.get(len(iso), "year")


def add_web_dose(
    session: Session,
    *,
    facility: str,
    now: dt.datetime,
    raw: Mapping[str, str | None],
    parsed: Mapping[str, object],
    status: DoseStatus,
    citizen_id: str | None,
) -> DoseRecord:
    """Store one dose entered on the web at `facility`, in the day's web batch, created in
    `status` (one of `lifecycle.INITIAL`); `raw` holds RAW_ORDER's values and `extra`."""
    batch = open_batch(
        session, kind=BatchKind.DOSES, file_name=web_batch_name(facility, now.date()),
        file_kind=WEB_FILE_KIND, imported_by=f"web:{facility}", now=now,
    )  # fmt: skip
    row = take_row(session, batch, now)
    record_id = f"WEB-{batch.id}-{row:05d}"
    dose = create(
        DoseRecord,
        status,
        record_id=record_id,
        batch_id=batch.id,
        source_row=row,
        row_hash=row_hash([record_id, *(raw.get(k) for k in RAW_ORDER)]),
        **{f"raw_{k}": raw.get(k) for k in RAW_ORDER},
        raw_extra=raw.get("extra"),
        **parsed,
        citizen_id=citizen_id,
    )
    session.add(dose)
    session.flush()
    return dose

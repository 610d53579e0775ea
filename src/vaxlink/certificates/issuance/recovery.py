"""Recoveries from COVID-19 as commune health stations enter them (the source of `r` certificates).

EU rules: a recovery certificate is valid from 11 days after the first positive test and for at
most 180 days after it. A correction is a new entry; the newest entry for a person counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.auth.service import Principal, append, ensure_in_scope
from vaxlink.certificates.errors import RecoveryInvalid
from vaxlink.certificates.models import RecoveryRecord
from vaxlink.registry.service import Citizen

VALID_FROM_DAYS: Final = 11
VALID_UNTIL_DAYS: Final = 180


def record_recovery(
    session: Session,
    *,
    citizen_id: str,
    first_positive: date,
    station_code: str,
    recorded_by: str,
    now: datetime,
    note: str | None = None,
) -> RecoveryRecord:
    """Enter a recovery for a registry citizen; flushes, the caller commits."""
    today = now.astimezone(UTC).date()
    if first_positive > today:
        raise RecoveryInvalid(f"the first positive test ({first_positive}) is in the future")
    if not station_code.strip() or not recorded_by.strip():
        raise RecoveryInvalid("a recovery needs the health station code and who entered it")
    known = session.scalar(select(Citizen.citizen_id).where(Citizen.citizen_id == citizen_id))
    if known is None:
        raise RecoveryInvalid(f"citizen {citizen_id} is not in the registry")
    entry = RecoveryRecord(
        citizen_id=citizen_id,
        first_positive=first_positive,
        valid_from=first_positive + timedelta(days=VALID_FROM_DAYS),
        valid_until=first_positive + timedelta(days=VALID_UNTIL_DAYS),
        station_code=station_code.strip(),
        recorded_by=recorded_by.strip(),
        recorded_at=now,
        note=note,
    )
    session.add(entry)
    session.flush()
    return entry


def enter_recovery(
    session: Session,
    principal: Principal,
    *,
    id_number: str,
    first_positive: date,
    now: datetime,
    note: str | None = None,
) -> RecoveryRecord:
    """A health station enters the recovery of a resident of its own area, as itself: the
    person is found by ID number (12-digit CCCD or 9-digit CMND), must live inside the station's
    unit (refused and audited otherwise), and the entry is audited under the station's account."""
    digits = "".join(ch for ch in id_number if ch.isdigit())
    if len(digits) not in (9, 12):
        raise RecoveryInvalid("type the 12-digit CCCD number (or the old 9-digit CMND)")
    column = Citizen.citizen_id if len(digits) == 12 else Citizen.old_id
    person = session.execute(
        select(Citizen.citizen_id, Citizen.province_code, Citizen.district_code,
               Citizen.ward_code).where(column == digits)
    ).first()  # fmt: skip
    if person is None:
        raise RecoveryInvalid("this ID number is not in the population registry; check it")
    ensure_in_scope(session, principal, province=person.province_code,
                    district=person.district_code, ward=person.ward_code,
                    object_type="citizen", object_id="recovery-entry", now=now)  # fmt: skip
    entry = record_recovery(session, citizen_id=person.citizen_id, first_positive=first_positive,
                            station_code=str(principal.unit),
                            recorded_by=principal.username, now=now,
                            note=(note or "").strip() or None)  # fmt: skip
    append(session, actor=principal, action="recovery.enter", object_type="recovery_record",
           object_id=entry.id, unit=str(principal.unit), at=now)  # fmt: skip
    return entry


def recent_entries(session: Session, principal: Principal, *, limit: int = 20) -> list[RecoveryRecord]:
    """The recoveries this station's unit entered, newest first."""
    stmt = (
        select(RecoveryRecord)
        .where(RecoveryRecord.station_code == str(principal.unit))
        .order_by(RecoveryRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))

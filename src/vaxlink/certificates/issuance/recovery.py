"""Recoveries from COVID-19 as commune health stations enter them (the source of `r` certificates).

EU rules: a recovery certificate is valid from 11 days after the first positive test and for at
most 180 days after it. A correction is a new entry; the newest entry for a person counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

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

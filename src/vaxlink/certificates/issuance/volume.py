"""Issuance volume per account: what each account issued today and in the last 7 days, and the
daily cap (VAXLINK_ISSUANCE_CAP_PER_DAY) a batch checks before each chunk it writes.

An account is the certificate's `created_by`: the signed-in issuer's username, the CLI operator,
or a job's name. Days are UTC days of the issuing clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from vaxlink.certificates.models import Certificate


@dataclass(frozen=True, slots=True)
class AccountVolume:
    """Certificates one account issued today and in the last 7 days (today included)."""

    account: str
    today: int
    week: int


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: where an account's daily count starts."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), UTC)


def issued_today(session: Session, account: str, now: datetime) -> int:
    """Certificates `account` issued since midnight UTC, up to `now`."""
    stmt = select(func.count()).where(
        Certificate.created_by == account,
        Certificate.created_at >= day_start(now),
        Certificate.created_at <= now,
    )
    return int(session.scalar(stmt) or 0)


def volumes(session: Session, now: datetime) -> list[AccountVolume]:
    """Every account that issued in the last 7 days, most issued today first."""
    start = day_start(now)
    week_start = start - timedelta(days=6)
    today = func.sum(case((Certificate.created_at >= start, 1), else_=0))
    stmt = (
        select(Certificate.created_by, today, func.count())
        .where(Certificate.created_at >= week_start, Certificate.created_at <= now)
        .group_by(Certificate.created_by)
    )
    rows = [AccountVolume(str(a), int(t or 0), int(w)) for a, t, w in session.execute(stmt)]
    return sorted(rows, key=lambda v: (-v.today, -v.week, v.account))

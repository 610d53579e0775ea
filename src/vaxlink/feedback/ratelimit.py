"""Rate limits with lockout, counted in the store so every worker process sees the same counts.

Keys are HMACs of the value (an ID number, a phone, a client address), never the value itself.
A hit is recorded even when it locks, and the caller commits it: a lockout must survive the
request that triggered it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vaxlink.feedback.models import RateCounter
from vaxlink.settings import Settings

#: Used only when `feedback_secret` is not configured (development): keys are still not readable
#: as ID numbers at a glance, but production must set its own secret.
DEV_SECRET: Final = b"vaxlink-development-feedback-secret"


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per `window`; one more locks the key for `lockout`."""

    scope: str
    attempts: int
    window: timedelta
    lockout: timedelta


#: Lookups per ID number, per phone on record, per client address; wrong codes per address.
LOOKUP_BY_ID: Final = Limit("id", 5, timedelta(hours=1), timedelta(hours=1))
LOOKUP_BY_PHONE: Final = Limit("phone", 5, timedelta(hours=1), timedelta(hours=1))
LOOKUP_BY_ADDRESS: Final = Limit("addr", 30, timedelta(hours=1), timedelta(hours=1))
CODE_BY_ADDRESS: Final = Limit("code", 10, timedelta(minutes=15), timedelta(minutes=30))
REPORT_BY_CITIZEN: Final = Limit("report", 10, timedelta(days=1), timedelta(days=1))


def secret_of(settings: Settings) -> bytes:
    """The HMAC key for counter keys and lookups."""
    if settings.feedback_secret is not None:
        return settings.feedback_secret.get_secret_value().encode("utf-8")
    return DEV_SECRET


def counter_key(secret: bytes, limit: Limit, value: str) -> str:
    """The stored key of `value` under `limit`: scope and a truncated HMAC."""
    digest = hmac.new(secret, f"{limit.scope}|{value}".encode(), hashlib.sha256).hexdigest()
    return f"{limit.scope}:{digest[:64]}"


def _ensure_row(session: Session, key: str, now: datetime) -> RateCounter:
    """The counter row for `key`, created if missing, locked for update on PostgreSQL."""
    values = {"key": key, "window_start": now, "count": 0, "locked_until": None}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(RateCounter).values(**values).on_conflict_do_nothing())
    row = session.scalar(
        select(RateCounter)
        .where(RateCounter.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def locked_until(session: Session, limit: Limit, key: str, now: datetime) -> datetime | None:
    """When the key's lockout ends, if it is locked now (does not count an attempt)."""
    row = session.get(RateCounter, key)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    return None


def hit(session: Session, limit: Limit, key: str, now: datetime) -> datetime | None:
    """Count one attempt; returns the end of the lockout when the key is (now) locked."""
    row = _ensure_row(session, key, now)
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    if row.window_start + limit.window <= now or row.locked_until is not None:
        row.window_start, row.count, row.locked_until = now, 0, None
    row.count += 1
    if row.count > limit.attempts:
        row.locked_until = now + limit.lockout
    session.flush()
    return row.locked_until


def clear(session: Session, key: str) -> None:
    """Forget a key's attempts (after a successful login with a code)."""
    row = session.get(RateCounter, key)
    if row is not None and row.locked_until is None:
        session.delete(row)
        session.flush()

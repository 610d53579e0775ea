"""Counters with lockout in the store, so every worker process sees the same counts.

Keys are HMACs of the value (an ID number, a phone, a user name, a client address), never the
value itself. A hit is recorded even when it locks, and the caller commits it: a lockout must
survive the request that triggered it.
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

from vaxlink.ratelimit.models import RateCounter
from vaxlink.settings import Settings

#: Used only when `feedback_secret` is not configured (development): keys are still not readable
#: as ID numbers at a glance, but production must set its own secret.
DEV_SECRET: Final = b"vaxlink-development-feedback-secret"


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` per `window` (counted from the window's first attempt); one more
    locks the key for `lockout`, or, when `lockout` is None, until the window ends.

    With `backoff` set the delays are progressive instead: an attempt made while the key is not
    locked goes ahead, and from the `attempts`-th on each one makes the next wait `backoff`,
    then twice that, four times, ... (at most `lockout`, else the window); the count is kept
    until the window ends. Meant for keys only their owner fills, such as an (identity,
    address) pair: a stranger cannot reach them, and the owner is slowed, never shut out long.
    """

    scope: str
    attempts: int
    window: timedelta
    lockout: timedelta | None = None
    backoff: timedelta | None = None

    def delay_after(self, count: int) -> timedelta | None:
        """With `backoff`: how long the key waits after its `count`-th attempt of a window."""
        if self.backoff is None or count < self.attempts:
            return None
        cap = self.lockout if self.lockout is not None else self.window
        return min(cap, self.backoff * (1 << min(count - self.attempts, 30)))


def secret_of(settings: Settings) -> bytes:
    """The HMAC key of counter keys."""
    if settings.feedback_secret is not None:
        return settings.feedback_secret.get_secret_value().encode("utf-8")
    return DEV_SECRET


def counter_key(secret: bytes, limit: Limit, value: str) -> str:
    """The stored key of `value` under `limit`: scope and a truncated HMAC."""
    digest = hmac.new(secret, f"{limit.scope}|{value}".encode(), hashlib.sha256).hexdigest()
    return f"{limit.scope}:{digest[:64]}"


class StoreCounters:
    """A `Limiter` over `limit`'s counter rows, for one unit of work (`session`, at `now`)."""

    def __init__(self, session: Session, limit: Limit, *, secret: bytes, now: datetime) -> None:
        self.session = session
        self.limit = limit
        self.now = now
        self._secret = secret

    def key(self, value: str) -> str:
        return counter_key(self._secret, self.limit, value)

    def _seconds(self, until: datetime | None) -> float:
        return (until - self.now).total_seconds() if until is not None else 0.0

    def locked_until(self, value: str) -> datetime | None:
        """When `value`'s lockout ends, if it is locked now (counts nothing)."""
        row = self.session.get(RateCounter, self.key(value))
        if row is not None and row.locked_until is not None and row.locked_until > self.now:
            return row.locked_until
        return None

    def hit(self, value: str) -> datetime | None:
        """Count one attempt; the end of the lockout when `value` is (now) locked, else None."""
        row = self._ensure_row(self.key(value))
        now, limit = self.now, self.limit
        if row.locked_until is not None and row.locked_until > now:
            return row.locked_until
        expired = row.window_start + limit.window <= now
        if expired or (row.locked_until is not None and limit.backoff is None):
            row.window_start, row.count, row.locked_until = now, 0, None
        row.count += 1
        if limit.backoff is not None:
            delay = limit.delay_after(row.count)
            row.locked_until = now + delay if delay is not None else None
            self.session.flush()
            return None  # this attempt goes ahead; the delay holds the next one
        if row.count > limit.attempts:
            ends = row.window_start + limit.window
            row.locked_until = now + limit.lockout if limit.lockout is not None else ends
        self.session.flush()
        return row.locked_until

    def take(self, key: str) -> float:
        return self._seconds(self.hit(key))

    def wait(self, key: str) -> float:
        return self._seconds(self.locked_until(key))

    def clear(self, key: str) -> None:
        row = self.session.get(RateCounter, self.key(key))
        if row is not None and (row.locked_until is None or row.locked_until <= self.now):
            self.session.delete(row)
            self.session.flush()

    def _ensure_row(self, key: str) -> RateCounter:
        """The counter row for `key`, created if missing, locked for update on PostgreSQL."""
        values = {"key": key, "window_start": self.now, "count": 0, "locked_until": None}
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self.session.execute(insert(RateCounter).values(**values).on_conflict_do_nothing())
        row = self.session.scalar(
            select(RateCounter)
            .where(RateCounter.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return row

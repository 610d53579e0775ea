"""Counters with lockout in the store, so every worker process sees the same counts.

Keys are HMACs of the value (an ID number, a phone, a user name, a client address), never the
value itself. A hit is recorded even when it locks, and the caller commits it: a lockout must
survive the request that triggered it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final, cast

from sqlalchemy import (
    Boolean,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vaxlink.dbdriver import driver_rows
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
        self._keys: dict[str, str] = {}

    def key(self, value: str) -> str:
        key = self._keys.get(value)
        if key is None:  # one HMAC per value, however often a request asks (read, then count)
            key = self._keys[value] = counter_key(self._secret, self.limit, value)
        return key

    def _seconds(self, until: datetime | None) -> float:
        return (until - self.now).total_seconds() if until is not None else 0.0

    def locked_until(self, value: str) -> datetime | None:
        """When `value`'s lockout ends, if it is locked now (counts nothing, writes nothing)."""
        until = self.session.scalar(
            select(_C.locked_until).where(_C.key == self.key(value), _C.locked_until > self.now)
        )
        return until if until is not None and until > self.now else None

    def hit(self, value: str) -> datetime | None:
        """Count one attempt; the end of the lockout when `value` is (now) locked, else None.

        One upsert counts the attempt in the store (so concurrent hits never lose a count); a
        second short UPDATE sets a lockout only when this attempt earned one."""
        now, limit, key = self.now, self.limit, self.key(value)
        statement = _hit_statement(self.session.get_bind().dialect.name, limit.backoff is not None)
        params = {"hit_key": key, "hit_now": now, "hit_cutoff": now - limit.window}
        ((window_start, count, stored),) = driver_rows(self.session, statement, params)
        return self._settle(key, window_start, count, stored)

    def _settle(
        self, key: str, window_start: datetime, count: int, stored: datetime | None
    ) -> datetime | None:
        """After the counting upsert returned (window start, count, lockout) for `key`: the end
        of its lockout if any, setting one when this attempt earned it."""
        now, limit = self.now, self.limit
        if stored is not None and stored > now:
            return stored  # locked already: nothing was counted
        until: datetime | None = None
        if limit.backoff is not None:
            delay = limit.delay_after(count)
            if delay is not None:
                self._lock(key, now + delay)
            return None  # this attempt goes ahead; the delay holds the next one
        if count > limit.attempts:
            until = (
                now + limit.lockout if limit.lockout is not None else window_start + limit.window
            )
            self._lock(key, until)
        return until

    def _lock(self, key: str, until: datetime) -> None:
        self.session.execute(update(_T).where(_C.key == key).values(locked_until=until))

    def take(self, key: str) -> float:
        return self._seconds(self.hit(key))

    def wait(self, key: str) -> float:
        return self._seconds(self.locked_until(key))

    def clear(self, key: str) -> None:
        self.session.execute(
            delete(_T).where(
                _C.key == self.key(key), or_(_C.locked_until.is_(None), _C.locked_until <= self.now)
            )
        )


#: Statements go to the table, not the mapped class: ORM-enabled DML takes the ORM's bulk paths,
#: several times the cost of the statement on these per-request writes.
_T = cast(Table, RateCounter.__table__)
_C = _T.c


@cache
def _hit_statement(dialect: str, backoff: bool) -> Any:
    """The counting upsert (built once per dialect and kind: it is on every lookup and login).

    A key locked now is left as it is; a key whose window has passed (or, without backoff, whose
    lockout has ended) starts a new window at one; any other key counts one more."""
    stamp = _C.window_start.type
    at = bindparam("hit_now", type_=stamp)
    locked = and_(_C.locked_until.is_not(None), _C.locked_until > at)
    reset = _C.window_start <= bindparam("hit_cutoff", type_=stamp)
    if not backoff:
        reset = or_(reset, _C.locked_until.is_not(None))
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # On the table (`_T`): as an ORM insert this was about a fifth of a citizen lookup's CPU.
    fresh = insert(_T).values(key=bindparam("hit_key"), window_start=at, count=1, locked_until=None)
    return fresh.on_conflict_do_update(
        index_elements=[_C.key],
        set_={
            "window_start": case((locked, _C.window_start), (reset, at), else_=_C.window_start),
            "count": case((locked, _C.count), (reset, 1), else_=_C.count + 1),
            "locked_until": case((locked, _C.locked_until), (reset, None), else_=_C.locked_until),
        },
    ).returning(_C.window_start, _C.count, _C.locked_until)


def first_lock(counters: list[tuple[StoreCounters, str]]) -> datetime | None:
    """The latest end of the lockouts among (counter, value) pairs that are locked now, in one
    read (writes nothing); None when none is."""
    if not counters:
        return None
    session = counters[0][0].session
    until: datetime | None = session.scalar(
        _first_lock_statement(len(counters)), lock_params(counters)
    )
    return until


def lock_params(counters: Sequence[tuple[StoreCounters, str]]) -> dict[str, Any]:
    """The parameters of `first_lock`'s read (and of `lock_subquery`) for (counter, value)
    pairs of one moment."""
    params: dict[str, Any] = {f"lock_key_{i}": c.key(v) for i, (c, v) in enumerate(counters)}
    params["lock_now"] = counters[0][0].now
    return params


@cache
def _first_lock_statement(n: int) -> Any:
    """`first_lock`'s read for `n` keys, built once per `n`: one plain parameter per key (an
    expanding IN list is re-rendered on every execution)."""
    keys = [bindparam(f"lock_key_{i}", type_=_C.key.type) for i in range(n)]
    return select(func.max(_C.locked_until).label("until")).where(
        _C.key.in_(keys), _C.locked_until > bindparam("lock_now", type_=_C.locked_until.type)
    )


def first_lock_of(n: int) -> Any:
    """`first_lock`'s read for `n` keys (parameters `lock_key_0` ... and `lock_now`, as from
    `lock_params`), for a caller that runs it on its own connection."""
    return _first_lock_statement(n)


@cache
def lock_subquery(n: int) -> Any:
    """`first_lock`'s read for `n` keys as a subquery of exactly one row (column `until`), for
    a caller to join its own read to, so both take one round trip; its parameters come from
    `lock_params`."""
    return _first_lock_statement(n).subquery("locks")


def hit_all(counters: Sequence[tuple[StoreCounters, str]]) -> list[datetime | None]:
    """`StoreCounters.hit` for several (counter, value) pairs of one session and moment, in one
    statement (one round trip instead of one per counter); the results in the same order.

    The rows are taken in key order, so two requests counting overlapping keys at once lock
    them in the same order (no deadlock). The keys must be distinct."""
    if not counters:
        return []
    session, now = counters[0][0].session, counters[0][0].now
    keys = [c.key(v) for c, v in counters]
    if len(set(keys)) != len(keys):
        raise ValueError("hit_all counts each key once")
    params: dict[str, Any] = {"hit_now": now}
    for i, ((counter, _value), key) in enumerate(zip(counters, keys, strict=True)):
        if counter.session is not session or counter.now != now:
            raise ValueError("hit_all counts for one session at one moment")
        params[f"hit_key_{i}"] = key
        params[f"hit_cutoff_{i}"] = now - counter.limit.window
        params[f"hit_backoff_{i}"] = counter.limit.backoff is not None
    rows = driver_rows(session, _hit_all_statement(len(counters)), params)
    found = {key: (window_start, int(count), stored) for key, window_start, count, stored in rows}
    return [
        counter._settle(key, *found[key])
        for (counter, _value), key in zip(counters, keys, strict=True)
    ]


@cache
def _hit_all_statement(n: int) -> Any:
    """`hit_all`'s upsert for `n` keys (SQLite and PostgreSQL alike): the counting upsert of
    `_hit_statement`, each row with its own window cutoff and kind (with or without backoff),
    which the update reads from the `VALUES` list by the conflicting key."""
    rows = ", ".join(f"(:hit_key_{i}, :hit_cutoff_{i}, :hit_backoff_{i})" for i in range(n))
    table = _T.name
    mine = "(SELECT v.{0} FROM v WHERE v.k = excluded.key)"
    locked = f"({table}.locked_until IS NOT NULL AND {table}.locked_until > :hit_now)"
    reset = (
        f"({table}.window_start <= {mine.format('cutoff')} OR "
        f"(NOT {mine.format('backoff')} AND {table}.locked_until IS NOT NULL))"
    )
    sql = (
        f"WITH v (k, cutoff, backoff) AS (VALUES {rows}) "
        f"INSERT INTO {table} (key, window_start, count) "
        f"SELECT v.k, :hit_now, 1 FROM v WHERE 1 = 1 ORDER BY v.k "
        f"ON CONFLICT (key) DO UPDATE SET "
        f"window_start = CASE WHEN {locked} THEN {table}.window_start "
        f"WHEN {reset} THEN :hit_now ELSE {table}.window_start END, "
        f"count = CASE WHEN {locked} THEN {table}.count WHEN {reset} THEN 1 "
        f"ELSE {table}.count + 1 END, "
        f"locked_until = CASE WHEN {locked} THEN {table}.locked_until WHEN {reset} THEN NULL "
        f"ELSE {table}.locked_until END "
        f"RETURNING key, window_start, count, locked_until"
    )
    stamp = _C.window_start.type
    binds = [bindparam("hit_now", type_=stamp)]
    for i in range(n):
        binds += [
            bindparam(f"hit_key_{i}", type_=_C.key.type),
            bindparam(f"hit_cutoff_{i}", type_=stamp),
            bindparam(f"hit_backoff_{i}", type_=Boolean()),
        ]
    return (
        text(sql)
        .bindparams(*binds)
        .columns(key=_C.key.type, window_start=stamp, count=_C.count.type, locked_until=stamp)
    )


# ---- PostgreSQL: counting and settling in one statement -----------------------------------------


def _seconds(span: timedelta | None) -> str | None:
    """A span as PostgreSQL reads an interval of seconds: never days, whose length a time zone's
    clock changes could alter (Python adds exact seconds)."""
    return None if span is None else f"{span.total_seconds()} seconds"


def settled_params(prefix: str, limit: Limit) -> dict[str, Any]:
    """The parameters of `limit` for a row of `settled_values(prefix)`: its rules as intervals,
    so that `settled_upsert` applies them in the statement; `first` is the lockout the first
    attempt of a window earns (none but for a limit of one attempt or none)."""
    if limit.backoff is not None:
        first = limit.delay_after(1)
    else:
        first = (limit.lockout or limit.window) if limit.attempts < 1 else None
    return {
        f"{prefix}_attempts": limit.attempts,
        f"{prefix}_backoff": _seconds(limit.backoff),
        f"{prefix}_lockout": _seconds(limit.lockout),
        f"{prefix}_win": _seconds(limit.window),
        f"{prefix}_first": _seconds(first),
    }


#: The columns of a source of `settled_upsert`: the key, the instant of the attempt
#: (`:hit_now`), and its limit's rules (`settled_params`).
SETTLED_COLUMNS: Final = "k, ts, attempts, backoff, lockout, win, first"


def settled_values(prefix: str) -> str:
    """One row of a `VALUES` list for `settled_upsert` (columns `SETTLED_COLUMNS`): the key
    `:<prefix>_k`, `:hit_now` and the rules `settled_params(prefix, limit)`."""
    spans = ", ".join(
        f"CAST(:{prefix}_{name} AS interval)" for name in ("backoff", "lockout", "win", "first")
    )
    return f"(CAST(:{prefix}_k AS text), :hit_now, CAST(:{prefix}_attempts AS int), {spans})"


def settled_binds() -> list[Any]:
    """The typed parameters of `settled_values` (for `text(...).bindparams`)."""
    return [bindparam("hit_now", type_=_C.window_start.type)]


def _lock_sql(count: str, start: str) -> str:
    """The lockout a key of limit row `s` earns at its `count`-th attempt of the window that
    began at `start` (NULL: none), as `StoreCounters._settle` sets it: with backoff the delay
    of `Limit.delay_after`, without it `lockout` from now, else the window's end."""
    return (
        f"CASE WHEN s.backoff IS NOT NULL THEN CASE WHEN {count} >= s.attempts THEN "
        f"s.ts + LEAST(COALESCE(s.lockout, s.win), "
        f"s.backoff * power(2, LEAST({count} - s.attempts, 30))) END "
        f"WHEN {count} > s.attempts THEN COALESCE(s.ts + s.lockout, {start} + s.win) END"
    )


def settled_upsert(source: str) -> str:
    """PostgreSQL: one attempt of each key of the CTE `source` (columns `SETTLED_COLUMNS`)
    counted and settled in the same statement: what `StoreCounters.hit` and its `_settle` do
    with two (the counting upsert, then the UPDATE of a lockout earned).

    A key locked now is left as it is (its row is locked, nothing counted) and is NOT returned;
    every other key comes back as `key, window_start, count, locked_until` after the attempt,
    with any lockout this attempt earned. Rows are taken in key order (no deadlock between
    requests counting overlapping keys). `blocked_sql` says which returned rows refuse the
    attempt."""
    return (
        f"INSERT INTO {_T.name} AS t (key, window_start, count, locked_until) "
        f"SELECT s.k, s.ts, 1, s.ts + s.first FROM {source} s ORDER BY s.k "
        f"ON CONFLICT (key) DO UPDATE SET (window_start, count, locked_until) = ("
        f"SELECT n.start, n.hits, COALESCE({_lock_sql('n.hits', 'n.start')}, n.until) "
        f"FROM {source} s, LATERAL (SELECT "
        f"t.window_start <= s.ts - s.win OR (s.backoff IS NULL AND t.locked_until IS NOT NULL) "
        f"AS reset) r, LATERAL (SELECT "
        f"CASE WHEN r.reset THEN s.ts ELSE t.window_start END AS start, "
        f"CASE WHEN r.reset THEN 1 ELSE t.count + 1 END AS hits, "
        f"CASE WHEN r.reset THEN NULL ELSE t.locked_until END AS until) n "
        f"WHERE s.k = excluded.key) "
        f"WHERE t.locked_until IS NULL OR t.locked_until <= excluded.window_start "
        f"RETURNING t.key, t.window_start, t.count, t.locked_until"
    )


def blocked_sql(row: str, s: str) -> str:
    """Whether a row returned by `settled_upsert` (alias `row`, its limit row `s`) refuses the
    attempt: a lockout it earned now without backoff (with backoff the attempt goes ahead, the
    delay holds the next one), as `StoreCounters._settle` answers."""
    return (
        f"({s}.backoff IS NULL AND {row}.locked_until IS NOT NULL AND {row}.locked_until > {s}.ts)"
    )

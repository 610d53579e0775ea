"""The citizen's lookup: check the form, count the attempt, send a one-time code, open a session.

The lookup never says whether anybody matched; each attempt counts on the shared store limiter
(`vaxlink.ratelimit`): per (ID number, client address) pair with progressive delays, so that
nobody elsewhere can lock a citizen out; per ID number only against a high daily ceiling; per
phone on record (codes sent) and per client address; wrong codes per address.

The slow and the read-only work (registry lookup, hashing the new code) is done before the
first write, so the store's writer lock (one writer at a time on SQLite) is held only for the
few short counter and challenge writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import Boolean, Integer, String, Table, bindparam, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.db import UtcDateTime
from vaxlink.dbdriver import driver_rows
from vaxlink.feedback import otp
from vaxlink.feedback.errors import LookupInvalid
from vaxlink.feedback.models import OtpChallenge
from vaxlink.feedback.tickets import Notice
from vaxlink.identity import classify_id, fold_name, normalise_id, parse_date
from vaxlink.identity.errors import DateParseError
from vaxlink.identity.idnumber import IdKind
from vaxlink.ratelimit import (
    SETTLED_COLUMNS,
    Limit,
    StoreCounters,
    blocked_sql,
    counter_key,
    first_lock_of,
    hit_all,
    lock_params,
    lock_subquery,
    secret_of,
    settled_binds,
    settled_params,
    settled_upsert,
    settled_values,
)
from vaxlink.records.service import person_ref
from vaxlink.registry.service import Citizen
from vaxlink.settings import Settings

#: Lookups per phone on record and per client address; wrong codes per address.
LOOKUP_BY_PHONE: Final = Limit("phone", 5, timedelta(hours=1), timedelta(hours=1))
LOOKUP_BY_ADDRESS: Final = Limit("addr", 30, timedelta(hours=1), timedelta(hours=1))
CODE_BY_ADDRESS: Final = Limit("code", 10, timedelta(minutes=15), timedelta(minutes=30))
#: Free lookups of one ID from one address a day before the delays start.
PAIR_FREE: Final = 5


def lookup_limits(settings: Settings) -> tuple[Limit, Limit]:
    """(per ID and address pair, with backoff; per ID number, the daily ceiling)."""
    day = timedelta(days=1)
    pair = Limit("id-addr", PAIR_FREE, day, timedelta(hours=1),
                 timedelta(seconds=settings.lookup_backoff_seconds))  # fmt: skip
    return pair, Limit("id-day", settings.lookup_max_per_id_day, day)


def _limiter(session: Session, limit: Limit, settings: Settings, now: datetime) -> StoreCounters:
    return StoreCounters(session, limit, secret=secret_of(settings), now=now)


@dataclass(frozen=True)
class LookupForm:
    """What the citizen typed, normalised."""

    id_number: str
    name_folded: str
    date_of_birth: str


def parse_lookup(id_number: str, full_name: str, date_of_birth: str) -> LookupForm:
    """Check the form's shape only (never whether anybody matches)."""
    digits = normalise_id(id_number)
    if classify_id(digits) not in (IdKind.CCCD12, IdKind.CMND9):
        raise LookupInvalid(
            "enter the 12-digit citizen ID (or the old 9-digit ID card number)",
            key="feedback.err.id",
        )
    folded = fold_name(full_name)
    if len(folded) < 2 or len(full_name) > 120:
        raise LookupInvalid("enter your full name as on your ID card", key="feedback.err.name")
    try:
        dob = parse_date(date_of_birth.strip(), what="date of birth")
    except DateParseError as exc:
        raise LookupInvalid(
            "enter your date of birth, e.g. 14/03/1985", key="feedback.err.dob"
        ) from exc
    return LookupForm(digits, folded, dob.iso())


@dataclass(frozen=True)
class LookupOutcome:
    """The browser's challenge handle (None when locked out) and the SMS to send after commit."""

    handle: str | None
    locked_until: datetime | None
    sms: Notice | None


def code_sms(code: str, minutes: int) -> str:
    """The text carrying a one-time code (ASCII, one segment; `feedback.sms.code`)."""
    from vaxlink.feedback.sms import bilingual

    both = {"code": code, "minutes": minutes}
    return bilingual("feedback.sms.code", {"vi": both, "en": both})


class _Found(NamedTuple):
    """A row of `_FIND`."""

    until: datetime | None
    citizen_id: str | None
    name_folded: str | None
    date_of_birth: str | None
    phone: str | None


_CITIZENS: Final = cast(Table, Citizen.__table__)
_LOCKS: Final = lock_subquery(3)
#: The one read of every lookup, built once: whether any of its three counters is locked now
#: (one row, always) and the people with the ID (none, one or two), in one round trip; on the
#: tables (Core): through the mapped class the ORM's compile and loading steps cost more than
#: the query.
_FIND: Final = (
    select(_LOCKS.c.until, _CITIZENS.c.citizen_id, _CITIZENS.c.name_folded,
           _CITIZENS.c.date_of_birth, _CITIZENS.c.phone)
    .select_from(_LOCKS.outerjoin(_CITIZENS, or_(
        _CITIZENS.c.citizen_id == bindparam("lookup_id"),
        _CITIZENS.c.old_id == bindparam("lookup_id"))))
    .limit(2)
)  # fmt: skip


def _person(found: Sequence[Sequence[Any]], form: LookupForm) -> _Found | None:
    """The one person of `_FIND`'s rows the form's details match, when they have a phone."""
    rows = [_Found(*r) for r in found]
    match = [r for r in rows if r.citizen_id is not None and r.name_folded == form.name_folded
             and r.date_of_birth == form.date_of_birth]  # fmt: skip
    return match[0] if len(match) == 1 and match[0].phone else None


def start_lookup(
    session: Session, form: LookupForm, *, client: str, now: datetime, settings: Settings
) -> LookupOutcome:
    """Count the attempt, find the person, and write a challenge whether or not they matched.

    Reads and hashing first, writes last (see the module's docstring). On PostgreSQL the writes
    are one statement (`_write_statement`), in `session`'s transaction."""
    if session.get_bind().dialect.name == "postgresql":
        return _start_lookup_pg(partial(driver_rows, session), form, client=client, now=now,
                                settings=settings)  # fmt: skip
    return _start_lookup_session(session, form, client=client, now=now, settings=settings)


def start_lookup_autocommit(
    engine: Engine, form: LookupForm, *, client: str, now: datetime, settings: Settings
) -> LookupOutcome:
    """`start_lookup` on PostgreSQL without a unit of work: its read and its one write statement
    on a connection of `engine`'s pool in autocommit, each its own transaction (no BEGIN and
    COMMIT round trips, no ORM session). Under READ COMMITTED each statement of a transaction
    sees the store as of its own start anyway, and the write is one statement (atomic): the
    same guarantees as `start_lookup` in a transaction. The writes are committed on return."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        return _start_lookup_pg(partial(driver_rows, conn), form, client=client, now=now,
                                settings=settings)  # fmt: skip


Rows = Callable[[Any, Mapping[str, Any]], Sequence[Sequence[Any]]]


@cache
def _write_statement() -> Any:
    """PostgreSQL: every write of a lookup in one statement (one round trip), the limiter's
    rules applied in it (`ratelimit.settled_upsert`):

    - `hit`: one attempt on each of the three lookup counters (`lim`, key order); a counter
      locked now is not counted and not returned;
    - `go`: all three came back and none of them refuses the attempt (what `hit_all` and
      `_settle` answer);
    - `phone`: only then, one attempt on the phone's counter (a refused lookup never counts
      against the phone);
    - `challenge`: only then, the challenge, for the person only when the phone's counter let
      the attempt through (else for nobody: the answer is the same).

    Returned: the three counters that came back (key, lockout, whether it refuses) and the
    challenge (id, person) when it was written."""
    lim = ", ".join(settled_values(f"c{i}") for i in range(3))
    sql = (
        f"WITH lim ({SETTLED_COLUMNS}) AS (VALUES {lim}), "
        f"hit AS ({settled_upsert('lim')}), "
        f"go AS (SELECT count(*) = 3 AS ok FROM hit h JOIN lim s ON s.k = h.key "
        f"WHERE NOT {blocked_sql('h', 's')}), "
        f"ph ({SETTLED_COLUMNS}) AS (SELECT * FROM (VALUES {settled_values('c3')}) v "
        f"WHERE (SELECT ok FROM go)), "
        f"phone AS ({settled_upsert('ph')}), "
        f"challenge AS (INSERT INTO {_CHALLENGES.name} (handle_hash, citizen_id, code_hash, "
        f"salt, created_at, expires_at, attempts) SELECT :handle_hash, "
        f"CASE WHEN EXISTS (SELECT 1 FROM phone p JOIN ph s ON s.k = p.key "
        f"WHERE NOT {blocked_sql('p', 's')}) THEN CAST(:citizen_id AS text) END, "
        f":code_hash, :salt, :hit_now, :expires_at, 0 WHERE (SELECT ok FROM go) "
        f"RETURNING id, citizen_id) "
        f"SELECT h.key, h.locked_until, {blocked_sql('h', 's')}, NULL, NULL "
        f"FROM hit h JOIN lim s ON s.k = h.key "
        f"UNION ALL SELECT NULL, NULL, NULL, c.id, c.citizen_id FROM challenge c"
    )
    stamp = UtcDateTime()
    return (
        text(sql)
        .bindparams(*settled_binds(), bindparam("expires_at", type_=stamp))
        .columns(
            key=String(), locked_until=stamp, blocked=Boolean(), challenge_id=Integer(),
            citizen_id=String(),
        )
    )  # fmt: skip


_CHALLENGES: Final = cast(Table, OtpChallenge.__table__)


def _start_lookup_pg(
    rows_of: Rows, form: LookupForm, *, client: str, now: datetime, settings: Settings
) -> LookupOutcome:
    """`start_lookup` on PostgreSQL in two statements: `_FIND`, then `_write_statement()`."""
    by_pair, by_id = lookup_limits(settings)
    secret = secret_of(settings)
    limits = [(by_pair, f"{form.id_number}|{client}"), (by_id, form.id_number),
              (LOOKUP_BY_ADDRESS, client)]  # fmt: skip
    keys = [counter_key(secret, limit, value) for limit, value in limits]
    reading: dict[str, Any] = {f"lock_key_{i}": key for i, key in enumerate(keys)}
    reading["lock_now"] = now
    # One read: a locked caller costs no write and no hashing.
    found = rows_of(_FIND, {"lookup_id": form.id_number, **reading})
    waiting: datetime | None = found[0][0]
    if waiting is not None:
        return LookupOutcome(None, waiting, None)
    person = _person(found, form)
    prepared = otp.prepare_challenge(otp.otp_key(secret))
    # Counted on both paths (unknown people under a key derived from the ID) so the work is equal.
    phone_value = person.phone if person is not None and person.phone else f"none|{form.id_number}"
    ttl = timedelta(seconds=settings.otp_ttl_seconds)
    p = prepared
    params: dict[str, Any] = {
        "hit_now": now, "expires_at": now + ttl, "handle_hash": otp.token_hash(p.handle),
        "citizen_id": person.citizen_id if person is not None else None,
        "code_hash": p.code_hash, "salt": p.salt.hex(),
    }  # fmt: skip
    counted = [(limit, key) for (limit, _value), key in zip(limits, keys, strict=True)]
    counted.append((LOOKUP_BY_PHONE, counter_key(secret, LOOKUP_BY_PHONE, phone_value)))
    for i, (limit, key) in enumerate(counted):
        params[f"c{i}_k"] = key
        params.update(settled_params(f"c{i}", limit))
    rows = rows_of(_write_statement(), params)
    written = [r for r in rows if r[3] is not None]
    if not written:  # refused: a counter locked now (not returned), or one that locked now
        back = {r[0]: r for r in rows}
        locks = [r[1] for r in back.values() if r[2]]
        missing = [key for key in keys if key not in back]
        if missing:  # locked by another request since the read: when it ends
            params = {f"lock_key_{i}": key for i, key in enumerate(missing)}
            params["lock_now"] = now
            locks += [r[0] for r in rows_of(first_lock_of(len(missing)), params) if r[0]]
        return LookupOutcome(None, max(locks) if locks else None, None)
    ((_key, _until, _blocked, _challenge, to_whom),) = written
    sms = None
    if to_whom is not None and person is not None:  # the phone's counter let it through
        sms = Notice(str(person.phone), code_sms(p.code, settings.otp_ttl_seconds // 60))
    return LookupOutcome(p.handle, None, sms)


def _start_lookup_session(
    session: Session, form: LookupForm, *, client: str, now: datetime, settings: Settings
) -> LookupOutcome:
    """`start_lookup` statement by statement through `session` (SQLite)."""
    by_pair, by_id = lookup_limits(settings)
    counters = [
        (_limiter(session, by_pair, settings, now), f"{form.id_number}|{client}"),
        (_limiter(session, by_id, settings, now), form.id_number),
        (_limiter(session, LOOKUP_BY_ADDRESS, settings, now), client),
    ]
    # One read: a locked caller costs no write and no hashing.
    found = driver_rows(session, _FIND, {"lookup_id": form.id_number, **lock_params(counters)})
    waiting: datetime | None = found[0][0]
    if waiting is not None:
        return LookupOutcome(None, waiting, None)
    person = _person(found, form)
    prepared = otp.prepare_challenge(otp.otp_key(secret_of(settings)))  # before the first write
    # -- writes from here on: short ones only --
    locks = hit_all(counters)  # the three counters in one upsert
    if any(locks):
        return LookupOutcome(None, max(t for t in locks if t is not None), None)
    # Counted on both paths (unknown people under a key derived from the ID) so the work is equal.
    phone_value = person.phone if person is not None and person.phone else f"none|{form.id_number}"
    phone_locked = _limiter(session, LOOKUP_BY_PHONE, settings, now).hit(phone_value)
    if phone_locked is not None:
        person = None  # silently: the answer must not tell a locked phone from no match
    ttl = timedelta(seconds=settings.otp_ttl_seconds)
    issued = otp.create_challenge(
        session, person.citizen_id if person is not None else None, now=now, ttl=ttl,
        prepared=prepared,
    )  # fmt: skip
    sms = None
    if person is not None:
        sms = Notice(str(person.phone), code_sms(issued.code, settings.otp_ttl_seconds // 60))
    return LookupOutcome(issued.handle, None, sms)


@dataclass(frozen=True)
class CodeOutcome:
    """A session token when the code was right; else guesses left, or the end of a lockout."""

    token: str | None
    attempts_left: int
    locked_until: datetime | None
    citizen_id: str | None = None


def finish_lookup(
    session: Session, handle: str | None, code: str, *, client: str, now: datetime,
    settings: Settings,
) -> CodeOutcome:  # fmt: skip
    """Check the code; a right one opens a citizen session (audited), wrong ones count."""
    codes = _limiter(session, CODE_BY_ADDRESS, settings, now)
    locked = codes.locked_until(client)
    if locked is not None:
        return CodeOutcome(None, 0, locked)
    check = otp.check_code(session, handle, code, now=now, max_attempts=settings.otp_max_attempts,
                           key=otp.otp_key(secret_of(settings)))  # fmt: skip
    if check.citizen_id is None:
        locked = codes.hit(client)
        return CodeOutcome(None, check.attempts_left, locked)
    ttl = timedelta(minutes=settings.citizen_session_minutes)
    token = otp.open_session(session, check.citizen_id, now=now, ttl=ttl)
    auth.append(session, actor=None, action="feedback.citizen.login", object_type="citizen",
                 object_id=person_ref(session, check.citizen_id), detail={"via": "sms_code"},
                 at=now)  # fmt: skip
    return CodeOutcome(token, 0, None, check.citizen_id)

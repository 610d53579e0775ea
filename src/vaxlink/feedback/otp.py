"""One-time codes and citizen sessions.

A challenge row is written for every lookup, matched or not, and its code is always hashed the
same way, so the two paths do the same work. Codes are six digits, stored as HMAC-SHA256 under a
server key (`otp_key`, derived from the portal's secret) with a per-challenge salt, expire, are
single-use and allow a fixed number of guesses. A six-digit code has a million values, so a slow
hash could not protect a stolen table anyway; the server key does (without it no stored hash can
be tested), and it costs microseconds instead of scrypt's ~10 ms of CPU per lookup, which capped
the portal at about 50 lookups a second on two cores. The browser holds
only a random handle (cookie) whose SHA-256 is stored; so does a citizen session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from vaxlink.dbdriver import driver_rows
from vaxlink.feedback.errors import CitizenSessionMissing
from vaxlink.feedback.models import CitizenSession, OtpChallenge

CODE_DIGITS: Final = 6


def new_code() -> str:
    """A uniformly random six-digit code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def otp_key(secret: bytes) -> bytes:
    """The key one-time codes are hashed with, derived from the portal's secret (`secret_of`)."""
    return hmac.new(secret, b"vaxlink-otp-code/1", hashlib.sha256).digest()


def hash_code(code: str, salt: bytes, key: bytes) -> str:
    """HMAC-SHA256 of salt and code under the server key (hex)."""
    return hmac.new(key, salt + code.encode("ascii"), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a random handle or session token as stored."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A new challenge: the handle for the browser and the code for the phone."""

    handle: str
    code: str
    challenge_id: int


@dataclass(frozen=True)
class Prepared:
    """A challenge computed ahead of any write."""

    handle: str
    code: str
    salt: bytes
    code_hash: str


def prepare_challenge(key: bytes) -> Prepared:
    """A fresh handle, code and salt, and the code's hash: all the work, none of the writing."""
    handle, code, salt = secrets.token_urlsafe(32), new_code(), secrets.token_bytes(16)
    return Prepared(handle, code, salt, hash_code(code, salt, key))


#: One row per lookup, inserted on the table (Core): the ORM's unit of work costs several times
#: the insert itself on this hot path, and nothing reads the object back.
_CHALLENGES: Final = cast(Table, OtpChallenge.__table__)
_NEW_CHALLENGE: Final = insert(_CHALLENGES).returning(_CHALLENGES.c.id)


def create_challenge(
    session: Session,
    citizen_id: str | None,
    *,
    now: datetime,
    ttl: timedelta,
    prepared: Prepared,
) -> Issued:
    """A challenge for `citizen_id` (None: nobody matched; its code never verifies), from a
    `prepared` one (made before the write transaction)."""
    p = prepared
    ((challenge_id,),) = driver_rows(session, _NEW_CHALLENGE, {
        "handle_hash": token_hash(p.handle), "citizen_id": citizen_id, "code_hash": p.code_hash,
        "salt": p.salt.hex(), "created_at": now, "expires_at": now + ttl, "attempts": 0,
    })  # fmt: skip
    return Issued(p.handle, p.code, int(challenge_id))


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of one guess: the person when right, else the guesses left on the challenge.

    `compared` says whether the guess was compared with the code at all (it had a guess left).
    """

    citizen_id: str | None
    attempts_left: int
    compared: bool = False


def check_code(
    session: Session,
    handle: str | None,
    code: str,
    *,
    now: datetime,
    max_attempts: int,
    key: bytes,
) -> CodeCheck:
    """Check one guess; counts the attempt and uses the challenge up when right.

    The guess is hashed and the challenge read before anything is written; then one conditional
    UPDATE takes a guess (`attempts < max_attempts`, unused, unexpired) in the store itself, and
    only a guess it let through is compared. However the requests interleave, at most
    `max_attempts` guesses are compared. The caller commits even when the guess is wrong.
    """
    found = None
    if handle:
        found = session.execute(
            select(OtpChallenge.id, OtpChallenge.salt, OtpChallenge.code_hash)
            .where(OtpChallenge.handle_hash == token_hash(handle))
        ).first()  # fmt: skip
    salt = bytes.fromhex(found.salt) if found is not None else secrets.token_bytes(16)
    guess = hash_code(code.strip(), salt, key) if code.strip().isdigit() else ""
    if found is None:
        return CodeCheck(None, 0)
    taken = session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.id == found.id,
            OtpChallenge.attempts < max_attempts,
            OtpChallenge.used_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .values(attempts=OtpChallenge.attempts + 1)
        .returning(OtpChallenge.attempts, OtpChallenge.citizen_id)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        return CodeCheck(None, 0)
    left = max(0, max_attempts - int(taken.attempts))
    if taken.citizen_id is None or not hmac.compare_digest(guess, found.code_hash):
        return CodeCheck(None, left, compared=True)
    used = session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == found.id, OtpChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(used, "rowcount", 0) or 0) != 1:  # a concurrent right guess won
        return CodeCheck(None, 0, compared=True)
    return CodeCheck(str(taken.citizen_id), 0, compared=True)


def open_session(session: Session, citizen_id: str, *, now: datetime, ttl: timedelta) -> str:
    """A new citizen session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        CitizenSession(
            token_hash=token_hash(token),
            citizen_id=citizen_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def session_citizen(session: Session, token: str | None, *, now: datetime) -> str:
    """The citizen of a live session token, else `CitizenSessionMissing`."""
    if token:
        row = session.execute(
            select(CitizenSession.citizen_id, CitizenSession.expires_at, CitizenSession.ended_at)
            .where(CitizenSession.token_hash == token_hash(token))
        ).first()  # fmt: skip
        if row is not None and row.ended_at is None and row.expires_at > now:
            return str(row.citizen_id)
    raise CitizenSessionMissing("your session has ended; look up your record again")


def end_session(session: Session, token: str | None, *, now: datetime) -> None:
    """Log the citizen out."""
    if token:
        session.execute(
            update(CitizenSession)
            .where(
                CitizenSession.token_hash == token_hash(token), CitizenSession.ended_at.is_(None)
            )
            .values(ended_at=now)
        )


def purge_expired(session: Session, *, now: datetime, keep: timedelta = timedelta(days=1)) -> int:
    """Delete challenges and citizen sessions that ended more than `keep` ago (set-based)."""
    cutoff = now - keep
    gone = session.execute(delete(OtpChallenge).where(OtpChallenge.expires_at < cutoff))
    ended = session.execute(delete(CitizenSession).where(CitizenSession.expires_at < cutoff))
    return int(getattr(gone, "rowcount", 0) or 0) + int(getattr(ended, "rowcount", 0) or 0)

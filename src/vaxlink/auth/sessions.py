"""Server-side staff sessions: only a token's SHA-256 is stored; idle and absolute limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vaxlink.auth.models import AuthSession, User
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.settings import Settings

#: A session's last-seen time is written at most this often (keeps reads from becoming writes).
TOUCH_EVERY: Final = dt.timedelta(seconds=60)


def principal_of(user: User) -> Principal:
    """The Principal an account acts as."""
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        unit=UnitKey(Level(user.unit_level), user.unit_code),
        facility_code=user.facility_code,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def create_session(
    session: Session,
    user: User,
    *,
    settings: Settings,
    second_factor_pending: bool = False,
    now: dt.datetime,
) -> str:
    """A new session for `user` from `now`; returns the cookie token (only its SHA-256 is
    stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_max_hours),
            second_factor_pending=second_factor_pending,
        )
    )  # fmt: skip
    session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Resolved:
    """A live session and its account."""

    row: AuthSession
    user: User

    @property
    def principal(self) -> Principal:
        return principal_of(self.user)


def resolve_session(
    session: Session, token: str | None, *, settings: Settings, now: dt.datetime
) -> Resolved | None:
    """The live session the token names (not revoked, within idle and absolute limits, account
    active), or None. Second-factor-pending sessions are returned: callers check the flag."""
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Resolved(row, user)


def revoke_session(session: Session, token: str | None, *, now: dt.datetime) -> None:
    """End the session the token names (no error if there is none)."""
    if token:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash(token), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def revoke_all_sessions(session: Session, user_id: int, *, now: dt.datetime) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_other_sessions(
    session: Session, user_id: int, keep_token: str | None, *, now: dt.datetime
) -> int:
    """End every live session of the account but the one `keep_token` names; how many ended."""
    query = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(AuthSession.token_hash != token_hash(keep_token))
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)

"""Login rate limits per user name and per client address, counted in the store.

Counted in the store (not in process memory) so the limits hold across workers and restarts.
Names and addresses are kept only as SHA-256 keys, and only for two lockout windows.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from vaxlink.auth.models import LoginAttempt
from vaxlink.settings import Settings


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _failures(
    session: Session, column: str, key: str, since: dt.datetime, *, reset_by_success: bool
) -> tuple[int, dt.datetime | None]:
    """Failures in the window; for a user name, only those after its last success (a client
    address is not reset by a success: one valid account must not reset guessing at others)."""
    col = getattr(LoginAttempt, column)
    conditions = [col == key, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since]
    if reset_by_success:
        last_ok = (
            select(func.max(LoginAttempt.id))
            .where(col == key, LoginAttempt.succeeded.is_(True), LoginAttempt.at > since)
            .scalar_subquery()
        )
        conditions.append(or_(last_ok.is_(None), LoginAttempt.id > last_ok))
    count, first = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(*conditions)
    ).one()
    return int(count), first


def locked_for(
    session: Session, username: str, client: str, *, settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds until a login may be tried again for this name or address, or None if it may."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    since = now - window
    waits = []
    for column, key, limit in (
        ("username_key", _key("user", username), settings.login_max_failures_per_user),
        ("client_key", _key("client", client), settings.login_max_failures_per_client),
    ):
        count, first = _failures(session, column, key, since, reset_by_success=column[0] == "u")
        if count >= limit and first is not None:
            waits.append(int((first + window - now).total_seconds()) + 1)
    return max(waits) if waits else None


def note(
    session: Session,
    username: str,
    client: str,
    *,
    succeeded: bool,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Count one attempt; forget attempts older than two windows."""
    session.add(
        LoginAttempt(
            at=now,
            username_key=_key("user", username),
            client_key=_key("client", client),
            succeeded=succeeded,
        )
    )
    old = now - 2 * dt.timedelta(minutes=settings.login_window_minutes)
    session.execute(
        delete(LoginAttempt).where(
            and_(LoginAttempt.at < old),
            or_(
                LoginAttempt.username_key == _key("user", username),
                LoginAttempt.client_key == _key("client", client),
            ),
        )
    )
    session.flush()

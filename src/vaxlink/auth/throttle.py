"""Login rate limits per user name and per client address, on the shared store limiter.

Counted in the store (not in process memory) so the limits hold across workers and restarts;
names and addresses are kept only as HMAC keys (`vaxlink.ratelimit.store`). The failure that
reaches a maximum locks the name or the address until its window (from its first failure)
ends; a success clears the name's failures, never the address's (one valid account must not
reset guessing at others).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from vaxlink.ratelimit import Limit, StoreCounters, secret_of
from vaxlink.settings import Settings


def _limiters(
    session: Session, settings: Settings, now: dt.datetime
) -> tuple[StoreCounters, StoreCounters]:
    """(per user name, per client address); the n-th failure of a maximum n locks."""
    window = dt.timedelta(minutes=settings.login_window_minutes)
    secret = secret_of(settings)
    by_name = Limit("login-user", settings.login_max_failures_per_user - 1, window)
    by_client = Limit("login-addr", settings.login_max_failures_per_client - 1, window)
    return (
        StoreCounters(session, by_name, secret=secret, now=now),
        StoreCounters(session, by_client, secret=secret, now=now),
    )


def locked_for(
    session: Session, username: str, client: str, *, settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds until a login may be tried again for this name or address, or None if it may."""
    by_name, by_client = _limiters(session, settings, now)
    wait = max(by_name.wait(username), by_client.wait(client))
    return int(wait) + 1 if wait > 0 else None


def note(
    session: Session,
    username: str,
    client: str,
    *,
    succeeded: bool,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Count one attempt: a failure against the name and the address, a success clears the name."""
    by_name, by_client = _limiters(session, settings, now)
    if succeeded:
        by_name.clear(username)
        return
    by_name.take(username)
    by_client.take(client)

"""Login rate limits on the shared store limiter, keyed so that a stranger cannot lock anyone out.

Failures count in three places (names and addresses kept only as HMAC keys,
`vaxlink.ratelimit.store`):

- per (user name, address) pair, with progressive delays: after a few failures that pair waits
  `login_backoff_seconds`, then twice that, and so on (at most an hour). Only someone at that
  address can slow that pair, so an attacker elsewhere never delays the real user's own logins;
- per user name, a high daily ceiling (`login_max_failures_per_user_day`): the last stop for a
  guessing campaign spread over many addresses, far above what one address may do;
- per address, a window (`login_max_failures_per_client` per `login_window_minutes`), which
  locks only the guessing address.

A success clears the pair, never the name's ceiling or the address (one valid account must not
reset guessing at others).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from vaxlink.ratelimit import Limit, StoreCounters, first_lock, secret_of
from vaxlink.settings import Settings

DAY = dt.timedelta(days=1)


def _limiters(
    session: Session, settings: Settings, now: dt.datetime
) -> tuple[StoreCounters, StoreCounters, StoreCounters]:
    """(per name and address, per name, per address).

    The pair waits after its n-th failure (n = `login_max_failures_per_user`); the n-th failure
    of the name's or the address's maximum n locks that key."""
    secret = secret_of(settings)
    by_pair = Limit(
        "login-pair", settings.login_max_failures_per_user, DAY,
        dt.timedelta(hours=1), dt.timedelta(seconds=settings.login_backoff_seconds),
    )  # fmt: skip
    by_name = Limit("login-user", settings.login_max_failures_per_user_day - 1, DAY)
    window = dt.timedelta(minutes=settings.login_window_minutes)
    by_client = Limit("login-addr", settings.login_max_failures_per_client - 1, window)
    return (
        StoreCounters(session, by_pair, secret=secret, now=now),
        StoreCounters(session, by_name, secret=secret, now=now),
        StoreCounters(session, by_client, secret=secret, now=now),
    )


def _pair(username: str, client: str) -> str:
    return f"{username}|{client}"


def locked_for(
    session: Session, username: str, client: str, *, settings: Settings, now: dt.datetime
) -> int | None:
    """Seconds until a login may be tried again for this name from this address, or None."""
    by_pair, by_name, by_client = _limiters(session, settings, now)
    until = first_lock([(by_pair, _pair(username, client)), (by_name, username),
                        (by_client, client)])  # one read for the three keys  # fmt: skip
    wait = (until - now).total_seconds() if until is not None else 0.0
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
    """Count one attempt: a failure against the pair, the name and the address; a success
    clears the pair."""
    by_pair, by_name, by_client = _limiters(session, settings, now)
    if succeeded:
        by_pair.clear(_pair(username, client))
        return
    by_pair.take(_pair(username, client))
    by_name.take(username)
    by_client.take(client)

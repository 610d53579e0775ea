"""One rate limiter for every use: a key (an address, a user name, an ID number, a phone) may
make so many attempts; past that it waits.

Every use goes through the same interface, `Limiter` (`take` / `wait` / `clear`, seconds to
wait out), over one of two stores chosen by what the use needs:

- `TokenBuckets` (`memory`): process memory, for the public endpoints (certificate and identity
  checks per address), where abuse must not cost a database write per request.
- `StoreCounters` (`store`): counter rows in the database, for lockouts that must hold across
  worker processes and restarts (login failures per name and per address, citizen lookups and
  one-time codes). Keys are stored only as HMACs of the value.

The FastAPI dependencies for the public endpoints (`rate_limited`, `seconds_to_wait`) are in
`vaxlink.ratelimit.web`, so that services can use the limiter without loading the web layer.
"""

from __future__ import annotations

from typing import Protocol

from vaxlink.errors import TooManyRequests
from vaxlink.ratelimit.memory import MAX_CLIENTS, Rate, TokenBuckets
from vaxlink.ratelimit.store import (
    DEV_SECRET,
    SETTLED_COLUMNS,
    Limit,
    StoreCounters,
    blocked_sql,
    counter_key,
    first_lock,
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

__all__ = [
    "DEV_SECRET",
    "MAX_CLIENTS",
    "SETTLED_COLUMNS",
    "Limit",
    "Limiter",
    "Rate",
    "RateLimited",
    "StoreCounters",
    "TokenBuckets",
    "blocked_sql",
    "counter_key",
    "first_lock",
    "first_lock_of",
    "hit_all",
    "lock_params",
    "lock_subquery",
    "secret_of",
    "settled_binds",
    "settled_params",
    "settled_upsert",
    "settled_values",
]


class Limiter(Protocol):
    """What every limiter does; values are the raw key (an address, a name), never stored as is."""

    def take(self, key: str) -> float:
        """Count one attempt of `key`: 0.0 when it may go ahead, else the seconds to wait."""
        ...

    def wait(self, key: str) -> float:
        """The seconds until `key` may try again (0.0: now), counting nothing."""
        ...

    def clear(self, key: str) -> None:
        """Forget `key`'s attempts (after a success), unless it is locked out."""
        ...


class RateLimited(TooManyRequests):
    """Too many requests from one address: HTTP 429 with `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests from this address; try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}

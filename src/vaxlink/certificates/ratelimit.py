"""Rate limits of the public endpoints per client address: token buckets held in this process.

Store-independent on purpose: an abusive client must not cost a database write per request.
The price is that each worker process keeps its own buckets (N workers allow N times the rate)
and a restart forgets them; production sets the real limits in the reverse proxy
(docs/deployment.md, "Rate limits") and keeps these as the second line.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from vaxlink.errors import VaxlinkError
from vaxlink.settings import Settings

#: Clients remembered per bucket set; beyond it the least recently seen are forgotten.
MAX_CLIENTS: Final = 100_000


class RateLimited(VaxlinkError):
    """Too many requests from one address: HTTP 429 with `Retry-After`."""

    http_status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests from this address; try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True, slots=True)
class Limit:
    """A sustained rate and the burst allowed on top of it (both in requests)."""

    per_minute: int
    burst: int


class TokenBuckets:
    """One token bucket per client key: `burst` tokens, refilled at `per_minute` a minute.

    Thread-safe; memory is bounded by `max_clients` (a forgotten client starts with a full
    bucket again, so churning through that many addresses is the price of evading it).
    """

    def __init__(
        self,
        limit: Limit,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        if limit.per_minute < 1 or limit.burst < 1:
            raise ValueError("a rate limit needs at least one request a minute and a burst of one")
        self.limit = limit
        self._rate = limit.per_minute / 60.0  # tokens a second
        self._clock = clock
        self._max = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket: 0.0 when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * self._rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[key] = (tokens, now)  # most recently seen last
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(request: Request) -> str:
    """The address a limit applies to: IPv4 as is, IPv6 by its /64 (one subscriber's network).

    It is the peer address: behind a reverse proxy, run uvicorn with `--proxy-headers` and
    `--forwarded-allow-ips` set to the proxy, so the peer is the real client and a forged
    X-Forwarded-For from anyone else is ignored.
    """
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


#: The endpoint groups and their limits in Settings: (per-minute field, burst field).
GROUPS: Final[dict[str, tuple[str, str]]] = {
    "certificates.verify": ("verify_rate_per_minute", "verify_rate_burst"),
    "identity.verify": ("identity_rate_per_minute", "identity_rate_burst"),
}


def buckets_for(request: Request, group: str) -> TokenBuckets | None:
    """The app's buckets of `group` (made on first use from the settings); None when disabled."""
    state = request.app.state
    table: dict[str, TokenBuckets | None] | None = getattr(state, "rate_limits", None)
    if table is None:
        table = state.rate_limits = {}
    if group not in table:
        config: Settings = state.settings
        per_minute, burst = (int(getattr(config, name)) for name in GROUPS[group])
        table[group] = TokenBuckets(Limit(per_minute, burst)) if per_minute > 0 else None
    return table[group]


def seconds_to_wait(group: str) -> Callable[[Request], Awaitable[int]]:
    """A dependency giving the whole seconds this client must wait (0: go ahead, token spent)."""
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r}")

    async def dependency(request: Request) -> int:
        buckets = buckets_for(request, group)
        return math.ceil(buckets.take(client_key(request))) if buckets is not None else 0

    return dependency


def rate_limited(group: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that raises `RateLimited` (429 problem, `Retry-After`) past the limit.

    Declare it first among a route's dependencies, so a refused request is not read further.
    """
    wait_for = seconds_to_wait(group)

    async def dependency(request: Request) -> None:
        wait = await wait_for(request)
        if wait:
            raise RateLimited(wait)

    return dependency

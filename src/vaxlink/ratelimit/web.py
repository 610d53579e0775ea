"""The public endpoints' rate limits as FastAPI dependencies: per client address, token buckets.

Declare `Depends(rate_limited(group))` first among a route's dependencies; the limits of each
group are in Settings (`GROUPS`), 0 turns one off.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import Request

from vaxlink.ratelimit import RateLimited
from vaxlink.ratelimit.memory import Rate, TokenBuckets
from vaxlink.settings import Settings

#: The endpoint groups and their limits in Settings: (per-minute field, burst field).
GROUPS: Final[dict[str, tuple[str, str]]] = {
    "certificates.verify": ("verify_rate_per_minute", "verify_rate_burst"),
    "identity.verify": ("identity_rate_per_minute", "identity_rate_burst"),
}


def address_key(host: str | None) -> str:
    """The address a limit applies to: IPv4 as is, IPv6 by its /64 (one subscriber's network)."""
    host = host or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_key(request: Request) -> str:
    """The limited address of a request (`address_key` of its peer).

    It is the peer address: behind a reverse proxy, run uvicorn with `--proxy-headers` and
    `--forwarded-allow-ips` set to the proxy, so the peer is the real client and a forged
    X-Forwarded-For from anyone else is ignored.
    """
    return address_key(request.client.host if request.client else None)


def buckets_for(request: Request, group: str) -> TokenBuckets | None:
    """The app's buckets of `group` (made on first use from the settings); None when disabled."""
    state = request.app.state
    table: dict[str, TokenBuckets | None] | None = getattr(state, "rate_limits", None)
    if table is None:
        table = state.rate_limits = {}
    if group not in table:
        config: Settings = state.settings
        per_minute, burst = (int(getattr(config, name)) for name in GROUPS[group])
        table[group] = TokenBuckets(Rate(per_minute, burst)) if per_minute > 0 else None
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

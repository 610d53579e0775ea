"""Token buckets held in this process: the limiter of the public endpoints.

Store-independent on purpose: an abusive client must not cost a database write per request.
The price is that each worker process keeps its own buckets (N workers allow N times the rate)
and a restart forgets them; production sets the real limits in the reverse proxy
(docs/deployment.md, "Rate limits") and keeps these as the second line.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: Clients remembered per bucket set; beyond it the least recently seen are forgotten.
MAX_CLIENTS: Final = 100_000


@dataclass(frozen=True, slots=True)
class Rate:
    """A sustained rate and the burst allowed on top of it (both in requests)."""

    per_minute: int
    burst: int


class TokenBuckets:
    """One token bucket per key: `burst` tokens, refilled at `per_minute` a minute.

    A `Limiter`. Thread-safe; memory is bounded by `max_clients` (a forgotten client starts
    with a full bucket again, so churning through that many addresses is the price of evading
    it).
    """

    def __init__(
        self,
        limit: Rate,
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

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.pop(key, (float(self.limit.burst), now))
        return min(float(self.limit.burst), tokens + (now - at) * self._rate)

    def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket: 0.0 when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[key] = (tokens, now)  # most recently seen last
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return wait

    def wait(self, key: str) -> float:
        """The seconds until `key` has a token, spending none."""
        with self._lock:
            entry = self._buckets.get(key)
            if entry is None:
                return 0.0
            tokens, at = entry
            tokens = min(float(self.limit.burst), tokens + (self._clock() - at) * self._rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def clear(self, key: str) -> None:
        """Give `key` a full bucket again."""
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

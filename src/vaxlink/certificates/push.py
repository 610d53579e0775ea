"""Pushing the change feed to partners that gave a push address: at least once, signed, retried.

The outbox is the store itself: the feed (`certificate_change`, numbered by `feed.sequence`) and,
on each client's row, how far its receiver acknowledged (`push_cursor`), the batch in flight
(`push_batch_end`, fixed on its first try) and when to try next (`push_next_at`). A pusher that
dies — or a restarted server — finds the same state and sends the same batch again, under the
same `Idempotency-Key`: delivery is at least once, and a receiver drops a key it has seen.

A run claims a client by moving its `push_next_at` forward (a conditional UPDATE: two pushers,
e.g. two web workers, never send the same batch at the same time), builds the batch in a short
transaction, POSTs it with no transaction open, and records the outcome: a 2xx moves the cursor;
anything else (an error status, a timeout, a refused connection) doubles the wait, from
`every` up to `max_backoff`.

Each request is signed: `X-Vaxlink-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
`<t>.<body>` with the client's push secret (`clients.push_secret`), so the partner can check
that it came from vaxlink and is fresh (docs/partners.md shows the check).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine

from vaxlink.auth import service as auth
from vaxlink.certificates import feed
from vaxlink.certificates.clients import FULL, READ_CHANGES, client_kinds, push_secret
from vaxlink.certificates.models import ApiClient
from vaxlink.db import transaction

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Vaxlink-Signature"
#: Batches one run sends to one client at most (then the next client gets its turn).
_BATCHES_PER_RUN: Final = 20


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode("ascii"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300
) -> bool:
    """What a receiver does (and the tests): the header is well formed, fresh within
    `tolerance` seconds, and its MAC matches."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class PushReport:
    """What one run did."""

    delivered: int = 0  # changes acknowledged
    batches: int = 0
    failures: list[str] = field(default_factory=list)  # "<client>: <why>"


@dataclass(frozen=True)
class _Batch:
    client_id: int
    name: str
    start: int
    end: int
    count: int
    body: bytes
    secret: str
    url: str


class Pusher:
    """Delivers the feed to every active client with a push address and `changes:read`."""

    def __init__(
        self,
        engine: Engine,
        *,
        key: bytes,
        clock: Callable[[], datetime],
        every: float = 15.0,
        max_backoff: float = 3600.0,
        batch: int = 100,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.engine, self.key, self.clock = engine, key, clock
        self.every = timedelta(seconds=every)
        self.max_backoff = timedelta(seconds=max_backoff)
        self.batch, self.timeout = batch, timeout
        self._http = http

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure in a row: `every`, doubled each time."""
        factor: int = 2 ** min(max(attempts - 1, 0), 30)
        return min(self.max_backoff, self.every * factor)

    def run_once(self) -> PushReport:
        """Push what is due to every client (the periodic job's step)."""
        report = PushReport()
        now = self.clock()
        feed.sequence_pending(self.engine, now=now)
        with transaction(self.engine) as s:
            due = list(s.scalars(
                select(ApiClient.id).where(
                    ApiClient.active.is_(True), ApiClient.push_url.is_not(None),
                    or_(ApiClient.push_next_at.is_(None), ApiClient.push_next_at <= now),
                    or_(ApiClient.expires_at.is_(None), ApiClient.expires_at > now),
                ).order_by(ApiClient.id)
            ))  # fmt: skip
        http = self._http or httpx.Client(timeout=self.timeout, follow_redirects=False)
        try:
            for client_id in due:
                for _ in range(_BATCHES_PER_RUN):
                    if not self._push_one(http, client_id, report):
                        break
        finally:
            if self._http is None:
                http.close()
        return report

    def _claim(self, client_id: int, now: datetime) -> _Batch | None:
        """Claim the client for one try and build its batch (None: nothing to send or another
        pusher has it). The claim is a lease: a pusher that dies lets it lapse."""
        lease = now + timedelta(seconds=self.timeout) + self.every
        with transaction(self.engine) as s:
            claimed = s.execute(
                update(ApiClient)
                .where(ApiClient.id == client_id, ApiClient.active.is_(True),
                       or_(ApiClient.push_next_at.is_(None), ApiClient.push_next_at <= now))
                .values(push_next_at=lease)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]  # fmt: skip
            if not claimed:
                return None
            client = s.get(ApiClient, client_id)
            if client is None or client.push_url is None:
                return None
            if READ_CHANGES not in client.scopes.split():
                client.push_next_at = None
                return None
            start = int(client.push_cursor)
            page = feed.changes_after(
                s, start, kinds=client_kinds(client), limit=self.batch,
                full=client.fields == FULL, upto=client.push_batch_end,
            )  # fmt: skip
            if not page.changes:  # nothing for this client: move past what it may not see
                client.push_cursor = max(start, page.cursor)
                client.push_batch_end = None
                client.push_next_at = None
                return None
            end = client.push_batch_end or page.changes[-1].position
            client.push_batch_end = end
            body = json.dumps({
                "client": client.name, "from_cursor": str(start), "next_cursor": str(end),
                "changes": [c.item() for c in page.changes],
            }).encode()  # fmt: skip
            return _Batch(client.id, client.name, start, end, len(page.changes), body,
                          push_secret(client, self.key), client.push_url)  # fmt: skip

    def _push_one(self, http: httpx.Client, client_id: int, report: PushReport) -> bool:
        """One try of one batch; True when it was acknowledged (there may be more)."""
        now = self.clock()
        batch = self._claim(client_id, now)
        if batch is None:
            return False
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"vxl-{batch.client_id}-{batch.start}-{batch.end}",
            SIGNATURE_HEADER: signature(batch.secret, timestamp, batch.body),
            "User-Agent": "vaxlink-push/1",
        }
        error: str | None = None
        try:
            answer = http.post(batch.url, content=batch.body, headers=headers,
                               timeout=self.timeout)  # fmt: skip
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        done = self.clock()
        with transaction(self.engine) as s:
            client = s.get(ApiClient, batch.client_id)
            if client is None:
                return False
            if error is None:
                client.push_cursor = batch.end
                client.push_batch_end = None
                client.push_attempts = 0
                client.push_next_at = None
                client.push_last_error = None
                client.push_delivered_at = done
                auth.append(s, actor=None, action="certificates.client.push",
                            object_type="api_client", object_id=str(client.id),
                            detail=_detail(batch), at=done)  # fmt: skip
                report.delivered += batch.count
                report.batches += 1
                return True
            client.push_attempts = (client.push_attempts or 0) + 1
            client.push_next_at = done + self.backoff(client.push_attempts)
            client.push_last_error = error[:255]
        log.warning("push to client %s failed (%s); try %d, next at %s", batch.name, error,
                    client.push_attempts, client.push_next_at)  # fmt: skip
        report.failures.append(f"{batch.name}: {error}")
        return False


def _detail(batch: _Batch) -> dict[str, Any]:
    return {"from": batch.start, "to": batch.end, "count": batch.count}

"""The registry port over HTTP: the national population database (or `vaxlink registry serve`):
lookups, and the write-back of vaccination statuses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import httpx
import pyarrow as pa

from vaxlink.registry.errors import RegistryUnavailable, WriteBackError
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson
from vaxlink.registry.writeback import FORMAT, Batch


class HttpRegistry:
    """Asks a registry service; network and protocol failures become RegistryUnavailable."""

    def __init__(
        self, base_url: str, *, timeout: float = 2.0, client: httpx.Client | None = None
    ) -> None:
        self._client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def candidates(self, query: PersonQuery) -> CandidateAnswer:
        """POST /v1/candidates."""
        try:
            r = self._client.post("/v1/candidates", json=query.model_dump())
            r.raise_for_status()
            return CandidateAnswer.model_validate(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RegistryUnavailable(f"the population registry did not answer: {exc}") from exc

    def get(self, citizen_id: str) -> RegistryPerson | None:
        """GET /v1/citizens/{id}."""
        try:
            r = self._client.get(f"/v1/citizens/{citizen_id}")
            if r.status_code == 404:
                return None
            r.raise_for_status()
            return RegistryPerson.model_validate(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise RegistryUnavailable(f"the population registry did not answer: {exc}") from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


#: Statuses worth another try: the receiver is busy, restarting or behind a failing proxy.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpStatusSink:
    """The write-back over HTTP: a batch POSTed to `/v1/vaccination-status` in chunks.

    Each chunk carries `Idempotency-Key: <batch id>/<chunk number>`, and a batch is cut into the
    same chunks every time it is sent, so a receiver that already applied a chunk (its answer was
    lost, or the batch is sent again) recognises it and applies nothing twice. Network errors and
    busy answers (429, 5xx) are retried with growing pauses (`Retry-After` honoured, capped); a
    refusal (another 4xx) is not. Chunk bodies are built set-based in DuckDB.
    """

    kind = "http"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token: str | None = None,
    ) -> None:
        self._client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._attempts, self._backoff, self._sleep = max(1, attempts), backoff, sleep
        self.host = httpx.URL(base_url).host

    def deliver(self, batch: Batch, rows: pa.Table) -> dict[str, Any]:
        """POST every chunk in order; the audit detail (chunks, retries, replays)."""
        retries = replayed = 0
        chunks = list(_chunk_bodies(batch, rows))
        for number, (count, body) in enumerate(chunks):
            key = f"{batch.batch_id}/{number}"
            answer, tries = self._post(key, body)
            retries += tries
            if int(answer.get("accepted", -1)) != count:
                raise WriteBackError(
                    f"the registry accepted {answer.get('accepted')} of {count} rows of chunk "
                    f"{number} of batch {batch.batch_id}"
                )
            replayed += bool(answer.get("replayed"))
        return {"chunks": len(chunks), "retries": retries, "replayed_chunks": replayed,
                "host": self.host}  # fmt: skip

    def _post(self, key: str, body: bytes) -> tuple[dict[str, Any], int]:
        headers = {"Idempotency-Key": key, "Content-Type": "application/json", **self._auth}
        problem = ""
        for attempt in range(self._attempts):
            wait = self._backoff * (2**attempt)
            try:
                r = self._client.post("/v1/vaccination-status", content=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if r.status_code in (200, 201):
                    return dict(r.json()), attempt
                if r.status_code not in _RETRYABLE:
                    raise WriteBackError(
                        f"the registry refused write-back chunk {key} ({r.status_code}): "
                        f"{r.text[:200]}"
                    )
                problem = f"HTTP {r.status_code}"
                after = r.headers.get("Retry-After", "")
                if after.isdigit():
                    wait = max(wait, min(float(after), 60.0))
            if attempt + 1 < self._attempts:
                self._sleep(min(wait, 30.0))
        raise RegistryUnavailable(
            f"the population registry did not take write-back chunk {key} after "
            f"{self._attempts} tries ({problem}); the batch stays pending and is sent again "
            "by the next run"
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def _chunk_bodies(batch: Batch, rows: pa.Table) -> Iterator[tuple[int, bytes]]:
    """(rows, JSON body) of each chunk in order; the rows are serialised by DuckDB."""
    con = duckdb.connect(":memory:")
    try:
        con.register("batch_rows", rows)
        fields = ", ".join(f"{c} := {c}" for c in rows.column_names)
        parts = con.sql(
            "SELECT chunk, count(*) AS n, "
            f"to_json(list(struct_pack({fields}) ORDER BY citizen_id)) AS body FROM ("
            "SELECT *, (row_number() OVER (ORDER BY citizen_id) - 1) // $size AS chunk "
            "FROM batch_rows) GROUP BY chunk ORDER BY chunk",
            params={"size": batch.chunk_rows},
        ).fetchall()
    finally:
        con.close()
    for chunk, n, body in parts:
        head = json.dumps({"format": FORMAT, "batch_id": batch.batch_id, "mode": batch.mode,
                           "as_of": batch.as_of, "chunk": int(chunk), "chunks": len(parts),
                           "content_sha256": batch.content_sha256}, separators=(",", ":"))  # fmt: skip
        yield int(n), (head[:-1] + ',"rows":' + str(body) + "}").encode()

"""A small reference registry service over a snapshot: stands in for the national database.

It answers the same two questions as the real one (`POST /v1/candidates`, `GET /v1/citizens/{id}`)
from the local `citizen` table, and takes the write-back of vaccination statuses
(`POST /v1/vaccination-status`, chunks deduplicated by their `Idempotency-Key`), so development,
tests and demos need no outside system. What it is sent is kept in memory (`StatusInbox`), not in
the store: it stands for the registry's side.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import Counter
from typing import Any, Literal

from fastapi import FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine

from vaxlink.db import session_factory
from vaxlink.registry.port import LocalRegistry
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson
from vaxlink.registry.writeback import FORMAT


class StatusRow(BaseModel):
    """One citizen's vaccination status as the write-back sends it (docs/formats.md §6)."""

    citizen_id: str = Field(pattern=r"^[0-9]{12}$")
    as_of: str
    doses_verified: int = Field(ge=0)
    last_dose_date: str | None = None
    vaccine_codes: str | None = None
    fully_vaccinated: Literal["yes", "no"]
    certificate_uvci: str | None = None
    certificate_valid_from: str | None = None
    certificate_valid_until: str | None = None


class StatusChunk(BaseModel):
    """One chunk of a write-back batch."""

    format: Literal["vaxlink-vaccination-status/1"]
    batch_id: str = Field(max_length=40)
    mode: Literal["full", "incremental"]
    as_of: str
    chunk: int = Field(ge=0)
    chunks: int = Field(ge=1)
    content_sha256: str
    rows: list[StatusRow]


class StatusInbox:
    """What the reference registry was sent: each citizen's newest status, the chunks applied
    by idempotency key (with the digest of their body) and how often each row was applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.statuses: dict[str, StatusRow] = {}
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        #: (batch id, citizen id) -> times applied: exactly once each, however often re-sent.
        self.applied: Counter[tuple[str, str]] = Counter()
        self.replays = 0

    def take(self, key: str, body: bytes) -> dict[str, Any]:
        """Apply a chunk once per key; a repeat with the same body gets the first answer."""
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            if key in self.keys:
                seen, answer = self.keys[key]
                if seen != digest:
                    raise HTTPException(409, "this Idempotency-Key was used for another body")
                self.replays += 1
                return {**answer, "replayed": True}
            try:
                chunk = StatusChunk.model_validate_json(body)
            except ValidationError as exc:
                raise HTTPException(
                    422, f"not a {FORMAT} chunk: {exc.error_count()} errors"
                ) from exc
            for row in chunk.rows:
                held = self.statuses.get(row.citizen_id)
                if held is None or held.as_of <= row.as_of:
                    self.statuses[row.citizen_id] = row
                self.applied[(chunk.batch_id, row.citizen_id)] += 1
            answer = {"batch_id": chunk.batch_id, "chunk": chunk.chunk,
                      "accepted": len(chunk.rows), "replayed": False}  # fmt: skip
            self.keys[key] = (digest, answer)
            return answer


def create_registry_app(
    engine: Engine, inbox: StatusInbox | None = None, *, write_back_token: str | None = None
) -> FastAPI:
    """The reference registry app over the citizens in `engine`'s store; write-back chunks go
    to `inbox` (a new one when not given; `app.state.inbox`), and need `Authorization: Bearer
    <write_back_token>` when a token is given."""
    registry = LocalRegistry(session_factory(engine))
    app = FastAPI(title="vaxlink reference population registry", version="1")
    app.state.inbox = inbox = inbox or StatusInbox()

    @app.post("/v1/vaccination-status")
    async def vaccination_status(
        request: Request,
        idempotency_key: str = Header(min_length=1, max_length=80),
        authorization: str | None = Header(default=None),
    ) -> dict[str, Any]:
        """Take one write-back chunk; a chunk whose key was seen is answered, not applied again."""
        if write_back_token and not hmac.compare_digest(
            (authorization or "").encode(), f"Bearer {write_back_token}".encode()
        ):
            raise HTTPException(401, "a write-back needs the registry's bearer token")
        return inbox.take(idempotency_key, await request.body())

    @app.get("/v1/vaccination-status/summary")
    def vaccination_status_summary() -> dict[str, int]:
        """How many citizens have a status here, chunks taken, and repeats recognised."""
        return {"citizens": len(inbox.statuses), "chunks": len(inbox.keys),
                "replays": inbox.replays}  # fmt: skip

    @app.post("/v1/candidates")
    def candidates(query: PersonQuery) -> CandidateAnswer:
        """Citizens that could be this person."""
        return registry.candidates(query)

    @app.get("/v1/citizens/{citizen_id}")
    def citizen(citizen_id: str) -> RegistryPerson:
        """One citizen by ID number."""
        person = registry.get(citizen_id)
        if person is None:
            raise HTTPException(404, "no citizen has that ID number")
        return person

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        """Up, and how many citizens it holds."""
        return {"status": "ok", "citizens": registry.size()}

    return app

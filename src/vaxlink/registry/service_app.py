"""A small reference registry service over a snapshot: stands in for the national database.

It answers the same two questions as the real one (`POST /v1/candidates`, `GET /v1/citizens/{id}`)
from the local `citizen` table, so development, tests and demos need no outside system.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from sqlalchemy.engine import Engine

from vaxlink.db import session_factory
from vaxlink.registry.port import LocalRegistry
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson


def create_registry_app(engine: Engine) -> FastAPI:
    """The reference registry app over the citizens in `engine`'s store."""
    registry = LocalRegistry(session_factory(engine))
    app = FastAPI(title="vaxlink reference population registry", version="1")

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

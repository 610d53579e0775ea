"""`POST /api/v1/identity/verify`: who is this person? One person, answered online.

Partner systems (the vaccination apps) call it with a client bearer token holding the
`identity:verify` scope (`vaxlink certificates client add NAME --scope identity:verify`); requests
are rate-limited per address before the token is even looked at. Neither this module nor
the service it calls logs the request or the answer: both carry personal data. Every answered
call is audited (`identity.verify`: which client, what status, how many candidates, and the
linked person's opaque reference, never an ID number or a name).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from vaxlink.auth import service as auth
from vaxlink.certificates.service import (
    VERIFY_IDENTITY,
    ClientQuota,
    ClientQuotaExceeded,
    authenticate_client,
)
from vaxlink.db import transaction
from vaxlink.linkage.schemas import VerifyResponse
from vaxlink.linkage.service import LinkModel, verify_person
from vaxlink.ratelimit.web import rate_limited
from vaxlink.records.service import person_ref
from vaxlink.registry.service import PersonQuery, RegistryPort
from vaxlink.web.deps import link_model, registry_port
from vaxlink.web.deps import now as clock

__all__ = ["PREFIX", "create_router", "link_model", "registry_port", "router"]

PREFIX = "/api/v1/identity"
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def create_router(dependencies: Sequence[Any] = ()) -> APIRouter:
    """The identity router; `dependencies` run before every endpoint (authentication)."""
    router = APIRouter(prefix=PREFIX, tags=["identity"], dependencies=list(dependencies))

    @router.post(
        "/verify",
        responses={
            422: {"description": "The details are not valid.", **_PROBLEM},
            503: {"description": "The population registry cannot be asked.", **_PROBLEM},
        },
    )
    def verify(
        request: Request,
        query: PersonQuery,
        registry: Annotated[RegistryPort, Depends(registry_port)],
        model: Annotated[LinkModel, Depends(link_model)],
        now: Annotated[datetime, Depends(clock)],
    ) -> VerifyResponse:
        """Link one person's details (as a vaccination app has them, possibly dirty) to a citizen
        of the population registry: verified, auto_linked, review or unmatched, with at most
        three candidates and each field's evidence."""
        answer = VerifyResponse.of(verify_person(query, registry, model))
        client_id: int | None = getattr(request.state, "api_client_id", None)
        with transaction(request.app.state.engine) as s:
            ref = person_ref(s, answer.citizen_id) if answer.citizen_id else "none"
            auth.append(s, actor=None, action="identity.verify", object_type="citizen",
                        object_id=ref, at=now,
                        detail={"client": client_id, "status": answer.status,
                                "candidates": len(answer.candidates)})  # fmt: skip
        return answer

    return router


def verifying_client(
    request: Request,
    now: Annotated[datetime, Depends(clock)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """The request carries the bearer token of an active client holding `identity:verify`
    (401 without a valid token, 403 without the scope), within the token's quota a minute
    (429 with Retry-After past it; the count is committed either way)."""
    with transaction(request.app.state.engine) as s:
        client = authenticate_client(s, authorization, scope=VERIFY_IDENTITY, now=now)
        wait = ClientQuota.from_settings(request.app.state.settings).take(s, client, now=now)
    request.state.api_client_id = client.id
    if wait:
        raise ClientQuotaExceeded(wait)


#: Mounted by `vaxlink.web.app.create_app`: limited per client address (429 past the limit), then
#: only for clients holding the `identity:verify` scope.
router = create_router([Depends(rate_limited("identity.verify")), Depends(verifying_client)])

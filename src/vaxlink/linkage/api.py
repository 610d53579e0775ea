"""`POST /api/v1/identity/verify`: who is this person? One person, answered online.

Partner systems (the vaccination apps) call it with a client bearer token holding the
`identity:verify` scope (`vaxlink certificates client add NAME --scope identity:verify`); requests
are rate-limited per address before the token is even looked at. Neither this module nor
the service it calls logs the request or the answer: both carry personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from vaxlink.certificates.service import VERIFY_IDENTITY, authenticate_client
from vaxlink.db import session_factory, transaction
from vaxlink.linkage.schemas import VerifyResponse
from vaxlink.linkage.service import LinkModel, verify_person
from vaxlink.ratelimit.web import rate_limited
from vaxlink.registry.service import HttpRegistry, LocalRegistry, PersonQuery, RegistryPort
from vaxlink.settings import Settings

PREFIX = "/api/v1/identity"
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


async def registry_port(request: Request) -> RegistryPort:
    """The app's registry port: the registry service at `registry_url`, else the store's
    citizens (built once per app; `async` so it runs on the event loop, not in a thread)."""
    state = request.app.state
    port: RegistryPort | None = getattr(state, "registry_port", None)
    if port is None:
        settings: Settings = state.settings
        if settings.registry_url:
            port = HttpRegistry(settings.registry_url)
        else:
            port = LocalRegistry(session_factory(state.engine))
        state.registry_port = port
    return port


async def link_model(request: Request) -> LinkModel:
    """The app's linkage model (the configured file or the packaged one), loaded once, on the
    event loop like `registry_port` (a small JSON file read on the first request)."""
    state = request.app.state
    model: LinkModel | None = getattr(state, "link_model", None)
    if model is None:
        model = LinkModel.load(state.settings.linkage_model)
        state.link_model = model
    return model


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
        query: PersonQuery,
        registry: Annotated[RegistryPort, Depends(registry_port)],
        model: Annotated[LinkModel, Depends(link_model)],
    ) -> VerifyResponse:
        """Link one person's details (as a vaccination app has them, possibly dirty) to a citizen
        of the population registry: verified, auto_linked, review or unmatched, with at most
        three candidates and each field's evidence."""
        return VerifyResponse.of(verify_person(query, registry, model))

    return router


def verifying_client(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The request carries the bearer token of an active client holding `identity:verify`
    (401 without a valid token, 403 without the scope)."""
    with transaction(request.app.state.engine) as s:
        authenticate_client(s, authorization, scope=VERIFY_IDENTITY)


#: Mounted by `vaxlink.web.app.create_app`: limited per client address (429 past the limit), then
#: only for clients holding the `identity:verify` scope.
router = create_router([Depends(rate_limited("identity.verify")), Depends(verifying_client)])

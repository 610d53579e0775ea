"""REST API of certificates: public verification and downloads, and the citizen-app endpoints.

Thin: each route reads its input, calls a service and shapes the answer. Public routes take no
personal data in the URL; the citizen-app routes need a client token and record every access.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vaxlink.certificates import documents
from vaxlink.certificates.clients import READ_CERTIFICATES, authenticate, record_access
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.models import ApiClient, CertificateKind
from vaxlink.certificates.verification.store import (
    KeyStoreTrust,
    published_trust_list,
    revocation_document,
)
from vaxlink.certificates.web import approval_pages, console_pages, pages, recovery_pages
from vaxlink.certificates.web.deps import (
    Submission,
    clock,
    key_store,
    trust_source,
    verify_in_store,
)
from vaxlink.db import transaction
from vaxlink.errors import InvalidInput
from vaxlink.ratelimit.web import rate_limited
from vaxlink.web.deps import session

NO_STORE: Final = {"Cache-Control": "no-store"}
PUBLIC: Final = {"Cache-Control": "public, max-age=300"}

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["certificates"])


@api.post(
    "/certificates/verify",
    dependencies=[Depends(rate_limited("certificates.verify"))],  # before the body is read
    responses={429: {"description": "Too many requests from this address (Retry-After)."}},
)
async def verify_certificate(
    submission: Submission,
    db: Annotated[Session, Depends(session, scope="function")],
    trust: Annotated[KeyStoreTrust, Depends(trust_source)],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """Verify an HC1 text (JSON) or a photo of its QR (multipart `image`): the structured result."""
    text, image, _ = submission

    def answer() -> str:  # serialised off the event loop too, like the verification itself
        return json.dumps(verify_in_store(db, trust, now, text, image))

    body = await run_in_threadpool(answer)
    return Response(body, media_type="application/json", headers=NO_STORE)


@api.get("/certificates/trust-list")
def trust_list(
    store: Annotated[KeyStore, Depends(key_store)], now: Annotated[datetime, Depends(clock)]
) -> Response:
    """The signed DSC trust list; its detached JWS is in the `X-Signature` header."""
    published = published_trust_list(store, now)
    headers = PUBLIC | {"X-Signature": published.signature}
    return Response(published.document, media_type="application/json", headers=headers)


@api.get("/certificates/revocations")
def revocations(
    db: Annotated[Session, Depends(session, scope="function")],
    since: Annotated[datetime | None, Query(description="Only entries revoked after this.")] = None,
) -> Response:
    """The revocation list (UVCI hashes, first 16 bytes, base64) for offline verifiers."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput("`since` needs a time zone, e.g. 2025-01-01T00:00:00Z")
    document = revocation_document(db, since=since)
    return Response(json.dumps(document), media_type="application/json", headers=PUBLIC)


CitizenId = Annotated[str, Path(pattern=r"^[0-9]{9,12}$", description="Citizen ID number.")]


def client_access(document: str) -> Callable[..., ApiClient]:
    """A dependency: authenticate the client and record the access in its own transaction."""

    def dependency(
        request: Request,
        citizen_id: CitizenId,
        now: Annotated[datetime, Depends(clock)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> ApiClient:
        with transaction(request.app.state.engine) as s:
            client = authenticate(s, authorization, scope=READ_CERTIFICATES)
            record_access(s, client, citizen_id, document, now=now)
        return client

    return dependency


@api.get("/citizens/{citizen_id}/certificate")
def citizen_certificate(
    citizen_id: CitizenId,
    _client: Annotated[ApiClient, Depends(client_access("json"))],
    db: Annotated[Session, Depends(session, scope="function")],
    kind: CertificateKind = CertificateKind.VACCINATION,
) -> Response:
    """The person's current certificate: HC1 text, UVCI, validity and the labelled fields."""
    view = documents.certificate_view(documents.current_certificate(db, citizen_id, kind))
    body = json.dumps({"citizen_id": citizen_id, **view}, ensure_ascii=False)
    return Response(body, media_type="application/json", headers=NO_STORE)


@api.get("/citizens/{citizen_id}/certificate.pdf")
def citizen_certificate_pdf(
    citizen_id: CitizenId,
    _client: Annotated[ApiClient, Depends(client_access("pdf"))],
    db: Annotated[Session, Depends(session, scope="function")],
) -> Response:
    """The bilingual PDF of the person's current vaccination certificate."""
    pdf = documents.certificate_pdf(documents.current_certificate(db, citizen_id))
    headers = NO_STORE | {"Content-Disposition": 'attachment; filename="certificate.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@api.get("/citizens/{citizen_id}/certificate.fhir.json")
def citizen_certificate_fhir(
    citizen_id: CitizenId,
    _client: Annotated[ApiClient, Depends(client_access("fhir"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The person's current vaccination certificate as a WHO DDCC:VS FHIR document Bundle."""
    certificate = documents.current_certificate(db, citizen_id)
    bundle = documents.certificate_fhir(db, certificate, now=now)
    return Response(bundle, media_type="application/fhir+json", headers=NO_STORE)


router.include_router(api)
router.include_router(pages.router)
router.include_router(approval_pages.router)
router.include_router(console_pages.router)
router.include_router(recovery_pages.router)

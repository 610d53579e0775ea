"""REST API of certificates: public verification and downloads, and the citizen-app endpoints.

Thin: each route reads its input, calls a service and shapes the answer. No route takes an
ID number in the URL; the citizen-app routes need a client token, name the person by an opaque
reference (or take the ID number in a POST body), count against the token's quota and record and
audit every access.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vaxlink.auth import service as auth
from vaxlink.certificates import documents, feed
from vaxlink.certificates.clients import (
    FULL,
    READ_CERTIFICATES,
    READ_CHANGES,
    ClientQuota,
    ClientQuotaExceeded,
    ClientScopeExceeded,
    authenticate,
    client_kinds,
    record_access,
    require_full,
    require_kind,
)
from vaxlink.certificates.errors import CertificateNotFound
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.models import ApiClient, Certificate, CertificateKind
from vaxlink.certificates.verification.store import (
    KeyStoreTrust,
    published_trust_list,
    revocation_document,
)
from vaxlink.certificates.web import (
    approval_pages,
    console_pages,
    district_pages,
    pages,
    partner_pages,
    recovery_pages,
    verifier_pages,
)
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
from vaxlink.records.service import person_ref, resolve_ref
from vaxlink.settings import Settings
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
    """Verify a certificate's QR text (JSON `{"hc1": ...}`: an EU DCC or WHO DDCC:VS `HC1:` text,
    or a SMART Health Card `shc:/` text) or a photo of its QR (multipart `image`): the structured
    result, its `format` "dcc", "ddcc" or "shc"."""
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
    now: Annotated[datetime, Depends(clock)],
    since: Annotated[datetime | None, Query(description="Only entries revoked after this.")] = None,
) -> Response:
    """The revocation list (UVCI hashes, first 16 bytes, base64) for offline verifiers."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput("`since` needs a time zone, e.g. 2025-01-01T00:00:00Z")
    document = revocation_document(db, now=now, since=since)
    return Response(json.dumps(document), media_type="application/json", headers=PUBLIC)


#: A person in a citizen-app URL: the opaque reference (`vaxlink.records.refs`), never the ID
#: number, which would end up in every proxy's access log.
PersonRefPath = Annotated[
    str, Path(pattern=r"^[0-9a-z]{9,27}$", description="The person's reference (`ref`).")
]


class CitizenLookup(BaseModel):
    """The ID number travels in the body, never in the URL."""

    citizen_id: str = Field(pattern=r"^[0-9]{9,12}$", description="Citizen ID number.")
    kind: CertificateKind = CertificateKind.VACCINATION


@dataclass(frozen=True, slots=True)
class Access:
    """A client's counted, recorded and audited access to one person's certificate."""

    client: ApiClient
    citizen_id: str
    ref: str


def audit_refusal(request: Request, exc: ClientScopeExceeded, what: str, now: datetime) -> None:
    """Keep a request beyond the client's scope in the audit log (a transaction of its own: the
    refused request's own rolls back)."""
    with transaction(request.app.state.engine) as s:
        auth.append(s, actor=None, action="certificates.client.refused",
                    object_type="api_client", object_id=str(exc.client_id),
                    detail={"reason": exc.reason, "what": what}, at=now)  # fmt: skip


def counted(scope: str) -> Callable[..., ApiClient]:
    """A dependency: the authenticated client allowed `scope`, its request counted against its
    quota in a transaction of its own (a refused request still counts). Runs before the body
    or the path is validated, so an anonymous caller learns nothing but 401."""

    def dependency(
        request: Request,
        now: Annotated[datetime, Depends(clock)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> ApiClient:
        config: Settings = request.app.state.settings
        try:
            with transaction(request.app.state.engine) as s:
                client = authenticate(s, authorization, scope=scope, now=now)
                wait = ClientQuota.from_settings(config).take(s, client, now=now)
        except ClientScopeExceeded as exc:
            audit_refusal(request, exc, scope, now)
            raise
        if wait:
            raise ClientQuotaExceeded(wait)
        return client

    return dependency


counted_client = counted(READ_CERTIFICATES)
Client = Annotated[ApiClient, Depends(counted_client)]
ChangesClient = Annotated[ApiClient, Depends(counted(READ_CHANGES))]


def within_scope(
    request: Request, client: ApiClient, now: datetime, kind: CertificateKind, document: str
) -> None:
    """Refuse (403, audited) a kind or a document beyond the client's scope."""
    try:
        require_kind(client, kind)
        if document in ("pdf", "fhir"):
            require_full(client, document)
    except ClientScopeExceeded as exc:
        audit_refusal(request, exc, f"{document}:{kind.value}", now)
        raise


def open_access(
    request: Request, client: ApiClient, now: datetime, document: str,
    *, ref: str | None = None, citizen_id: str | None = None,
) -> Access:  # fmt: skip
    """Resolve the person, record and audit the access in a transaction of its own (so a fetch
    that finds nothing is recorded too)."""
    found = None
    with transaction(request.app.state.engine) as s:
        known: str | None = None  # the reference the person was found by: no second read
        if citizen_id is None and ref is not None:
            citizen_id = resolve_ref(s, ref)
            known = ref if citizen_id is not None else None
        if citizen_id is not None:
            found = Access(client, citizen_id, known or person_ref(s, citizen_id))
            record_access(s, client, found.ref, document, now=now)
        auth.append(s, actor=None, action=f"certificates.client.fetch_{document}",
                    object_type="citizen", object_id=found.ref if found else "not-found",
                    detail={"client": client.id, "by": "ref" if ref else "body"}, at=now)  # fmt: skip
    if found is None:
        raise CertificateNotFound("no person with this reference")
    return found


def by_ref(document: str) -> Callable[..., Access]:
    """A dependency: the access of the authenticated client to the person at `ref`."""

    def dependency(
        request: Request,
        client: Client,
        ref: PersonRefPath,
        now: Annotated[datetime, Depends(clock)],
        kind: CertificateKind = CertificateKind.VACCINATION,
    ) -> Access:
        if ref.isdigit():
            raise InvalidInput(
                'an ID number may not be sent in a URL: POST {"citizen_id": ...} to '
                "/api/v1/citizens/certificate and use the `ref` it answers with"
            )
        within_scope(request, client, now, kind, document)
        return open_access(request, client, now, document, ref=ref)

    return dependency


def _minimal_view(certificate: Certificate) -> dict[str, Any]:
    """Name, date of birth and validity: all a minimal client reads."""
    nam = certificate.payload.get("nam", {})
    return {
        "kind": certificate.kind,
        "status": certificate.status,
        "name": " ".join(n for n in (nam.get("fn"), nam.get("gn")) if n),
        "transliterated_name": "<<".join(n for n in (nam.get("fnt"), nam.get("gnt")) if n),
        "date_of_birth": certificate.payload.get("dob"),
        "valid_from": certificate.iat.isoformat(),
        "valid_until": certificate.exp.isoformat(),
    }


def _certificate_json(db: Session, access: Access, kind: CertificateKind) -> Response:
    certificate = documents.current_certificate(db, access.citizen_id, kind)
    if access.client.fields == FULL:
        body = json.dumps({"ref": access.ref, "citizen_id": access.citizen_id,
                           **documents.certificate_view(certificate)}, ensure_ascii=False)  # fmt: skip
    else:  # not even the ID number: the app knows whom it asked about by the reference
        body = json.dumps({"ref": access.ref, **_minimal_view(certificate)}, ensure_ascii=False)
    return Response(body, media_type="application/json", headers=NO_STORE)


TOKEN_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "No valid client token (unknown, revoked or expired)."},
    403: {"description": "Beyond the client's scopes, fields or kinds (`client_scope_exceeded`)."},
    404: {"description": "No such person or no current certificate."},
    429: {"description": "The token's requests for this minute are used up (Retry-After)."},
}


@api.post("/citizens/certificate", responses=TOKEN_ERRORS)
def citizen_certificate_by_id(
    request: Request,
    client: Client,
    lookup: CitizenLookup,
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The person's current certificate, for an ID number sent in the body; the answer's `ref`
    names the person in the other citizen-app URLs."""
    within_scope(request, client, now, lookup.kind, "json")
    access = open_access(request, client, now, "json", citizen_id=lookup.citizen_id)
    return _certificate_json(db, access, lookup.kind)


@api.get("/citizens/{ref}/certificate", responses=TOKEN_ERRORS)
def citizen_certificate(
    access: Annotated[Access, Depends(by_ref("json"))],
    db: Annotated[Session, Depends(session, scope="function")],
    kind: CertificateKind = CertificateKind.VACCINATION,
) -> Response:
    """The person's current certificate: HC1 text, UVCI, validity and the labelled fields."""
    return _certificate_json(db, access, kind)


@api.get("/citizens/{ref}/certificate.pdf", responses=TOKEN_ERRORS)
def citizen_certificate_pdf(
    access: Annotated[Access, Depends(by_ref("pdf"))],
    db: Annotated[Session, Depends(session, scope="function")],
    kind: CertificateKind = CertificateKind.VACCINATION,
) -> Response:
    """The bilingual PDF of the person's current vaccination (or, `kind=r`, recovery)
    certificate."""
    pdf = documents.certificate_pdf(documents.current_certificate(db, access.citizen_id, kind))
    name = "certificate.pdf" if kind is CertificateKind.VACCINATION else "recovery-certificate.pdf"
    headers = NO_STORE | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@api.get("/citizens/{ref}/certificate.fhir.json", responses=TOKEN_ERRORS)
def citizen_certificate_fhir(
    access: Annotated[Access, Depends(by_ref("fhir"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
    kind: CertificateKind = CertificateKind.VACCINATION,
) -> Response:
    """The person's current vaccination certificate as a WHO DDCC:VS FHIR document Bundle (with
    `kind=r`, their recovery certificate as a document Bundle around a Condition)."""
    certificate = documents.current_certificate(db, access.citizen_id, kind)
    bundle = documents.certificate_fhir(db, certificate, now=now)
    return Response(bundle, media_type="application/fhir+json", headers=NO_STORE)


@api.get("/certificates/changes", responses=TOKEN_ERRORS)
def certificate_changes(
    request: Request,
    client: ChangesClient,
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
    cursor: Annotated[str, Query(pattern=r"^[0-9]{1,18}$",
                                 description="`next_cursor` of the last page; 0 from the start.")] = "0",
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = 100,
) -> Response:  # fmt: skip
    """What happened to certificates since `cursor` (issued, reissued, renewed, revoked), of
    the kinds this client may read, oldest first, each change once. Persons are named by their
    reference only."""
    feed.sequence_pending(request.app.state.engine, now=now, max_steps=1)
    page = feed.changes_after(db, int(cursor), kinds=client_kinds(client), limit=limit,
                              full=client.fields == FULL)  # fmt: skip
    body = {"changes": [c.item() for c in page.changes], "next_cursor": str(page.cursor),
            "more": page.more}  # fmt: skip
    if page.changes:  # an empty poll shows nobody: not audited (partners poll often)
        auth.append(db, actor=None, action="certificates.client.changes",
                    object_type="api_client", object_id=str(client.id),
                    detail={"cursor": cursor, "count": len(page.changes)}, at=now)  # fmt: skip
    return Response(json.dumps(body), media_type="application/json", headers=NO_STORE)


router.include_router(api)
router.include_router(pages.router)
router.include_router(approval_pages.router)
router.include_router(district_pages.router)
router.include_router(console_pages.router)
router.include_router(recovery_pages.router)
router.include_router(verifier_pages.router)
router.include_router(partner_pages.router)

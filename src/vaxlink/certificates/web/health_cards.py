"""Routes of the two further representations of a vaccination: the WHO DDCC:VS QR and the SMART
Health Card, for the citizen apps and partners (same token, quota, access record and audit as
the other certificate documents), and the SHC issuer's public keys at `/.well-known/jwks.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from vaxlink.certificates import documents
from vaxlink.certificates.core import shc
from vaxlink.certificates.errors import CertificateNotFound
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.qrimage import qr_png, shc_qr_png
from vaxlink.certificates.verification.store import revoked_uvci_hashes
from vaxlink.certificates.web.api import NO_STORE, PUBLIC, TOKEN_ERRORS, Access, by_ref
from vaxlink.certificates.web.deps import clock, key_store
from vaxlink.web.deps import container, session

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["certificates"])
#: Verifier apps fetch the keys from any origin (SHC spec: the JWKS is served with CORS).
JWKS_HEADERS: Final = PUBLIC | {"Access-Control-Allow-Origin": "*"}


def issuer_url(request: Request) -> str:
    """The SHC `iss`: the configured URL, else the address this request came to."""
    configured: str | None = container(request).settings.shc_issuer_url
    return configured or str(request.base_url).rstrip("/")


@router.get("/.well-known/jwks.json", tags=["certificates"])
def smart_health_card_keys(
    store: Annotated[KeyStore, Depends(key_store)], now: Annotated[datetime, Depends(clock)]
) -> Response:
    """The public keys that sign SMART Health Cards: the P-256 keys of the DSCs on the trust
    list (not revoked, not expired), each with `kid` = its RFC 7638 thumbprint."""
    keys = shc.jwks(c.public_key() for c in store.trusted_dscs(now))
    return Response(shc.jwks_json(keys), media_type="application/json", headers=JWKS_HEADERS)


@router.get("/.well-known/crl/{kid}.json", tags=["certificates"])
def smart_health_card_revocations(
    kid: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{43}$")],
    store: Annotated[KeyStore, Depends(key_store)],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The revocation list of the SHC key `kid` (SMART Health Cards revocation, method `rid`):
    the rid of every revoked certificate. 404 for a key that is not on the JWKS."""
    keys = shc.jwks(c.public_key() for c in store.trusted_dscs(now))
    if kid not in {k["kid"] for k in keys["keys"]}:
        raise CertificateNotFound("no SMART Health Card key has this kid")
    document = shc.crl(kid, revoked_uvci_hashes(db))
    return Response(shc.jwks_json(document), media_type="application/json", headers=JWKS_HEADERS)


def _shc(request: Request, db: Session, access: Access, now: datetime) -> str:
    certificate = documents.current_certificate(db, access.citizen_id)
    signer = container(request).dsc_signer(now=now)
    return documents.certificate_shc(db, certificate, signer, issuer_url=issuer_url(request))


@api.get("/citizens/{ref}/certificate.shc", responses=TOKEN_ERRORS)
def citizen_certificate_shc(
    request: Request,
    access: Annotated[Access, Depends(by_ref("shc"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The person's vaccination as a SMART Health Card file (`.smart-health-card`:
    {"verifiableCredential": [JWS]})."""
    headers = NO_STORE | {
        "Content-Disposition": 'attachment; filename="vaccination.smart-health-card"'
    }
    body = shc.card_file(_shc(request, db, access, now))
    return Response(body, media_type=shc.MEDIA_TYPE, headers=headers)


@api.get("/citizens/{ref}/certificate.shc.png", responses=TOKEN_ERRORS)
def citizen_certificate_shc_qr(
    request: Request,
    access: Annotated[Access, Depends(by_ref("shc-qr"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The SMART Health Card as its QR code (PNG; `shc:/` and digits)."""
    png = shc_qr_png(shc.numeric(_shc(request, db, access, now)))
    return Response(png, media_type="image/png", headers=NO_STORE)


def _ddcc(request: Request, db: Session, access: Access, now: datetime) -> str:
    certificate = documents.current_certificate(db, access.citizen_id)
    signer = container(request).dsc_signer(now=now)
    return documents.certificate_ddcc_qr(db, certificate, signer)


@api.get("/citizens/{ref}/certificate.ddcc", responses=TOKEN_ERRORS)
def citizen_certificate_ddcc(
    request: Request,
    access: Annotated[Access, Depends(by_ref("ddcc"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The person's vaccination as the WHO DDCC:VS core data set in a signed CWT: the `HC1:`
    text of its QR code (hcert claim -260, key 2)."""
    return Response(_ddcc(request, db, access, now), media_type="text/plain", headers=NO_STORE)


@api.get("/citizens/{ref}/certificate.ddcc.png", responses=TOKEN_ERRORS)
def citizen_certificate_ddcc_qr(
    request: Request,
    access: Annotated[Access, Depends(by_ref("ddcc-qr"))],
    db: Annotated[Session, Depends(session, scope="function")],
    now: Annotated[datetime, Depends(clock)],
) -> Response:
    """The WHO DDCC:VS QR code (PNG)."""
    png = qr_png(_ddcc(request, db, access, now))
    return Response(png, media_type="image/png", headers=NO_STORE)


router.include_router(api)

"""SMART Health Cards (spec.smarthealth.cards): the same dose as a minified FHIR R4 Bundle in a
compact JWS (ES256, `zip: DEF`), its `shc:/` numeric QR text and the issuer's JWKS.

The signing key is the issuer's DSC (`Signer`: a PEM key or a PKCS#11 token), which is ES256 on
P-256 in COSE and JWS alike (both sign raw r||s). `kid` is the key's RFC 7638 JWK thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from vaxlink.certificates.core.fhir import DdccVaccination
from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.core.vaccine_codes import cvx_product
from vaxlink.certificates.errors import DocumentRenderError

FHIR_VERSION: Final = "4.0.1"
VC_TYPES: Final = (
    "https://smarthealth.cards#health-card",
    "https://smarthealth.cards#immunization",
    "https://smarthealth.cards#covid19",
)
PREFIX: Final = "shc:/"
#: Largest JWS one version-22 QR holds in numeric mode (spec: "Creating a QR code").
MAX_SINGLE_JWS: Final = 1195
MEDIA_TYPE: Final = "application/smart-health-card"
#: What `documents.ddcc_record` writes for a lot number or site the dose record lacks.
NOT_RECORDED: Final = "not recorded"


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _minified(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---- keys --------------------------------------------------------------------------------------


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The public JWK of a P-256 key as SMART Health Cards publish it (kid = its thumbprint)."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise DocumentRenderError("SMART Health Cards need a P-256 key (ES256)")
    numbers = public_key.public_numbers()
    x, y = (b64url(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    thumbprint = b64url(hashlib.sha256(_minified({"crv": "P-256", "kty": "EC", "x": x, "y": y}))
                        .digest())  # fmt: skip
    return {"kty": "EC", "kid": thumbprint, "use": "sig", "alg": "ES256", "crv": "P-256",
            "x": x, "y": y, "crlVersion": CRL_VERSION}  # fmt: skip


def jwk_kid(public_key: object) -> str | None:
    """The SHC `kid` (RFC 7638 thumbprint) of a P-256 public key; None for any other key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return str(public_jwk(public_key)["kid"])
    return None


#: The SHC revocation method vaxlink publishes (`crlVersion` on each JWK: the issuer keeps a
#: revocation list at `/.well-known/crl/{kid}.json`).
CRL_VERSION: Final = 1
#: Bytes of the UVCI's SHA-256 a revocation id keeps (base64url: 12 characters; the spec allows
#: 24). The same hash the EU DCC revocation list publishes 16 bytes of, so a rid tells no more.
RID_BYTES: Final = 9


def rid(uvci_sha256: bytes) -> str:
    """The card's revocation identifier: the first bytes of its certificate's UVCI hash."""
    return b64url(uvci_sha256[:RID_BYTES])


def crl(kid: str, uvci_sha256s: Iterable[bytes]) -> dict[str, Any]:
    """The SHC revocation list of `kid` (method `rid`): every revoked certificate's rid; `ctr`
    grows with the list (revocations are only ever added)."""
    rids = [rid(h) for h in uvci_sha256s]
    return {"kid": kid, "method": "rid", "ctr": len(rids), "rids": rids}


def jwks(public_keys: Iterable[object]) -> dict[str, list[dict[str, Any]]]:
    """The JWK set of the P-256 keys among `public_keys` (others cannot sign a health card)."""
    return {"keys": [public_jwk(k) for k in public_keys
                     if isinstance(k, ec.EllipticCurvePublicKey)
                     and isinstance(k.curve, ec.SECP256R1)]}  # fmt: skip


# ---- the credential ----------------------------------------------------------------------------


def fhir_bundle(record: DdccVaccination, *, family: str, given: str) -> dict[str, Any]:
    """The SHC FHIR Bundle (type collection, Patient + Immunization, CVX), minimal: no ids, no
    meta, no narrative, `resource:N` references, as the spec's data minimisation asks."""
    birth = record.birth_date
    name: dict[str, Any] = {"family": family} if family else {}
    if given:
        name["given"] = [given]
    if not name:
        name = {"text": record.name}
    cvx = cvx_product(record.brand.code)
    immunization: dict[str, Any] = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": cvx.system, "code": cvx.code}]},
        "patient": {"reference": "resource:0"},
        "occurrenceDateTime": record.vaccination_date.isoformat(),
    }
    if record.lot_number and record.lot_number != NOT_RECORDED:
        immunization["lotNumber"] = record.lot_number
    if record.centre and record.centre != NOT_RECORDED:  # who gave the dose, as in DDCC
        immunization["performer"] = [{"actor": {"display": record.centre}}]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "resource:0", "resource": {
                "resourceType": "Patient", "name": [name],
                "birthDate": birth.isoformat() if isinstance(birth, date) else birth,
            }},
            {"fullUrl": "resource:1", "resource": immunization},
        ],
    }  # fmt: skip


def sign_jws(
    bundle: dict[str, Any],
    signer: Signer,
    *,
    issuer_url: str,
    issued: datetime,
    expires: datetime | None = None,
    revocation_id: str | None = None,
) -> str:
    """The compact JWS of the health card: header {alg, zip: DEF, kid}, payload the raw-DEFLATEd
    minified JWT claims {iss, nbf, exp, vc (with its rid)}, signature ES256 (raw r||s, as JWS
    wants). `exp` is the certificate's own end, so a verifier refuses the card when the EU DCC
    lapses; `rid` lets it refuse a card whose certificate was revoked."""
    if signer.algorithm != ES256:
        raise DocumentRenderError("SMART Health Cards are signed with ES256; this key is not P-256")
    if issuer_url.endswith("/"):
        raise DocumentRenderError("the SHC issuer URL must not end with '/'")
    public_key = _signer_public_key(signer)
    header = {"alg": "ES256", "zip": "DEF", "kid": public_jwk(public_key)["kid"]}
    vc: dict[str, Any] = {
        "type": list(VC_TYPES),
        "credentialSubject": {"fhirVersion": FHIR_VERSION, "fhirBundle": bundle},
    }
    if revocation_id is not None:
        vc["rid"] = revocation_id
    claims: dict[str, Any] = {"iss": issuer_url, "nbf": int(issued.timestamp())}
    if expires is not None:
        claims["exp"] = int(expires.timestamp())
    claims["vc"] = vc
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw DEFLATE (RFC 1951), no zlib header
    payload = deflater.compress(_minified(claims)) + deflater.flush()
    signing_input = f"{b64url(_minified(header))}.{b64url(payload)}"
    signature = signer.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def _signer_public_key(signer: Signer) -> ec.EllipticCurvePublicKey:
    key = x509.load_der_x509_certificate(signer.certificate_der).public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise DocumentRenderError("SMART Health Cards need a P-256 key (ES256)")
    return key


def numeric(jws: str) -> str:
    """The `shc:/` QR text: each JWS character as two digits of its code point minus 45."""
    if len(jws) > MAX_SINGLE_JWS:
        raise DocumentRenderError(
            f"the health card's JWS is {len(jws)} characters, more than one QR code holds "
            f"({MAX_SINGLE_JWS}); chunked QR codes are deprecated and not made"
        )
    return PREFIX + "".join(f"{ord(c) - 45:02d}" for c in jws)


def from_numeric(text: str) -> str:
    """The JWS of an `shc:/` QR text (one chunk)."""
    if not text.startswith(PREFIX):
        raise DocumentRenderError("a SMART Health Card QR text starts with 'shc:/'")
    digits = text[len(PREFIX) :]
    if not digits.isdigit() or len(digits) % 2:
        raise DocumentRenderError("a SMART Health Card QR text is an even number of digits")
    return "".join(chr(int(digits[i : i + 2]) + 45) for i in range(0, len(digits), 2))


def jwks_json(keys: dict[str, list[dict[str, Any]]]) -> str:
    """The JWKS document as served."""
    return json.dumps(keys)


def card_file(jws: str) -> str:
    """The `.smart-health-card` file: {"verifiableCredential": [jws]}."""
    return json.dumps({"verifiableCredential": [jws]})

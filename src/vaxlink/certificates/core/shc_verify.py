"""Verify a SMART Health Card (`shc:/` QR text, or its compact JWS) as `verify` verifies an EU
DCC: `verify_shc` returns what a valid card says, or raises why not.

Steps, in order: prefix, the numeric digits (length-capped, each pair 00-77), the JWS (three
strict base64url parts; the header alone is decoded: ES256, `zip: DEF`, a kid, no `crit`), kid
lookup among the trusted DSCs' P-256 keys by JWK thumbprint, the ES256 signature over the
header and payload text, and only then the payload: raw DEFLATE (output-capped), strict JSON
(no NaN, no duplicate keys, bounded nesting), the claims (iss, nbf, exp), nbf/exp against the
clock, the DSC's validity window and extended key usage (a card restates a vaccination), the
FHIR Bundle's Patient and Immunizations, and the card's `rid` on the revocation list. Nothing
of the payload is decoded before the signature holds; a refusal carries `step` and `partial`
as `verify`'s do (before the signature: at most the header's kid).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from vaxlink.certificates.core import cose, hc1, health_data, shc
from vaxlink.certificates.core.dsc import DscProfile
from vaxlink.certificates.core.trust import (
    JwkTrustSource,
    RevocationSource,
    RidRevocationSource,
    TrustSource,
)
from vaxlink.certificates.core.verify import Step, Verified, _dsc
from vaxlink.certificates.errors import (
    CertificateError,
    ClaimsInvalid,
    DscValidityInvalid,
    Expired,
    InputTooLarge,
    JwsMalformed,
    KeyUsageInvalid,
    NotYetValid,
    NumericInvalid,
    PrefixInvalid,
    Revoked,
    SignatureInvalid,
    UnknownKid,
    UnsupportedAlgorithm,
    VerifierFault,
)

#: The longest `shc:/` text taken: the same cap as an HC1 text (a version-40 QR holds 7089 digits).
MAX_TEXT_LENGTH: Final = hc1.MAX_TEXT_LENGTH
#: A card's header is ~90 characters ({"alg","zip","kid"}); more is not a health card's.
MAX_HEADER_CHARS: Final = 512
#: The inflated payload: the same cap as an HC1 message's (real cards are ~1-3 KiB).
MAX_PAYLOAD: Final = hc1.MAX_DECOMPRESSED
#: JSON nesting deeper than this is refused (a FHIR Bundle of a card is ~8 deep).
MAX_JSON_DEPTH: Final = 24
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_KID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RID: Final = re.compile(r"[A-Za-z0-9_-]{1,24}")
_ECDSA: Final = ec.ECDSA(hashes.SHA256())
_DIGIT_PAIR_MAX: Final = ord("z") - 45  # 77: the spec's numeric mode covers '-' (45) to 'z'
_ZERO: Final = ord("0")


class _Run:
    """The step in progress and what is known so far (as `verify`'s)."""

    __slots__ = ("authentic", "partial", "step", "warnings")

    def __init__(self) -> None:
        self.step = Step.PREFIX
        self.authentic = False
        self.partial: dict[str, Any] = {"format": health_data.SHC}
        self.warnings: tuple[str, ...] = ()

    def read(self) -> Verified:
        return Verified(authentic=self.authentic, warnings=self.warnings, **self.partial)


def jws_of(text: str) -> str:
    """The compact JWS of an `shc:/` QR text (one chunk), every character checked."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InputTooLarge(f"the text is {len(text)} characters, more than any QR code holds")
    if text[: len(shc.PREFIX)].lower() != shc.PREFIX:
        raise PrefixInvalid(f"expected the prefix 'shc:/', found {text[:5]!r}")
    digits = text[len(shc.PREFIX) :]
    if "/" in digits:
        raise JwsMalformed("chunked SMART Health Card QR codes (deprecated) are not read")
    if not digits.isascii() or not digits.isdigit():
        raise NumericInvalid("a SMART Health Card QR text holds only digits after 'shc:/'")
    if len(digits) % 2:
        raise NumericInvalid("the digits are an odd number: the code is cut off")
    if not digits:
        raise NumericInvalid("no digits follow 'shc:/'")
    pairs = np.frombuffer(digits.encode("ascii"), dtype=np.uint8).reshape(-1, 2) - _ZERO
    values = pairs[:, 0] * 10 + pairs[:, 1]  # uint8: at most 99, no overflow
    if values.max() > _DIGIT_PAIR_MAX:
        raise NumericInvalid(f"digit pair {int(values.max())} is above {_DIGIT_PAIR_MAX}")
    return (values + 45).tobytes().decode("ascii")


def _b64url(part: str, what: str) -> bytes:
    """Strict base64url without padding: alphabet, length and canonical trailing bits."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise JwsMalformed(f"the JWS {what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsMalformed(f"the JWS {what} is not base64url") from exc
    if shc.b64url(data) != part:  # other trailing bits would name the same bytes
        raise JwsMalformed(f"the JWS {what} is not canonical base64url")
    return data


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a JSON object repeats a name")
    return out


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: Any) -> bool:
    """Whether parsed JSON nests deeper than `MAX_JSON_DEPTH` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def strict_json(data: bytes, what: str) -> Any:
    """JSON of untrusted bytes: UTF-8, bounded depth, finite numbers, no repeated names."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimsInvalid(f"the {what} is not UTF-8") from exc
    try:  # the C scanner refuses nesting past the recursion limit with RecursionError
        value = json.loads(text, parse_float=_finite, parse_constant=_refuse_constant,
                           object_pairs_hook=_no_duplicates)  # fmt: skip
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int digits, duplicates
        raise ClaimsInvalid(f"the {what} is not JSON: {exc}") from None
    if _too_deep(value):
        raise ClaimsInvalid(f"the {what} is nested more than {MAX_JSON_DEPTH} deep")
    return value


def _header(part: str) -> str:
    """The header's kid, once the header is an ES256 `zip: DEF` SMART Health Card header."""
    if len(part) > MAX_HEADER_CHARS:
        raise JwsMalformed(f"the JWS header is longer than {MAX_HEADER_CHARS} characters")
    try:
        header = strict_json(_b64url(part, "header"), "JWS header")
    except ClaimsInvalid as exc:
        raise JwsMalformed(str(exc)) from None
    if not isinstance(header, dict):
        raise JwsMalformed("the JWS header is not a JSON object")
    alg = header.get("alg")
    if alg != "ES256":
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
        raise UnsupportedAlgorithm(f"JWS alg {shown!r} is not ES256")
    if "crit" in header or header.get("b64", True) is not True:
        raise JwsMalformed("the JWS header asks for extensions a health card does not use")
    if header.get("zip") != "DEF":
        raise JwsMalformed("a SMART Health Card's payload is compressed (zip: DEF)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise UnknownKid("the JWS header carries no usable kid")
    return kid


def _check_signature(public_key: object, signing_input: bytes, signature: bytes) -> None:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise UnsupportedAlgorithm("ES256 needs a P-256 key")
    if len(signature) != 64:
        raise SignatureInvalid("an ES256 signature is 64 bytes (r || s)")
    try:
        public_key.verify(cose.raw_to_der(signature), signing_input, _ECDSA)
    except InvalidSignature:
        raise SignatureInvalid("the ES256 signature does not verify") from None


def _moment(claims: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsInvalid(f"claim {name} is missing or not a number")
    if not -62135596800 <= value <= 253402300799:  # years 1 to 9999, as `datetime` holds
        raise ClaimsInvalid(f"claim {name} is out of range")
    return float(value)


def _lookup(trust: TrustSource, kid: str) -> list[x509.Certificate]:
    if not isinstance(trust, JwkTrustSource):
        return []  # a trust source of COSE kids only knows no health-card key
    try:
        return trust.jwk_lookup(kid)
    except OSError as exc:
        raise VerifierFault(f"the trust list cannot be read: {exc}") from exc


def _rid(claims: dict[str, Any]) -> bytes | None:
    vc = claims.get("vc")
    value = vc.get("rid") if isinstance(vc, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not _RID.fullmatch(value):
        raise ClaimsInvalid("the card's rid is not a revocation id")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _revoked(revocation: RevocationSource, rid: bytes) -> bool:
    if not isinstance(revocation, RidRevocationSource):
        raise VerifierFault("the revocation list cannot answer for a SMART Health Card's rid")
    try:
        return revocation.is_rid_revoked(rid)
    except OSError as exc:
        raise VerifierFault(f"the revocation list cannot be read: {exc}") from exc


def _check_dsc(window: DscProfile, nbf: float, exp: float | None) -> None:
    if nbf < window.not_before.timestamp():
        raise DscValidityInvalid("the card was signed before its DSC was valid")
    if exp is not None and exp > window.not_after.timestamp():
        raise DscValidityInvalid("the card is valid after its DSC expires")


def _run(
    run: _Run,
    text: str,
    trust: TrustSource,
    clock: datetime,
    revocation: RevocationSource | None,
) -> Verified:
    jws = None if text[: len(shc.PREFIX)].lower() == shc.PREFIX else text
    if jws is None:
        run.step = Step.NUMERIC
        jws = jws_of(text)
    elif len(jws) > MAX_TEXT_LENGTH:
        raise InputTooLarge(f"the JWS is {len(jws)} characters, more than any QR code holds")
    run.step = Step.JWS
    parts = jws.split(".")
    if len(parts) != 3:
        raise JwsMalformed("a compact JWS has three parts separated by dots")
    header_part, payload_part, signature_part = parts
    kid = _header(header_part)
    signature = _b64url(signature_part, "signature")
    if not _B64URL.fullmatch(payload_part):
        raise JwsMalformed("the JWS payload is not base64url")
    run.step = Step.KID
    run.partial["kid"] = kid  # a header (at most 64 characters), not a claim
    candidates = _lookup(trust, kid)
    if not candidates:
        raise UnknownKid(f"no trusted DSC has the SMART Health Card kid {kid}")
    run.step = Step.SIGNATURE
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    last: CertificateError = SignatureInvalid("the signature does not verify")
    dsc = None
    for certificate in candidates:
        try:
            entry = _dsc(certificate)
            _check_signature(entry.public_key, signing_input, signature)
        except SignatureInvalid as exc:
            last = exc
        else:
            dsc = entry
            break
    if dsc is None:
        raise last
    run.authentic = True
    run.step = Step.DECOMPRESS
    payload = hc1.decompress(_b64url(payload_part, "payload"), limit=MAX_PAYLOAD, raw=True)
    run.step = Step.CLAIMS
    claims = strict_json(payload, "card's payload")
    if not isinstance(claims, dict):
        raise ClaimsInvalid("the card's claims are not a JSON object")
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise ClaimsInvalid("the card's issuer (iss) is missing")
    nbf = _moment(claims, "nbf", required=True)
    assert nbf is not None
    exp = _moment(claims, "exp", required=False)
    rid = _rid(claims)
    run.partial.update(
        payload=claims,
        issued_at=datetime.fromtimestamp(nbf, UTC),
        expires_at=None if exp is None else datetime.fromtimestamp(exp, UTC),
    )
    run.step = Step.TIME
    now = clock.timestamp()
    if now < nbf:
        raise NotYetValid(f"valid from {run.partial['issued_at'].isoformat()}, after {clock}")
    if exp is not None and now > exp:
        raise Expired(f"expired {run.partial['expires_at'].isoformat()}")
    run.step = Step.DSC_VALIDITY
    _check_dsc(dsc.profile or dsc.window, nbf, exp)
    run.step = Step.KEY_USAGE
    if dsc.profile is None:
        raise KeyUsageInvalid(
            str(dsc.profile_error or "the DSC's extended key usage cannot be read")
        )
    types = dsc.profile.dcc_types
    if types is not None and health_data.VACCINATION_KIND not in types:
        raise KeyUsageInvalid("the DSC may not sign vaccinations, which a health card states")
    run.step = Step.SCHEMA
    health_data.check_shc(claims)
    run.step = Step.REVOCATION
    if rid is None:
        run.warnings = ("the card carries no revocation id (rid): revocation was not checked",)
    elif revocation is not None and _revoked(revocation, rid):
        raise Revoked("the card's revocation id is on the revocation list")
    return run.read()


def verify_shc(
    text: str,
    trust: TrustSource,
    *,
    clock: datetime,
    revocation: RevocationSource | None = None,
) -> Verified:
    """Verify an `shc:/` QR text (or a bare compact JWS) at `clock` (timezone-aware).

    `trust` must also be a `JwkTrustSource` to know any health-card key; `revocation`, when
    given, a `RidRevocationSource` (else the verifier fails closed). Returns what the valid card
    says (`format` "shc", `payload` its JWT claims); a card that is not valid raises its
    `CertificateError` with `step` and `partial` set."""
    if clock.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    run = _Run()
    try:
        if not isinstance(text, str):
            raise JwsMalformed(f"expected shc:/ text, got {type(text).__name__}")
        return _run(run, text, trust, clock, revocation)
    except CertificateError as exc:
        exc.step, exc.partial = run.step, run.read()
        raise

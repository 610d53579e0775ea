"""CWT claims in a COSE_Sign1 message (RFC 9052 / RFC 8392), the EU DCC profile: encode and parse.

Private to the certificates package. Parsing never trusts shapes: every field is type-checked and
each problem raises its own `DecodeError` subclass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from vaxlink.certificates.core import cbor
from vaxlink.certificates.core.signer import ES256, PS256, Signer
from vaxlink.certificates.errors import (
    ClaimsInvalid,
    CoseMalformed,
    SignatureInvalid,
    UnsupportedAlgorithm,
)

TAG_COSE_SIGN1: Final = 18
TAG_CWT: Final = 61
HEADER_ALG: Final = 1
HEADER_KID: Final = 4
CLAIM_ISS: Final = 1
CLAIM_EXP: Final = 4
CLAIM_IAT: Final = 6
CLAIM_HCERT: Final = -260
HCERT_DCC: Final = 1
#: The WHO DDCC:VS core data set's key in the hcert claim (`ddcc_qr`).
HCERT_DDCC_VS: Final = 2
_MAX_DEPTH: Final = 32
#: EU DCC key ids are 8 bytes; a longer one is refused before it is looked up or shown.
MAX_KID: Final = 64
#: The NumericDate range a `datetime` holds: 0001-01-01 to 9999-12-31T23:59:59Z.
_MIN_DATE: Final = -62135596800
_MAX_DATE: Final = 253402300799
_HCERT_KEY: Final = bytes.fromhex("390103a101")  # -260, then a one-pair map with key 1
_SIGNATURE1: Final = bytes.fromhex("846a") + b"Signature1"  # array(4), text(10)
_SHA256: Final = hashes.SHA256()
_ECDSA: Final = ec.ECDSA(_SHA256)
_PSS: Final = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=padding.PSS.DIGEST_LENGTH)
#: Concrete map and array types cbor2 produces (checked instead of the slower ABCs).
_MAPS: Final = (dict, cbor2.frozendict)
_ARRAYS: Final = (list, tuple)


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1 message; `kid`/`alg` follow the protected header first."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes
    kid: bytes | None
    alg: int | str | None


@dataclass(frozen=True, slots=True)
class Claims:
    """The CWT claims of an EU DCC: issuer country, issued-at, expiry and the DCC payload (JSON);
    of a WHO DDCC:VS QR (`kind` "ddcc"), `dcc` is its core data set."""

    iss: str | None
    iat: float
    exp: float
    dcc: dict[str, Any]
    kind: str = "dcc"


@lru_cache(maxsize=64)
def _protected_header(alg: int, kid: bytes) -> bytes:
    """The serialized protected header {1: alg, 4: kid} (cached: it is the same for every message)."""
    return cbor2.dumps({HEADER_ALG: alg, HEADER_KID: kid})


@lru_cache(maxsize=64)
def _frames(alg: int, kid: bytes) -> tuple[bytes, bytes]:
    """What precedes the payload in the Sig_structure and in the message, for one signing key."""
    protected = _bstr(_protected_header(alg, kid))
    return _SIGNATURE1 + protected + b"\x40", b"\xd2\x84" + protected + b"\xa0"


def encode_claims(*, iss: str, iat: int, exp: int, dcc: Mapping[str, Any]) -> bytes:
    """The CWT claims map carrying one DCC payload."""
    return claims_around(cbor2.dumps(dcc), iss=iss, iat=iat, exp=exp)


@lru_cache(maxsize=64)
def _claims_head(iss: str, iat: int, exp: int) -> bytes:
    """The claims map's header and first three pairs, up to the DCC (a batch shares them)."""
    head = cbor2.dumps({CLAIM_ISS: iss, CLAIM_IAT: iat, CLAIM_EXP: exp})  # 0xA3 + three pairs
    return b"\xa4" + head[1:] + _HCERT_KEY


def claims_around(dcc_cbor: bytes, *, iss: str, iat: int, exp: int) -> bytes:
    """The CWT claims map {1: iss, 6: iat, 4: exp, -260: {1: dcc}} around an encoded DCC."""
    return _claims_head(iss, iat, exp) + dcc_cbor


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string (major type 2) in its shortest encoding."""
    size = len(data)
    if size < 24:
        head = bytes([0x40 | size])
    elif size < 0x100:
        head = bytes([0x58, size])
    elif size < 0x10000:
        head = b"\x59" + size.to_bytes(2, "big")
    else:
        head = b"\x5a" + size.to_bytes(4, "big")
    return head + data


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed: ["Signature1", protected, external_aad = b"", payload]."""
    return _SIGNATURE1 + _bstr(protected) + b"\x40" + _bstr(payload)


def sign1(payload: bytes, signer: Signer) -> bytes:
    """A tagged COSE_Sign1 message over `payload`, kid and alg in the protected header.

    Framed by hand (tag 18, array of 4, empty unprotected map): the same bytes cbor2 would write.
    """
    to_be_signed, message = _frames(signer.algorithm, signer.kid)
    body = _bstr(payload)
    return message + body + _bstr(signer.sign(to_be_signed + body))


def _header_map(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, _MAPS):
        raise CoseMalformed(f"the {where} header is not a map")
    return value


@lru_cache(maxsize=128)
def _protected_map(data: bytes) -> Mapping[Any, Any]:
    """A protected header, decoded once per distinct header (it is the same for a whole DSC)."""
    return MappingProxyType(
        dict(_header_map(cbor.loads(data, cbor.HEADER, "protected header"), "protected"))
    )


def _bstr_at(data: bytes, pos: int) -> tuple[bytes, int]:
    """The CBOR byte string at `pos` and the position after it; IndexError/ValueError if none."""
    head = data[pos]
    if 0x40 <= head <= 0x57:
        size, pos = head - 0x40, pos + 1
    elif 0x58 <= head <= 0x5A:
        width = 1 << (head - 0x58)  # 1, 2 or 4 length bytes
        size, pos = int.from_bytes(data[pos + 1 : pos + 1 + width], "big"), pos + 1 + width
    else:
        raise ValueError("not a definite-length byte string")
    if pos + size > len(data):
        raise IndexError("byte string runs past the message")
    return data[pos : pos + size], pos + size


def _sign1_items(data: bytes) -> tuple[Any, ...]:
    """The four items of a COSE_Sign1 message.

    The shape every DCC has (tag 18, four items, an empty unprotected map) is sliced by hand;
    anything else (other tags, headers, encodings, damage) goes to the CBOR decoder, which
    reaches the same items or the precise error.
    """
    try:
        if data[0] == 0xD2 and data[1] == 0x84:
            protected, pos = _bstr_at(data, 2)
            if data[pos] == 0xA0:
                payload, pos = _bstr_at(data, pos + 1)
                signature, pos = _bstr_at(data, pos)
                if pos == len(data):
                    return protected, {}, payload, signature
    except (IndexError, ValueError):
        pass
    item = cbor.loads(data, cbor.ENVELOPE, "COSE message")
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag):
        if item.tag != TAG_COSE_SIGN1:
            raise CoseMalformed(f"CBOR tag {item.tag} is not COSE_Sign1 (18)")
        item = item.value
    if not isinstance(item, _ARRAYS) or len(item) != 4:
        raise CoseMalformed("a COSE_Sign1 message is an array of four items")
    return tuple(item)


def parse_sign1(data: bytes) -> Sign1:
    """Parse a COSE_Sign1 message: tagged 18, CWT-tagged 61 around 18, or untagged."""
    protected_bytes, unprotected, payload, signature = _sign1_items(data)
    if not isinstance(protected_bytes, bytes):
        raise CoseMalformed("the protected header is not a byte string")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise CoseMalformed("the payload and signature must be byte strings")
    protected: Mapping[Any, Any] = _protected_map(protected_bytes) if protected_bytes else {}
    unprotected = _header_map(unprotected, "unprotected")
    kid = protected.get(HEADER_KID, unprotected.get(HEADER_KID))
    alg = protected.get(HEADER_ALG, unprotected.get(HEADER_ALG))
    if kid is not None and not isinstance(kid, bytes):
        raise CoseMalformed("the kid header is not a byte string")
    if kid is not None and len(kid) > MAX_KID:
        raise CoseMalformed(f"the kid header is {len(kid)} bytes, longer than any key id")
    if alg is not None and (isinstance(alg, bool) or not isinstance(alg, int | str)):
        raise CoseMalformed("the alg header is neither an integer nor a text string")
    return Sign1(protected_bytes, protected, unprotected, payload, signature, kid, alg)


def _der_integer(big_endian: bytes) -> bytes:
    """A non-negative DER INTEGER (short form: at most 126 content bytes) from unsigned bytes."""
    body = big_endian.lstrip(b"\0") or b"\0"
    if body[0] & 0x80:
        body = b"\0" + body
    return b"\x02" + len(body).to_bytes(1, "big") + body


def raw_to_der(signature: bytes) -> bytes:
    """COSE's r || s (two 32-byte halves) as the DER ``SEQUENCE {INTEGER r, INTEGER s}``
    OpenSSL verifies; built with byte operations, cheaper than going through integers."""
    half = len(signature) // 2
    body = _der_integer(signature[:half]) + _der_integer(signature[half:])
    return b"\x30" + len(body).to_bytes(1, "big") + body


def _check_alg(alg: object) -> None:
    if alg not in (ES256, PS256):
        raise UnsupportedAlgorithm(f"alg {alg!r} is not ES256 (-7) or PS256 (-37)")


def key_verifier(public_key: object) -> Callable[[Sign1], None]:
    """The signature check of `public_key`, its key type worked out once (a DSC verifies many).

    The key type must fit the algorithm: ES256 needs a P-256 key, PS256 an RSA key.
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        curve = public_key.curve.name
        p256 = isinstance(public_key.curve, ec.SECP256R1)
        ec_verify = public_key.verify

        def check_ec(message: Sign1) -> None:
            alg = message.alg
            _check_alg(alg)
            if alg != ES256 or not p256:
                raise UnsupportedAlgorithm(f"alg {alg} does not fit a {curve} key")
            if len(message.signature) != 64:
                raise SignatureInvalid("an ES256 signature is 64 bytes (r || s)")
            data = sig_structure(message.protected_bytes, message.payload)
            try:
                ec_verify(raw_to_der(message.signature), data, _ECDSA)
            except InvalidSignature:
                raise SignatureInvalid("the ES256 signature does not verify") from None

        return check_ec
    if isinstance(public_key, rsa.RSAPublicKey):
        rsa_verify = public_key.verify

        def check_rsa(message: Sign1) -> None:
            alg = message.alg
            _check_alg(alg)
            if alg != PS256:
                raise UnsupportedAlgorithm(f"alg {alg} does not fit an RSA key (PS256 expected)")
            data = sig_structure(message.protected_bytes, message.payload)
            try:
                rsa_verify(message.signature, data, _PSS, _SHA256)
            except InvalidSignature:
                raise SignatureInvalid("the PS256 signature does not verify") from None

        return check_rsa
    kind = type(public_key).__name__

    def unsupported(message: Sign1) -> None:
        _check_alg(message.alg)
        raise UnsupportedAlgorithm(f"keys of type {kind} are not supported")

    return unsupported


def verify_signature(message: Sign1, public_key: object) -> None:
    """Check the signature with `public_key`; the key type must fit the algorithm (ES256: P-256)."""
    key_verifier(public_key)(message)


def _numeric_date(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsInvalid(f"claim {name} is not a number")
    if not math.isfinite(value) or not _MIN_DATE <= value <= _MAX_DATE:  # years 1 to 9999
        raise ClaimsInvalid(f"claim {name} is out of range")
    return float(value)


_PLAIN: Final = frozenset({str, int, bool, type(None)})


def _to_json(value: Any, depth: int = 0) -> Any:
    """CBOR data -> JSON data; tagged dates (tags 0, 1, 1004) become ISO 8601 strings.

    Plain data is checked in place and returned as is; only what needs converting is copied.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if depth > _MAX_DEPTH:
        raise ClaimsInvalid("the DCC payload is nested too deeply")
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise ClaimsInvalid("the DCC payload has a map key that is not text")
            if type(item) not in _PLAIN and _to_json(item, depth + 1) is not item:
                return {k: _to_json(i, depth + 1) for k, i in value.items()}
        return value
    if kind is list:
        for item in value:
            if type(item) not in _PLAIN and _to_json(item, depth + 1) is not item:
                return [_to_json(i, depth + 1) for i in value]
        return value
    return _convert(value, depth)


def _convert(value: Any, depth: int) -> Any:
    """The non-plain cases of `_to_json`: immutable containers, floats, dates, subclasses."""
    if isinstance(value, _MAPS):
        return _to_json(dict(value), depth)
    if isinstance(value, tuple):
        return _to_json(list(value), depth)
    if type(value) is float:
        if not math.isfinite(value):
            raise ClaimsInvalid("the DCC payload holds a non-finite number")
        return value
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int):  # subclasses of the plain types
        return str(value) if isinstance(value, str) else int(value)
    raise ClaimsInvalid(f"the DCC payload holds a {type(value).__name__}, which JSON cannot")


def parse_claims(payload: bytes, *, ddcc: bool = False) -> Claims:
    """Parse the CWT claims and pull out the DCC payload as JSON data; with `ddcc`, a message
    with no DCC (hcert key 1) but a DDCC:VS core data set (key 2) gives that, as kind "ddcc"."""
    claims = cbor.loads(payload, cbor.CLAIMS, "CWT claims")
    if not isinstance(claims, _MAPS):
        raise ClaimsInvalid("the CWT claims are not a map")
    iss = claims.get(CLAIM_ISS)
    if iss is not None and not isinstance(iss, str):
        raise ClaimsInvalid("claim iss is not text")
    if CLAIM_IAT not in claims or CLAIM_EXP not in claims:
        raise ClaimsInvalid("the CWT lacks its issued-at (6) or expiry (4) claim")
    iat = _numeric_date(claims[CLAIM_IAT], "iat")
    exp = _numeric_date(claims[CLAIM_EXP], "exp")
    hcert = claims.get(CLAIM_HCERT)
    if (ddcc and isinstance(hcert, _MAPS) and not isinstance(hcert.get(HCERT_DCC), _MAPS)
            and isinstance(hcert.get(HCERT_DDCC_VS), _MAPS)):  # fmt: skip
        return Claims(iss, iat, exp, _to_json(hcert[HCERT_DDCC_VS]), "ddcc")
    if not isinstance(hcert, _MAPS) or not isinstance(hcert.get(HCERT_DCC), _MAPS):
        raise ClaimsInvalid("claim -260 does not hold a DCC map under key 1")
    dcc = _to_json(hcert[HCERT_DCC])
    return Claims(iss, iat, exp, dcc)


def dcc_in_claims(payload: bytes) -> dict[str, Any]:
    """The DCC (claim -260, key 1) of CWT claims, without requiring the other claims."""
    claims = cbor.loads(payload, cbor.CLAIMS, "CWT claims")
    hcert = claims.get(CLAIM_HCERT) if isinstance(claims, _MAPS) else None
    dcc = hcert.get(HCERT_DCC) if isinstance(hcert, _MAPS) else None
    if not isinstance(dcc, _MAPS):
        raise ClaimsInvalid("claim -260 does not hold a DCC map under key 1")
    result: dict[str, Any] = _to_json(dcc)
    return result


def dcc_from_cbor(data: bytes) -> dict[str, Any]:
    """JSON data of a bare CBOR-encoded DCC payload, or of the one inside a CWT claims map."""
    item = cbor.loads(data, cbor.CLAIMS, "CBOR payload")
    if isinstance(item, _MAPS) and CLAIM_HCERT in item:
        return dcc_in_claims(data)
    if not isinstance(item, _MAPS):
        raise ClaimsInvalid("the CBOR payload is not a map")
    result: dict[str, Any] = _to_json(item)
    return result

"""Hostile HC1 texts built in the test run (nothing is committed): the verifier attacks of issue #13.

Each builder returns HC1 text. `unsigned_*` messages carry a random kid and a random signature, as
a forger without a key would send them; `signed_*` ones are signed with a key the caller trusts,
so the verifier gets past the signature and meets the hostile claims themselves.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from typing import Any, Final

import cbor2

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.signer import Signer

ISS: Final = "VN"
IAT: Final = 1_630_540_800  # 2021-09-02
EXP: Final = 1_662_076_800  # 2022-09-02
#: A name a verifier would show: the tests look for it in every answer to unsigned input.
MARKER: Final = "ATTACKERNAME"


def _dcc(**extra: Any) -> dict[str, Any]:
    return {"ver": "1.3.0", "nam": {"fn": MARKER, "fnt": MARKER}, "dob": "1980-01-01", **extra}


def claims(dcc: Any, *, iat: Any = IAT, exp: Any = EXP) -> bytes:
    """CWT claims bytes {1: iss, 6: iat, 4: exp, -260: {1: dcc}} (cbor2 encodes whatever it is)."""
    return cbor2.dumps({1: ISS, 6: iat, 4: exp, -260: {1: dcc}})


def _envelope(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))


def unsigned(payload: bytes, *, kid: bytes | None = None) -> str:
    """HC1 text of a COSE_Sign1 over `payload` with a random kid and a random signature."""
    protected = cbor2.dumps({1: -7, 4: kid if kid is not None else os.urandom(8)})
    return hc1.encode(_envelope(protected, payload, os.urandom(64)))


def signed(payload: bytes, signer: Signer) -> str:
    """HC1 text of a COSE_Sign1 over `payload`, really signed by `signer`."""
    return hc1.encode(cose.sign1(payload, signer))


def shared_reference_bomb(levels: int = 24) -> bytes:
    """Claims whose DCC name is a chain of CBOR shared references (tags 28/29): `levels` nested
    pairs of the same list, a few hundred bytes that expand to 2**levels strings when copied."""
    chain: list[Any] = ["AAAAAAAAAAAAAAAA"]
    for _ in range(levels):
        chain = [chain, chain]  # the same object twice: the encoder writes 28(...) then 29(n)
    return cbor2.dumps({1: ISS, 6: IAT, 4: EXP, -260: {1: _dcc(v=chain)}}, value_sharing=True)


def flat_shared_reference_bomb(levels: int = 40) -> bytes:
    """The same expansion without deep nesting, written by hand: an array whose item k is
    28([29(k-1), 29(k-1)]); it never nests more than three levels (defeats depth limits)."""
    items = [b"\xd8\x1c\x82" + b"\x70" + b"A" * 16 + b"\x70" + b"A" * 16]  # 28(["A"*16, "A"*16])
    for k in range(1, levels):
        ref = b"\xd8\x1d" + _uint(k - 1)  # 29(k-1)
        items.append(b"\xd8\x1c\x82" + ref + ref)
    array = _head(4, len(items)) + b"".join(items)
    dcc = cbor2.dumps(_dcc())
    dcc = _head(5, len(_dcc()) + 1) + dcc[1:] + cbor2.dumps("v") + array
    return claims_around(dcc)


def claims_around(dcc_cbor: bytes, *, iat: int = IAT, exp: int = EXP) -> bytes:
    """Claims bytes around an already encoded DCC (so hand-written CBOR stays as written)."""
    return cose.claims_around(dcc_cbor, iss=ISS, iat=iat, exp=exp)


def bignum(digits: int = 5_000) -> bytes:
    """Claims whose dose number is an unsigned bignum (tag 2) of more than `digits` digits."""
    return claims(_dcc(v=[{"dn": 10**digits, "sd": 1}]))


def bignum_iat(digits: int = 5_000) -> bytes:
    """Claims whose issued-at is a bignum of more than `digits` digits."""
    return claims(_dcc(), iat=10**digits)


def out_of_range_times(value: int = 10**18) -> bytes:
    """Claims with iat and exp far past what a `datetime` holds (year 9999)."""
    return claims(_dcc(), iat=value, exp=value + 1)


def zlib_bomb(size: int = 64 * 1024 * 1024) -> str:
    """HC1 text whose zlib stream inflates to `size` zero bytes (a ~1000:1 ratio)."""
    return hc1.PREFIX + hc1.b45encode(zlib.compress(b"\0" * size, 9))


def huge_base45(chars: int = 4 * 1024 * 1024) -> str:
    """A Base45 text of `chars` valid characters, far longer than any QR code carries."""
    return hc1.PREFIX + "0" * (chars - chars % 3)


def deep_nesting(levels: int = 100_000) -> bytes:
    """Claims holding an array nested `levels` deep (one byte a level)."""
    return claims_around(b"\xa1\x61v" + b"\x81" * levels + b"\x00")


def huge_declared_length() -> bytes:
    """Claims whose DCC declares a text string of 4 GiB that the input does not hold."""
    return claims_around(b"\xa1\x61v\x7a\xff\xff\xff\xff" + b"A" * 16)


def _uint(n: int) -> bytes:
    return _head(0, n)


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + n.to_bytes(4, "big")


# --- the two further forms: WHO DDCC:VS (hcert key 2) and SMART Health Cards ---------------------


def ddcc_shared_reference_bomb(levels: int = 24) -> bytes:
    """`shared_reference_bomb` with the chain in a DDCC:VS core data set (hcert key 2)."""
    chain: list[Any] = ["AAAAAAAAAAAAAAAA"]
    for _ in range(levels):
        chain = [chain, chain]
    data = {"name": MARKER, "birthDate": "1980-01-01", "vaccination": chain}
    return cbor2.dumps({1: ISS, 6: IAT, 4: EXP, -260: {2: data}}, value_sharing=True)


def jws_header(kid: str, alg: str = "ES256") -> str:
    """A SMART Health Card JWS header, base64url."""
    return _b64url(json.dumps({"alg": alg, "zip": "DEF", "kid": kid}).encode())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def deflated(data: bytes) -> bytes:
    """Raw DEFLATE (RFC 1951), as a card's `zip: DEF` payload."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


def card(header: str, payload: bytes, signer: Signer | None) -> str:
    """The `shc:/` text of a JWS over `payload` (already compressed), signed by `signer` or
    with a random signature."""
    body = _b64url(payload)
    signing_input = f"{header}.{body}"
    signature = signer.sign(signing_input.encode()) if signer is not None else os.urandom(64)
    jws = f"{signing_input}.{_b64url(signature)}"
    return "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in jws)


def card_bignum_nbf(digits: int = 5_000) -> bytes:
    """Card claims whose `nbf` has more digits than Python turns into an int."""
    return b'{"iss": "https://x", "nbf": 1' + b"0" * digits + b"}"


def card_claims(**extra: Any) -> bytes:
    """Minified card claims naming the attacker, with `extra` members."""
    vc = {"type": ["https://smarthealth.cards#health-card"], "credentialSubject": {
        "fhirBundle": {"entry": [{"resource": {"resourceType": "Patient",
                                               "name": [{"family": MARKER}]}}]}}}  # fmt: skip
    return json.dumps({"iss": "https://x", "nbf": IAT, "vc": vc, **extra}).encode()

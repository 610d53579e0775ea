"""A second decoder written only from the specifications checks what vaxlink issues.

The decoding here uses cbor2, zlib and `cryptography` directly, with its own Base45 decoder;
nothing from vaxlink's codec (hc1, cose, verify) is imported. Specifications: RFC 9285 (Base45),
RFC 1950 (zlib), RFC 9052 (COSE_Sign1, Sig_structure), RFC 8392 (CWT claims), the eHN
"Electronic Health Certificate" spec (HC1 prefix, claim -260/1, kid = SHA-256(DSC)[:8]).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from jsonschema import Draft202012Validator

from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.keys.pem import PemSigner
from vaxlink.standards import eu_schema

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45_decode(text: str) -> bytes:
    """RFC 9285 section 4.2: groups of three characters c + 45*d + 45^2*e -> two bytes."""
    out = bytearray()
    for i in range(0, len(text), 3):
        group = [B45.index(ch) for ch in text[i : i + 3]]
        if len(group) == 1:
            raise ValueError("dangling character")
        value = sum(digit * 45**power for power, digit in enumerate(group))
        size = 2 if len(group) == 3 else 1
        if value >= 256**size:
            raise ValueError("group out of range")
        out += value.to_bytes(size, "big")
    return bytes(out)


def decode_and_verify(text: str, certificate: x509.Certificate) -> dict[Any, Any]:
    """HC1 text -> verified CWT claims, straight from the specifications."""
    assert text.startswith("HC1:")
    compressed = base45_decode(text[4:])
    assert compressed[0] == 0x78  # zlib, 32 KiB window
    cose = cbor2.loads(zlib.decompress(compressed))
    assert isinstance(cose, cbor2.CBORTag)
    assert cose.tag == 18
    protected_bytes, unprotected, payload, signature = cose.value
    protected = cbor2.loads(protected_bytes)
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert protected[4] == hashlib.sha256(der).digest()[:8]
    assert dict(unprotected) == {}
    to_be_signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    key = certificate.public_key()
    if protected[1] == -7:  # ES256: raw r || s, 32 bytes each
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert len(signature) == 64
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(hashes.SHA256()))
    else:  # PS256: RSASSA-PSS, SHA-256, MGF1(SHA-256), salt = 32 bytes (RFC 8230)
        assert protected[1] == -37
        assert isinstance(key, rsa.RSAPublicKey)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        key.verify(signature, to_be_signed, pss, hashes.SHA256())
    claims: dict[Any, Any] = cbor2.loads(payload)
    return claims


def make_signer(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
) -> tuple[PemSigner, x509.Certificate]:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2021, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return PemSigner(key, certificate), certificate


def test_the_independent_decoder_reads_a_public_eu_case(dcc_public: Path) -> None:
    case = json.loads((dcc_public / "AT/2DCode/raw/1.json").read_text())
    certificate = x509.load_der_x509_certificate(base64.b64decode(case["TESTCTX"]["CERTIFICATE"]))
    claims = decode_and_verify(case["PREFIX"], certificate)
    assert claims[-260][1] == case["JSON"]


@pytest.mark.parametrize("kind", ["ES256", "PS256"])
def test_vaxlink_certificates_pass_the_independent_decoder(kind: str) -> None:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ES256"
        else rsa.generate_private_key(65537, 2048)
    )
    signer, certificate = make_signer(key)
    payload = vaccination_payload(
        family_name="Đỗ",
        given_name="Quang Huy",
        date_of_birth="2001-12-24",
        product="EU/1/20/1507",
        manufacturer="ORG-100031184",
        prophylaxis="1119349007",
        dose_number=3,
        total_doses=3,
        vaccination_date="2022-01-15",
        uvci=uvci_from_seed("independent"),
        issuer="Ministry of Health of Viet Nam",
    )
    issued_at = datetime(2022, 1, 20, 9, 0, tzinfo=UTC)
    issued = issue(payload, signer, issuer="VN", issued_at=issued_at)

    claims = decode_and_verify(issued.hc1, certificate)

    assert set(claims) == {1, 4, 6, -260}
    assert claims[1] == "VN"
    assert claims[6] == int(issued_at.timestamp())
    assert claims[4] == claims[6] + 365 * 86400
    dcc = claims[-260][1]
    assert dcc == payload
    assert dcc["nam"] == {"fn": "Đỗ", "fnt": "DO", "gn": "Quang Huy", "gnt": "QUANG<HUY"}
    Draft202012Validator(eu_schema(dcc["ver"])).validate(dcc)
    Draft202012Validator(eu_schema()).validate(dcc)  # the newest schema accepts it too


def test_a_flipped_signature_bit_fails_the_independent_decoder() -> None:
    signer, certificate = make_signer(ec.generate_private_key(ec.SECP256R1()))
    payload = vaccination_payload(
        family_name="Vũ",
        given_name="Lan",
        date_of_birth="1960",
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
        prophylaxis="1119349007",
        dose_number=1,
        total_doses=2,
        vaccination_date="2021-07-01",
        uvci=uvci_from_seed("flip"),
        issuer="Ministry of Health of Viet Nam",
    )
    text = issue(payload, signer, issuer="VN", issued_at=datetime(2021, 7, 2, tzinfo=UTC)).hc1
    cose = cbor2.loads(zlib.decompress(base45_decode(text[4:])))
    message = list(cose.value)
    message[3] = bytes([message[3][0] ^ 0x80]) + message[3][1:]
    packed = zlib.compress(cbor2.dumps(cbor2.CBORTag(18, message)))
    forged = (
        "HC1:"
        + "".join(
            B45[n % 45] + B45[n // 45 % 45] + B45[n // 2025]
            for n in (
                int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed) - 1, 2)
            )
        )
        + ("" if len(packed) % 2 == 0 else B45[packed[-1] % 45] + B45[packed[-1] // 45])
    )
    with pytest.raises(InvalidSignature):
        decode_and_verify(forged, certificate)

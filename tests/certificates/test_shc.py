"""SMART Health Cards: the JWS checked by jwcrypto (a JOSE library) against the published JWK,
the payload by raw inflate, the bundle by fhir.resources (R4), the QR by zxing-cpp."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
import segno
import zxingcpp
from fhir.resources.R4B.bundle import Bundle
from jwcrypto import jwk, jws
from PIL import Image

from vaxlink.certificates.core import shc
from vaxlink.certificates.errors import DocumentRenderError
from vaxlink.certificates.qrimage import read_qr, shc_qr_png

from .test_ddcc_profiles import DDCC_RECORD

ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ISSUER = "https://vaxlink.example.vn"


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def card(pki: Any) -> str:
    bundle = shc.fhir_bundle(DDCC_RECORD, family="Nguyễn", given="Thị Thuỷ Đức")
    return shc.sign_jws(bundle, pki.dsc, issuer_url=ISSUER, issued=ISSUED)


def verified_claims(token: str, keys: dict[str, Any]) -> dict[str, Any]:
    """jwcrypto verifies the compact JWS with the key its `kid` names; then raw inflate."""
    header = json.loads(_b64(token.split(".")[0]))
    assert header == {"alg": "ES256", "zip": "DEF", "kid": header["kid"]}
    key_set = jwk.JWKSet.from_json(json.dumps(keys))
    key = key_set.get_key(header["kid"])
    assert key is not None, "kid not in the JWKS"
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(key, alg="ES256")  # raises InvalidJWSSignature
    # the payload is raw DEFLATE (RFC 1951): wbits -15, no zlib header
    claims: dict[str, Any] = json.loads(zlib.decompress(signed.objects["payload"], -15))
    return claims


def test_jwcrypto_verifies_the_card_and_the_payload_is_the_shc_vc(pki) -> None:
    token = card(pki)
    keys = shc.jwks([pki.dsc.certificate.public_key()])
    claims = verified_claims(token, keys)
    assert claims["iss"] == ISSUER
    assert claims["nbf"] == int(ISSUED.timestamp())
    vc = claims["vc"]
    assert vc["type"] == ["https://smarthealth.cards#health-card",
                          "https://smarthealth.cards#immunization",
                          "https://smarthealth.cards#covid19"]  # fmt: skip
    subject = vc["credentialSubject"]
    assert subject["fhirVersion"] == "4.0.1"
    bundle = subject["fhirBundle"]
    Bundle.model_validate(bundle)  # valid FHIR
    assert bundle["type"] == "collection"
    patient, immunization = (e["resource"] for e in bundle["entry"])
    assert [e["fullUrl"] for e in bundle["entry"]] == ["resource:0", "resource:1"]
    assert patient == {"resourceType": "Patient",
                       "name": [{"family": "Nguyễn", "given": ["Thị Thuỷ Đức"]}],
                       "birthDate": "1985-03-14"}  # fmt: skip
    assert immunization["vaccineCode"] == {
        "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]  # Comirnaty
    }
    assert immunization["patient"] == {"reference": "resource:0"}
    assert immunization["occurrenceDateTime"] == "2021-09-01"
    assert immunization["lotNumber"] == "FK8891"
    assert immunization["performer"] == [{"actor": {"display": "Trạm Y tế phường Bến Nghé"}}]
    # minified: no whitespace in the signed JSON, no ids, meta or narrative
    raw = zlib.decompress(_b64(token.split(".")[1]), -15)
    minified = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False)
    assert raw == minified.encode()
    assert b'"id"' not in raw
    assert b'"meta"' not in raw
    assert b'"text"' not in raw


def test_a_card_fails_with_another_key_and_when_tampered(pki) -> None:
    token = card(pki)
    other = shc.jwks([pki.dsc2.certificate.public_key()])
    with pytest.raises(AssertionError, match="kid not in the JWKS"):
        verified_claims(token, other)
    # the same kid but another key: the signature does not verify
    forged = other["keys"][0] | {"kid": shc.public_jwk(pki.dsc.certificate.public_key())["kid"]}
    with pytest.raises(jws.InvalidJWSSignature):
        verified_claims(token, {"keys": [forged]})
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(jws.InvalidJWSSignature):
        verified_claims(tampered, shc.jwks([pki.dsc.certificate.public_key()]))


def test_jwk_kid_is_the_rfc7638_thumbprint_and_jwcrypto_agrees(pki) -> None:
    key = shc.public_jwk(pki.dsc.certificate.public_key())
    assert set(key) == {"kty", "kid", "use", "alg", "crv", "x", "y", "crlVersion"}
    assert (key["kty"], key["use"], key["alg"], key["crv"]) == ("EC", "sig", "ES256", "P-256")
    assert key["kid"] == jwk.JWK(**key).thumbprint()  # jwcrypto computes RFC 7638 by itself
    canonical = json.dumps({k: key[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    assert (
        key["kid"]
        == base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    assert "d" not in key


def test_numeric_qr_text_and_a_real_qr_image(pki) -> None:
    token = card(pki)
    text = shc.numeric(token)
    assert text.startswith("shc:/")
    assert text[5:].isdigit()
    assert len(text) == 5 + 2 * len(token)
    assert text[5:7] == f"{ord(token[0]) - 45:02d}"
    assert shc.from_numeric(text) == token
    png = shc_qr_png(text)
    assert read_qr(png) == text
    with Image.open(io.BytesIO(png)) as image:
        (found,) = zxingcpp.read_barcodes(image.convert("L"))
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.text == text
    # two segments: the digits in numeric mode make a far smaller symbol than one byte segment
    byte_mode = segno.make_qr(text, error="l", mode="byte", boost_error=False).version
    assert int(found.extra["Version"]) < byte_mode - 5
    with pytest.raises(DocumentRenderError, match="more than one QR code holds"):
        shc.numeric("a" * (shc.MAX_SINGLE_JWS + 1))


def test_a_product_without_cvx_code_is_non_us_unknown_and_an_rsa_signer_is_refused(pki) -> None:
    import dataclasses

    from vaxlink.certificates.core.fhir import Coding

    record = dataclasses.replace(DDCC_RECORD, brand=Coding("urn:x", "Abdala"),
                                 lot_number=shc.NOT_RECORDED, centre=shc.NOT_RECORDED)  # fmt: skip
    bundle = shc.fhir_bundle(record, family="A", given="")
    immunization = bundle["entry"][1]["resource"]
    assert immunization["vaccineCode"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/cvx", "code": "500"}
    ]
    assert "lotNumber" not in immunization  # not "not recorded": the card says nothing instead
    assert "performer" not in immunization

    class Rsa:
        algorithm = -37

    with pytest.raises(DocumentRenderError, match="ES256"):
        shc.sign_jws(bundle, Rsa(), issuer_url=ISSUER, issued=ISSUED)  # type: ignore[arg-type]

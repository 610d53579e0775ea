"""The verifier reads the three forms vaxlink issues, each signed with the fixtures' real DSC:
an EU DCC (`HC1:`, hcert key 1), a WHO DDCC:VS (`HC1:`, hcert key 2) and a SMART Health Card
(`shc:/`). Each is verified valid, then refused typed when tampered, signed with another key,
expired, revoked or malformed; a refusal of a message whose signature did not hold carries no
claim."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import time
import zlib
from typing import Any

import cbor2
import pytest
from cryptography import x509

from vaxlink.certificates.core import cose, ddcc_qr, hc1, shc
from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList, uvci_hash
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.core.verify import verify
from vaxlink.certificates.errors import ClaimsInvalid
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.hierarchy import DccType
from vaxlink.certificates.verification.result import VerificationResult, verification_result

from .conftest import NOW, Pki
from .test_ddcc_profiles import DDCC_RECORD

ISSUED = NOW
EXPIRES = NOW + dt.timedelta(days=365)
CLOCK = NOW + dt.timedelta(days=2)
LATE = EXPIRES + dt.timedelta(days=1)
SHC_ISSUER = "https://vaxlink.example.vn"
UVCI = uvci_from_seed("verify-all-forms")
RECORD = dataclasses.replace(DDCC_RECORD, certificate_valid_from=ISSUED,
                             certificate_valid_until=EXPIRES, certificate_id=UVCI)  # fmt: skip
FORMS = ("dcc", "ddcc", "shc")


def _dcc(signer: Any) -> str:
    payload = vaccination_payload(
        family_name="Nguyễn", given_name="Thị Thuỷ Đức", date_of_birth="1990-07-14",
        product="EU/1/20/1528", manufacturer="ORG-100030215", prophylaxis="1119349007",
        dose_number=2, total_doses=2, vaccination_date="2021-09-01", uvci=UVCI,
        issuer="Ministry of Health",
    )  # fmt: skip
    return issue(payload, signer, issuer="VN", issued_at=ISSUED, validity=EXPIRES - ISSUED).hc1


def _ddcc(signer: Any, record: Any = RECORD) -> str:
    return ddcc_qr.sign_ddcc(record, signer, country="VN", issued=ISSUED, expires=EXPIRES)


def _jws(signer: Any, **changes: Any) -> str:
    bundle = shc.fhir_bundle(RECORD, family="Nguyễn", given="Thị Thuỷ Đức")
    options: dict[str, Any] = {"issuer_url": SHC_ISSUER, "issued": ISSUED, "expires": EXPIRES,
                               "revocation_id": shc.rid(uvci_hash(UVCI))}  # fmt: skip
    options.update(changes)
    return shc.sign_jws(bundle, signer, **options)


def _shc(signer: Any, **changes: Any) -> str:
    return shc.numeric(_jws(signer, **changes))


def _issue(form: str, signer: Any) -> str:
    return {"dcc": _dcc, "ddcc": _ddcc, "shc": _shc}[form](signer)


@pytest.fixture(scope="module")
def trust(pki: Pki) -> InMemoryTrustList:
    return InMemoryTrustList([pki.dsc.certificate, pki.dsc2.certificate])


@pytest.fixture(scope="module")
def stranger(pki: Pki) -> Any:
    """A DSC of another CSCA: its key is on no trust list and no JWKS."""
    csca = keys.create_csca(country="VN", organization="Giả mạo", now=NOW - dt.timedelta(days=1))
    return keys.create_dsc(csca, now=NOW - dt.timedelta(days=1), common_name="Rogue DSC")


def _result(text: str | bytes, trust: Any, **options: Any) -> VerificationResult:
    options.setdefault("clock", CLOCK)
    result = verification_result(text, trust, **options)
    json.dumps(result.to_dict())  # always serialisable
    if not result.authentic:
        assert result.payload is None
        assert result.fields == ()
        assert result.issued_at is None
        assert result.expires_at is None
    return result


def _refused(text: str | bytes, trust: Any, code: str, **options: Any) -> VerificationResult:
    result = _result(text, trust, **options)
    assert not result.valid
    assert result.failure is not None
    assert result.failure.code == code, result.failure
    return result


@pytest.mark.parametrize("form", FORMS)
def test_a_valid_certificate_of_each_form_shows_the_person_and_the_dose(pki, trust, form) -> None:
    text = _issue(form, pki.dsc)
    revocation = InMemoryRevocationList(["URN:UVCI:01:VN:SOMEONEELSE#X"])
    result = _result(text, trust, revocation=revocation)
    assert result.valid, result.failure
    assert result.authentic
    assert result.format == form
    shown = {f.key: f.value for f in result.fields}
    assert "Nguyễn" in shown["name"]
    assert shown["date_of_birth"] == (str(RECORD.birth_date) if form != "dcc" else "1990-07-14")
    assert shown["vaccination_date"] in (RECORD.vaccination_date.isoformat(), "2021-09-01")
    assert shown["product"].startswith(("Comirnaty", "COVID-19, mRNA"))
    assert result.expires_at == EXPIRES
    document = result.to_dict()
    assert document["format"] == form
    assert document["valid"] is True


@pytest.mark.parametrize("form", FORMS)
def test_one_byte_changed_in_the_signed_content_is_a_signature_refusal(pki, trust, form) -> None:
    text = _issue(form, pki.dsc)
    if form == "shc":
        header, payload, signature = shc_verify_parts(text)
        at = len(payload) // 2
        swapped = "B" if payload[at] != "B" else "C"
        tampered = shc.numeric(f"{header}.{payload[:at]}{swapped}{payload[at + 1 :]}.{signature}")
    else:
        message = bytearray(hc1.decode(text))
        message[-80] ^= 0x01  # inside the claims, before the 64-byte signature
        tampered = hc1.encode(bytes(message))
    result = _refused(tampered, trust, "signature_invalid")
    assert result.failed_step == "signature"
    assert result.kid is not None  # a header, not a claim


def shc_verify_parts(text: str) -> list[str]:
    return shc.from_numeric(text).split(".")


@pytest.mark.parametrize("form", FORMS)
def test_one_character_changed_anywhere_in_the_text_is_never_accepted(pki, trust, form) -> None:
    text = _issue(form, pki.dsc)
    for at in range(6, len(text), max(1, len(text) // 40)):
        if form == "shc":
            digit = "1" if text[at] != "1" else "2"
            changed = text[:at] + digit + text[at + 1 :]
        else:
            changed = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]
        result = _result(changed, trust)
        assert not result.valid, at


@pytest.mark.parametrize("form", FORMS)
def test_a_key_not_on_the_trust_list_or_jwks_is_an_unknown_kid(trust, stranger, form) -> None:
    result = _refused(_issue(form, stranger), trust, "unknown_kid")
    assert result.failed_step == "kid"


@pytest.mark.parametrize("form", FORMS)
def test_a_trusted_kid_over_another_keys_signature_is_refused(pki, trust, stranger, form) -> None:
    """The kid names a trusted DSC, the signature is another key's."""
    if form == "shc":
        forged_header = shc_verify_parts(_shc(pki.dsc))[0]
        _, payload, signature = shc_verify_parts(_shc(stranger))
        forged = shc.numeric(f"{forged_header}.{payload}.{signature}")
    else:
        trusted = cose.parse_sign1(hc1.decode(_issue(form, pki.dsc)))
        other = cose.parse_sign1(hc1.decode(_issue(form, stranger)))
        forged = hc1.encode(cbor2.dumps(cbor2.CBORTag(18, [
            trusted.protected_bytes, {}, other.payload, other.signature])))  # fmt: skip
    _refused(forged, trust, "signature_invalid")


@pytest.mark.parametrize("form", FORMS)
def test_an_expired_certificate_is_refused_after_its_signature_held(pki, trust, form) -> None:
    result = _refused(_issue(form, pki.dsc), trust, "expired", clock=LATE)
    assert result.authentic
    assert result.failed_step == "time"
    assert result.format == form


@pytest.mark.parametrize("form", FORMS)
def test_a_revoked_certificate_is_refused(pki, trust, form) -> None:
    revocation = InMemoryRevocationList([UVCI])
    result = _refused(_issue(form, pki.dsc), trust, "revoked", revocation=revocation)
    assert result.failed_step == "revocation"


def test_a_revocation_list_of_hashes_only_still_revokes_a_health_card(pki, trust) -> None:
    """The offline list carries 16 bytes of each UVCI hash; the card's rid is their first 9."""
    listed = InMemoryRevocationList(hashes=[uvci_hash(UVCI)])
    _refused(_shc(pki.dsc), trust, "revoked", revocation=listed)
    other = InMemoryRevocationList(hashes=[uvci_hash(UVCI + "X")])
    assert _result(_shc(pki.dsc), trust, revocation=other).valid


def test_a_card_without_rid_is_valid_with_a_warning(pki, trust) -> None:
    result = _result(_shc(pki.dsc, revocation_id=None), trust,
                     revocation=InMemoryRevocationList([UVCI]))  # fmt: skip
    assert result.valid
    assert "rid" in result.warnings[0]


def test_a_revocation_source_that_cannot_read_rids_fails_closed(pki, trust) -> None:
    class UvciOnly:
        def is_revoked(self, uvci: str) -> bool:
            return False

    _refused(_shc(pki.dsc), trust, "internal_error", revocation=UvciOnly())


def test_a_dsc_that_may_not_sign_vaccinations_cannot_sign_a_ddcc_or_a_card(pki) -> None:
    tests_only = keys.create_dsc(pki.csca, now=NOW - dt.timedelta(days=1),
                                 common_name="Test DSC", types=(DccType.TEST,))  # fmt: skip
    trust = InMemoryTrustList([tests_only.certificate])
    for text in (_ddcc(tests_only), _shc(tests_only)):
        assert _refused(text, trust, "key_usage_invalid").authentic


def test_a_signed_ddcc_without_the_facts_shown_is_refused_at_the_schema_step(pki, trust) -> None:
    claims = {1: "VN", 6: int(ISSUED.timestamp()), 4: int(EXPIRES.timestamp()),
              -260: {2: {"birthDate": "1990-07-14", "vaccination": {}}}}  # fmt: skip
    text = hc1.encode(cose.sign1(cbor2.dumps(claims), pki.dsc))
    result = _refused(text, trust, "health_data_invalid")
    assert result.failed_step == "schema"
    assert result.format == "ddcc"


def test_the_eu_dcc_verify_alone_still_refuses_a_ddcc(pki, trust) -> None:
    """`core.verify.verify` keeps its EU DCC contract (conformance runs it); the verifier
    entry point is what accepts a DDCC."""
    with pytest.raises(ClaimsInvalid):
        verify(_ddcc(pki.dsc), trust, clock=CLOCK)


def _signed_jws(signer: Any, header: dict[str, Any], claims: Any, *, raw: bool = False) -> str:
    head = shc.b64url(json.dumps(header).encode())
    body = claims if raw else json.dumps(claims).encode()
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = shc.b64url(deflater.compress(body) + deflater.flush())
    signing_input = f"{head}.{payload}"
    return f"{signing_input}.{shc.b64url(signer.sign(signing_input.encode()))}"


def _kid(signer: Any) -> str:
    cert = x509.load_der_x509_certificate(signer.certificate_der)
    return str(shc.public_jwk(cert.public_key())["kid"])


def test_a_signed_card_without_a_patient_is_refused_at_the_schema_step(pki, trust) -> None:
    header = {"alg": "ES256", "zip": "DEF", "kid": _kid(pki.dsc)}
    claims = {"iss": SHC_ISSUER, "nbf": int(ISSUED.timestamp()),
              "vc": {"type": [shc.VC_TYPES[0]], "credentialSubject": {"fhirBundle": {
                  "resourceType": "Bundle", "entry": [{"resource": {
                      "resourceType": "Immunization"}}]}}}}  # fmt: skip
    result = _refused(shc.numeric(_signed_jws(pki.dsc, header, claims)), trust,
                      "health_data_invalid")  # fmt: skip
    assert result.authentic
    assert result.failed_step == "schema"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"iss": "x", "nbf": NaN}', "claims_invalid"),
        (b'{"iss": "x", "iss": "y", "nbf": 1}', "claims_invalid"),
        (b"[" * 5000 + b"]" * 5000, "claims_invalid"),
        (b'{"nbf": 1' + b"0" * 5000 + b"}", "claims_invalid"),
        (b"\xff\xfe", "claims_invalid"),
        (b'{"iss": "x", "nbf": 1, "vc": {"rid": "not a rid!"}}', "claims_invalid"),
        (b" " * (70 * 1024), "payload_too_large"),
        (b'"' + b'\\"' * 30_000, "claims_invalid"),  # an unterminated string of escapes
        (b'{"a":' * 30 + b"1" + b"}" * 30, "claims_invalid"),  # deeper than 24
        (b"[" * 60_000 + b"]" * 60_000, "payload_too_large"),
        (b"[" * 30_000 + b"]" * 30_000, "claims_invalid"),
    ],
)
def test_hostile_payloads_signed_by_a_trusted_key_are_typed_refusals(
    pki, trust, payload, code
) -> None:
    header = {"alg": "ES256", "zip": "DEF", "kid": _kid(pki.dsc)}
    token = _signed_jws(pki.dsc, header, payload, raw=True)
    started = time.perf_counter()
    _refused(token if len(token) > 1195 else shc.numeric(token), trust, code)
    assert time.perf_counter() - started < 0.5  # linear work, whatever the shape


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_alg_none_and_other_algorithms_are_refused_before_any_key_is_sought(pki, trust) -> None:
    header, payload, _ = shc_verify_parts(_shc(pki.dsc))
    for alg in ("none", "HS256", "RS256", "ES384", None):
        fields = json.loads(_b64(header)) | {"alg": alg}
        forged = shc.b64url(json.dumps(fields).encode())
        result = _refused(shc.numeric(f"{forged}.{payload}."), trust, "unsupported_algorithm")
        assert result.failed_step == "jws"
        assert result.kid is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "prefix_invalid"),
        ("HTTPS://example.org", "prefix_invalid"),
        ("HC1:" + "A" * 9000, "input_too_large"),
        ("shc:/" + "56" * 5000, "input_too_large"),
        ("HC1:abc~", "base45_invalid"),
        ("HC1:%%%", "base45_invalid"),
        ("shc:/5676", "jws_malformed"),
        ("shc:/567", "numeric_invalid"),
        ("shc:/56a7", "numeric_invalid"),
        ("shc:/5699", "numeric_invalid"),
        ("shc:/56٣٣", "numeric_invalid"),
        ("shc:/1/2/5676", "jws_malformed"),
        ("shc:/", "numeric_invalid"),
    ],
)
def test_malformed_texts_are_typed_refusals(trust, text, code) -> None:
    _refused(text, trust, code)


@pytest.mark.parametrize("form", FORMS)
def test_a_truncated_code_is_a_typed_refusal(pki, trust, form) -> None:
    text = _issue(form, pki.dsc)
    for cut in (len(text) // 3, len(text) // 2, len(text) - 2, len(text) - 1):
        if form == "shc" and cut % 2:
            cut -= 1
        result = _result(text[:cut], trust)
        assert not result.valid
        assert result.failure is not None
        assert result.failure.code != "internal_error"


def test_a_non_canonical_signature_encoding_is_refused(pki, trust) -> None:
    """86 base64url characters hold 64 bytes and 4 spare bits: another last character naming
    the same bytes is not the signed text (strict decoding)."""
    header, payload, signature = shc_verify_parts(_shc(pki.dsc))
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(last) ^ 1]
    forged = shc.numeric(f"{header}.{payload}.{signature[:-1]}{sibling}")
    _refused(forged, trust, "jws_malformed")


def test_an_upper_case_prefix_from_a_phone_keyboard_is_read(pki, trust) -> None:
    text = _shc(pki.dsc)
    assert _result("SHC:/" + text[5:], trust).valid


def test_the_signed_trust_list_and_a_cose_only_source_as_health_card_key_sources(pki) -> None:
    """The trust list a verifier downloads knows the card's key by thumbprint too; a source
    that knows COSE kids only knows no card key (unknown_kid, not a fault)."""
    from vaxlink.certificates.keys.trustlist import TrustList

    listed = TrustList.from_certificates([pki.dsc.certificate])
    assert _result(_shc(pki.dsc), listed).valid

    class CoseOnly:
        def lookup(self, kid: bytes) -> list[x509.Certificate]:
            return [pki.dsc.certificate]

    _refused(_shc(pki.dsc), CoseOnly(), "unknown_kid")
    assert _result(_ddcc(pki.dsc), CoseOnly()).valid

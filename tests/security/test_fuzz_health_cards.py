"""Bounded fuzzing of the two further forms the verifier reads, on real signed ones: a SMART
Health Card (`shc:/` digits, the JWS text, its header, the DEFLATEd payload and the signed JSON
claims) and a WHO DDCC:VS (`HC1:`, hcert key 2: the COSE message and signed core data sets).
Whatever comes in, the answer is a result or a typed refusal (never `internal_error`), its JSON
form serialises, and nothing of a message whose signature did not hold is in it."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography import x509
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.certificates.signer_support import self_signed_dsc
from tests.security.fuzz_support import mutated
from vaxlink.certificates.core import cose, ddcc_qr, hc1, shc
from vaxlink.certificates.core.fhir import Coding, DdccVaccination
from vaxlink.certificates.core.shc_verify import verify_shc
from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.core.verify import Verified
from vaxlink.certificates.errors import CertificateError
from vaxlink.certificates.verification.result import verification_result

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
CLOCK = datetime(2022, 1, 1, tzinfo=UTC)
ISSUED = datetime(2021, 9, 2, tzinfo=UTC)
EXPIRES = datetime(2022, 9, 2, tzinfo=UTC)


SIGNER = self_signed_dsc("Health card fuzz DSC")
SIGNER_KEY: Any = x509.load_der_x509_certificate(SIGNER.certificate_der).public_key()
TRUST = InMemoryTrustList([x509.load_der_x509_certificate(SIGNER.certificate_der)])
REVOKED = InMemoryRevocationList(["URN:UVCI:01:VN:NOTTHISONE#A"])
UVCI = uvci_from_seed("fuzz-health-cards")
RECORD = DdccVaccination(
    name="Phạm Minh Châu", birth_date="1990-07-14", identifier="001090000001",
    identifier_system="urn:example:cccd",
    vaccine=Coding("http://id.who.int/icd11/mms", "XM0GQ8", "COVID-19 vaccine, RNA based"),
    brand=Coding("https://ec.europa.eu/health/documents/community-register/html/",
                 "EU/1/20/1528", "Comirnaty"),
    manufacturer=None, lot_number="FK1234", vaccination_date=ISSUED.date(), dose_number=2,
    total_doses=2, disease=Coding("http://snomed.info/sct", "840539006", "COVID-19"),
    country="VNM", centre="F001", issuer="Ministry of Health", certificate_id=UVCI,
    certificate_valid_from=ISSUED, certificate_valid_until=EXPIRES,
)  # fmt: skip
JWS = shc.sign_jws(shc.fhir_bundle(RECORD, family="Phạm", given="Minh Châu"), SIGNER,
                   issuer_url="https://vaxlink.example.vn", issued=ISSUED, expires=EXPIRES,
                   revocation_id="AAAAAAAAAAAA")  # fmt: skip
CARD = shc.numeric(JWS)
HEADER, PAYLOAD, SIGNATURE = JWS.split(".")
DDCC = ddcc_qr.sign_ddcc(RECORD, SIGNER, country="VN", issued=ISSUED, expires=EXPIRES)
DDCC_COSE = hc1.decode(DDCC)


def _check_refusal(refusal: CertificateError) -> None:
    assert refusal.code != "internal_error", refusal
    assert refusal.partial is not None
    if not refusal.partial.authentic:
        assert refusal.partial.payload is None  # no unsigned claim ever comes back
        assert refusal.partial.issued_at is None


def _answer(text: str) -> Verified | CertificateError:
    """What the verifier says about `text`; an exception other than a refusal fails the test."""
    answer: Verified | CertificateError
    try:
        if text[:5].lower() == "shc:/" or "." in text:
            answer = verify_shc(text, TRUST, clock=CLOCK, revocation=REVOKED)
        else:
            result = verification_result(text, TRUST, clock=CLOCK, revocation=REVOKED)
            answer = Verified(authentic=result.authentic, payload=result.payload)
            if not result.valid:
                assert result.failure is not None
                assert result.failure.code != "internal_error", result.failure
                if not result.authentic:
                    assert result.payload is None
                    assert result.fields == ()
    except CertificateError as refusal:
        answer = refusal
    if isinstance(answer, CertificateError):
        _check_refusal(answer)
    result = verification_result(text, TRUST, clock=CLOCK, revocation=REVOKED)
    document = json.dumps(result.to_dict())  # no bignum, NaN or shared structure breaks it
    assert len(document) < 96 * 1024
    if not result.authentic:
        assert result.payload is None
    return answer


def _deflated(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


def _signed(header: str, payload: bytes) -> str:
    body = shc.b64url(payload)
    signature = SIGNER.sign(f"{header}.{body}".encode("ascii"))
    return f"{header}.{body}.{shc.b64url(signature)}"


def _edited(draw: st.DrawFn, text: str, alphabet: list[str], start: int = 0) -> str:
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(start, max(len(chars) - 1, start)))
        if draw(st.booleans()) and at < len(chars):
            chars[at] = draw(st.sampled_from(alphabet))
        else:
            del chars[at : at + draw(st.integers(1, 3))]
    return "".join(chars)


DIGITS_OR_NOT = [*"0123456789", "/", "a", "٣", " ", "\0", ".", "é"]
B64_OR_NOT = [*"AZaz09-_", "=", "+", "/", ".", " ", "é", "\0"]


@st.composite
def _mutated_card(draw: st.DrawFn) -> str:
    return _edited(draw, CARD, DIGITS_OR_NOT)


@st.composite
def _mutated_jws(draw: st.DrawFn) -> str:
    return "shc:/" + "".join(f"{ord(c) - 45:02d}" if 45 <= ord(c) <= 122 else "99"
                             for c in _edited(draw, JWS, B64_OR_NOT))  # fmt: skip


@FUZZ
@given(_mutated_card())
def test_mutated_shc_digits(text: str) -> None:
    _answer(text)


@FUZZ
@given(_mutated_jws())
def test_mutated_jws_text(text: str) -> None:
    answer = _answer(text)
    if isinstance(answer, Verified):
        assert answer.payload is not None


HEADER_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=12),
    st.sampled_from(["ES256", "none", "HS256", "DEF", "RS256"]),
    st.lists(st.text(max_size=4), max_size=3),
)  # fmt: skip


@FUZZ
@given(st.dictionaries(st.sampled_from(["alg", "zip", "kid", "crit", "b64", "typ", "x5c"]),
                       HEADER_VALUES, max_size=5), st.booleans())  # fmt: skip
@example({"alg": "none", "zip": "DEF", "kid": shc.public_jwk(SIGNER_KEY)["kid"]}, True)
@example({"alg": "ES256", "zip": "DEF", "kid": shc.public_jwk(SIGNER_KEY)["kid"], "crit": []}, True)
def test_random_jws_headers(header: dict[str, Any], sign: bool) -> None:
    head = shc.b64url(json.dumps(header).encode())
    text = f"{head}.{PAYLOAD}.{SIGNATURE}"
    if sign:
        signature = SIGNER.sign(f"{head}.{PAYLOAD}".encode("ascii"))
        text = f"{head}.{PAYLOAD}.{shc.b64url(signature)}"
    answer = _answer(shc.numeric(text) if len(text) <= shc.MAX_SINGLE_JWS else text)
    if isinstance(answer, Verified):
        assert header.get("alg") == "ES256"


JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.integers(-(2**80), 2**80),
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)  # fmt: skip
TRUSTED_HEADER = HEADER


@FUZZ
@given(JSON_VALUES, st.sampled_from(["iss", "nbf", "exp", "vc", "rid", "whole"]))
@example(1e308, "nbf")
@example({"rid": "A" * 30}, "vc")
def test_random_claims_signed_by_a_trusted_key(value: Any, where: str) -> None:
    """Past the signature: the payload decoder and every later step meet damaged claims."""
    raw = base64.urlsafe_b64decode(PAYLOAD + "=" * (-len(PAYLOAD) % 4))
    claims: Any = json.loads(zlib.decompress(raw, -15))
    if where == "whole":
        claims = value
    elif where == "rid":
        claims["vc"]["rid"] = value
    else:
        claims[where] = value
    payload = _deflated(json.dumps(claims, ensure_ascii=False).encode())
    _answer(_signed(TRUSTED_HEADER, payload))


@FUZZ
@given(mutated(_deflated(json.dumps({"iss": "x", "nbf": 1}).encode()) + b"\0" * 8))
def test_mutated_deflate_streams_signed_by_a_trusted_key(stream: bytes) -> None:
    _answer(_signed(TRUSTED_HEADER, stream))


def test_numbers_past_what_json_or_a_date_holds_are_typed_refusals() -> None:
    """Python's int-from-text limit (4300 digits) and float overflow, in signed claims."""
    for claims in (b'{"iss": "x", "nbf": 1' + b"0" * 5000 + b"}", b'{"iss": "x", "nbf": 1e999}',
                   b'{"iss": "x", "nbf": -Infinity}'):  # fmt: skip
        answer = _answer(_signed(TRUSTED_HEADER, _deflated(claims)))
        assert isinstance(answer, CertificateError)
        assert answer.code == "claims_invalid"


@FUZZ
@given(mutated(DDCC_COSE))
def test_mutated_ddcc_cose_message(message: bytes) -> None:
    answer = _answer(hc1.PREFIX + hc1.b45encode(zlib.compress(message)))
    if message != DDCC_COSE and isinstance(answer, Verified) and answer.authentic:
        # only a change the signature does not cover (the unprotected header, encodings) passes
        assert cose.parse_sign1(message).payload == cose.parse_sign1(DDCC_COSE).payload


CBOR_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.text(max_size=8),
              st.binary(max_size=8), st.floats()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(CBOR_VALUES, st.sampled_from(["name", "birthDate", "vaccination", "certificate", "whole"]))
def test_random_ddcc_data_sets_signed_by_a_trusted_key(value: Any, where: str) -> None:
    data: Any = ddcc_qr.core_data_set(RECORD)
    if where == "whole":
        data = value
    else:
        data[where] = value
    claims = {1: "VN", 6: int(ISSUED.timestamp()), 4: int(EXPIRES.timestamp()), -260: {2: data}}
    _answer(hc1.encode(cose.sign1(cbor2.dumps(claims), SIGNER)))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_as_every_layer(data: bytes) -> None:
    digits = "".join(f"{b % 100:02d}" for b in data)
    _answer("shc:/" + digits)  # as the digits
    _answer(data.decode("latin-1"))  # as a JWS text
    _answer(_signed(TRUSTED_HEADER, data))  # as a payload a trusted key signed
    _answer(_signed(TRUSTED_HEADER, _deflated(data)))  # as the claims a trusted key signed

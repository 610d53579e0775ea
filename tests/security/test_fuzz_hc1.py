"""Bounded fuzzing of the HC1 verifier on a real signed certificate, mutated at each layer (text,
compressed bytes, COSE bytes, signed claims), and on random bytes: whatever comes in, the answer
is a result or a typed refusal (`CertificateError`, never `internal_error`), its JSON form
serialises, and nothing of a message whose signature did not hold is in it."""

from __future__ import annotations

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
from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.trust import InMemoryTrustList
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.core.verify import Verified, verify
from vaxlink.certificates.errors import CertificateError
from vaxlink.certificates.verification.result import verification_result

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
CLOCK = datetime(2022, 1, 1, tzinfo=UTC)


SIGNER = self_signed_dsc("HC1 fuzz DSC")
TRUST = InMemoryTrustList([x509.load_der_x509_certificate(SIGNER.certificate_der)])
REAL = issue(
    vaccination_payload(
        family_name="Phạm", given_name="Minh Châu", date_of_birth="1990-07-14",
        product="EU/1/20/1528", manufacturer="ORG-100030215", prophylaxis="1119349007",
        dose_number=2, total_doses=2, vaccination_date="2021-09-01",
        uvci=uvci_from_seed("fuzz-hc1"), issuer="Ministry of Health",
    ),
    SIGNER, issuer="VN", issued_at=datetime(2021, 9, 2, tzinfo=UTC),
)  # fmt: skip
COSE_BYTES = hc1.decode(REAL.hc1)
COMPRESSED = hc1.b45decode(REAL.hc1[len(hc1.PREFIX) :])
CLAIMS = cose.parse_sign1(COSE_BYTES).payload


def _check_refusal(refusal: CertificateError) -> None:
    assert refusal.code != "internal_error", refusal
    assert refusal.partial is not None
    if not refusal.partial.authentic:
        assert refusal.partial.payload is None  # no unsigned claim ever comes back
        assert refusal.partial.issued_at is None


def _answer(data: str | bytes) -> Verified | CertificateError:
    """What the verifier says about `data`; any exception other than a refusal fails the test."""
    answer: Verified | CertificateError
    try:
        answer = verify(data, TRUST, clock=CLOCK)
    except CertificateError as refusal:
        answer = refusal
    if isinstance(answer, CertificateError):
        _check_refusal(answer)
    else:
        assert answer.authentic
    result = verification_result(data, TRUST, clock=CLOCK)
    text = json.dumps(result.to_dict())  # no bignum, NaN or shared structure breaks the answer
    assert len(text) < 64 * 1024
    return answer


B45_OR_NOT = st.sampled_from([*hc1.ALPHABET, "a", "~", "\n", "é", "\0", "[", "/"])


@st.composite
def _mutated_text(draw: st.DrawFn) -> str:
    text = list(REAL.hc1)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text) - 1))
        if draw(st.booleans()):
            text[at] = draw(B45_OR_NOT)
        else:
            del text[at : at + draw(st.integers(1, 3))]
    return "".join(text)


@FUZZ
@given(_mutated_text())
def test_mutated_hc1_text(text: str) -> None:
    _answer(text)


@FUZZ
@given(mutated(COMPRESSED))
def test_mutated_zlib_stream(compressed: bytes) -> None:
    _answer(hc1.PREFIX + hc1.b45encode(compressed))


@FUZZ
@given(mutated(COSE_BYTES))
def test_mutated_cose_message(message: bytes) -> None:
    answer = _answer(hc1.PREFIX + hc1.b45encode(zlib.compress(message)))
    if message != COSE_BYTES and isinstance(answer, Verified):
        # only a change the signature does not cover (the unprotected header, encodings) passes
        assert cose.parse_sign1(message).payload == CLAIMS


@FUZZ
@given(mutated(CLAIMS))
def test_mutated_claims_signed_by_a_trusted_key(claims: bytes) -> None:
    """Past the signature: the claims decoder and every later step meet damaged claims."""
    _answer(hc1.encode(cose.sign1(claims, SIGNER)))


KEYS = st.one_of(st.integers(-300, 300), st.text(max_size=4))
CBOR_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
    st.binary(max_size=8), st.integers(0, 2**16).map(lambda n: cbor2.CBORTag(n, "x")),
    st.integers(-(2**80), 2**80), st.integers(10**4300, 10**4300 + 10**6),
)  # fmt: skip
CBOR_VALUES = st.recursive(
    CBOR_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=4),
        st.tuples(st.integers(0, 300), inner).map(lambda t: cbor2.CBORTag(*t)),
    ),
    max_leaves=12,
)


@FUZZ
@given(CBOR_VALUES, st.booleans())
@example({"v": [{"dn": 10**4300}]}, False)  # past Python's int-to-str limit
@example({"v": [[["A" * 16] * 2] * 2] * 2}, True)  # shared references
def test_random_cbor_claims_signed_by_a_trusted_key(value: Any, sharing: bool) -> None:
    claims = {1: "VN", 6: 1_630_540_800, 4: 1_662_076_800, -260: {1: value}}
    payload = cbor2.dumps(claims if value is not None else value, value_sharing=sharing)
    _answer(hc1.encode(cose.sign1(payload, SIGNER)))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _answer(data)  # as a COSE message
    _answer(hc1.encode(data))  # as the content of an HC1 text
    _answer(hc1.PREFIX + data.decode("latin-1"))  # as the text itself

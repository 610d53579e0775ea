"""Property tests: no input crashes the verifier, and each kind of bad input gets its own failure code."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.certificates.signer_support import self_signed_dsc

from vaxlink.certificates.core import hc1
from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList
from vaxlink.certificates.core.uvci import new_uvci, uvci_from_seed
from vaxlink.certificates.core.verify import Step, verify
from vaxlink.certificates.errors import CertificateError
from vaxlink.certificates.verification.result import VerificationResult, verification_result

ISSUED = datetime(2021, 9, 2, tzinfo=UTC)
CLOCK = datetime(2022, 1, 1, tzinfo=UTC)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


SIGNER = self_signed_dsc("fuzz DSC")
TRUST = InMemoryTrustList([x509.load_der_x509_certificate(SIGNER.certificate_der)])
PAYLOAD = vaccination_payload(
    family_name="Trần",
    given_name="Thị Bích",
    date_of_birth="1975-11",
    product="EU/1/21/1529",
    manufacturer="ORG-100001699",
    prophylaxis="29061000087103",
    dose_number=1,
    total_doses=2,
    vaccination_date="2021-08-20",
    uvci=uvci_from_seed("fuzz"),
    issuer="Ministry of Health of Viet Nam",
)
VALID = issue(PAYLOAD, SIGNER, issuer="VN", issued_at=ISSUED)
COSE = hc1.decode(VALID.hc1)
MESSAGE = cbor2.loads(COSE).value  # [protected, unprotected, payload, signature]
TRANSPORT = {"prefix_invalid", "input_too_large", "base45_invalid", "decompression_failed", "truncated",
             "payload_too_large"}  # fmt: skip
STRUCTURE = {"cbor_invalid", "cose_malformed", "claims_invalid"}


def _check(result: object, codes: set[str]) -> VerificationResult:
    assert isinstance(result, VerificationResult)
    assert not result.valid
    assert result.failure is not None
    assert result.failed_step is not None
    assert result.failure.code in codes, result.failure
    assert result.failure.message
    return result


def _hc1(cose_bytes: bytes) -> str:
    return hc1.encode(cose_bytes)


def _message(protected: bytes, unprotected: Any, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))


def test_the_reference_certificate_is_valid() -> None:
    assert verification_result(VALID.hc1, TRUST, clock=CLOCK).valid


@FUZZ
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        st.none(),
        st.integers(),
        st.lists(st.text()),
    )
)
def test_arbitrary_input_never_crashes(data: Any) -> None:
    result = verification_result(data, TRUST, clock=CLOCK)
    _check(result, TRANSPORT | STRUCTURE | {"decode_error", "unknown_kid"})


@FUZZ
@given(st.text(max_size=6), st.booleans())
def test_wrong_prefixes(prefix: str, keep_body: bool) -> None:
    text = prefix + (VALID.hc1[4:] if keep_body else "")
    if text.startswith("HC1:"):
        return
    result = _check(verification_result(text, TRUST, clock=CLOCK), {"prefix_invalid"})
    assert result.failed_step == Step.PREFIX


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID.hc1) - 5))
def test_truncated_codes(keep: int) -> None:
    body = VALID.hc1[4 : 4 + keep]
    result = verification_result("HC1:" + body, TRUST, clock=CLOCK)
    if len(body) % 3 == 1:  # a dangling character
        assert _check(result, {"base45_invalid"}).failed_step == Step.BASE45
    elif len(body) % 3 == 0:  # whole groups: a valid Base45 prefix of a cut zlib stream
        assert _check(result, {"truncated"}).failed_step == Step.DECOMPRESS
    else:  # a final pair may have been the start of a triple and overflow one byte
        _check(result, {"truncated", "base45_invalid"})


@FUZZ
@given(st.data())
def test_garbled_codes(data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=4, max_value=len(VALID.hc1) - 1))
    replacement = data.draw(
        st.sampled_from(hc1.ALPHABET + "abc#é\n").filter(lambda c: c != VALID.hc1[at])
    )
    text = VALID.hc1[:at] + replacement + VALID.hc1[at + 1 :]
    codes = {"base45_invalid", "decompression_failed", "truncated", "payload_too_large"}
    result = _check(verification_result(text, TRUST, clock=CLOCK), codes)
    if replacement not in hc1.ALPHABET:
        assert result.failure is not None
        assert result.failure.code == "base45_invalid"


@FUZZ
@given(st.integers(min_value=hc1.MAX_TEXT_LENGTH - 3, max_value=3 * hc1.MAX_TEXT_LENGTH))
def test_oversized_input(length: int) -> None:
    result = _check(
        verification_result("HC1:" + "0" * length, TRUST, clock=CLOCK), {"input_too_large"}
    )
    assert result.failed_step == Step.PREFIX
    _check(
        verification_result(b"\0" * (hc1.MAX_DECOMPRESSED + length), TRUST, clock=CLOCK),
        {"input_too_large"},
    )


@settings(max_examples=12, deadline=None)
@given(
    st.integers(min_value=hc1.MAX_DECOMPRESSED + 1, max_value=40 * hc1.MAX_DECOMPRESSED),
    st.binary(min_size=1, max_size=3),
)
def test_decompression_bombs(size: int, pattern: bytes) -> None:
    bomb = zlib.compress((pattern * (size // len(pattern) + 1))[:size], 9)
    result = _check(
        verification_result("HC1:" + hc1.b45encode(bomb), TRUST, clock=CLOCK), {"payload_too_large"}
    )
    assert result.failed_step == Step.DECOMPRESS


CBOR_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=12),
        st.binary(max_size=12),
    ),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.one_of(st.integers(-300, 300), st.text(max_size=4)), kids, max_size=4)
        | st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 18, 24, 61, 1004, 98]), kids)
    ),
    max_leaves=12,
)


@FUZZ
@given(CBOR_VALUES)
def test_cbor_of_the_wrong_shape(value: Any) -> None:
    _check(
        verification_result(_hc1(cbor2.dumps(value)), TRUST, clock=CLOCK),
        STRUCTURE | {"unknown_kid"},
    )


@FUZZ
@given(CBOR_VALUES, st.sampled_from(["protected", "unprotected", "claims", "hcert"]))
def test_cose_parts_of_the_wrong_shape(value: Any, where: str) -> None:
    protected, unprotected, payload, signature = MESSAGE
    if where == "protected":
        protected = cbor2.dumps(value)
    elif where == "unprotected":
        unprotected = value
    elif where == "claims":
        payload = cbor2.dumps(value)
    else:
        payload = cbor2.dumps({1: "VN", 6: 1630540800, 4: 1662076800, -260: {1: value}})
    result = verification_result(
        _message(protected, unprotected, payload, signature), TRUST, clock=CLOCK
    )
    if not result.valid:
        _check(result, STRUCTURE | {"unknown_kid", "signature_invalid", "unsupported_algorithm"})


@FUZZ
@given(st.binary(max_size=16))
def test_unknown_kid(kid: bytes) -> None:
    if kid == SIGNER.kid:
        return
    protected = cbor2.dumps({1: -7, 4: kid})
    result = verification_result(
        _message(protected, {}, MESSAGE[2], MESSAGE[3]), TRUST, clock=CLOCK
    )
    assert _check(result, {"unknown_kid"}).failed_step == Step.KID
    assert (result.payload, result.issuer_country, result.expires_at) == (None, None, None)
    assert (result.kid, result.authentic) == (kid, False)


@FUZZ
@given(st.integers(min_value=0, max_value=64 * 8 - 1))
def test_tampered_signatures(bit: int) -> None:
    signature = bytearray(MESSAGE[3])
    signature[bit // 8] ^= 1 << (bit % 8)
    result = verification_result(
        _message(MESSAGE[0], {}, MESSAGE[2], bytes(signature)), TRUST, clock=CLOCK
    )
    assert _check(result, {"signature_invalid"}).failed_step == Step.SIGNATURE


@FUZZ
@given(st.integers(min_value=0, max_value=8 * 64 - 1))
def test_tampered_payload_bytes(bit: int) -> None:
    payload = bytearray(MESSAGE[2])
    position = len(payload) - 1 - (bit // 8)  # the tail holds the DCC's strings
    payload[position] ^= 1 << (bit % 8)
    result = verification_result(
        _message(MESSAGE[0], {}, bytes(payload), MESSAGE[3]), TRUST, clock=CLOCK
    )
    _check(result, {"signature_invalid"} | STRUCTURE)


@FUZZ
@given(st.integers(min_value=-3 * 86400 * 365, max_value=3 * 86400 * 365))
def test_expired_and_not_yet_valid(offset: int) -> None:
    clock = ISSUED + timedelta(seconds=offset)
    result = verification_result(VALID.hc1, TRUST, clock=clock)
    if clock < VALID.iat:
        assert _check(result, {"not_yet_valid"}).failed_step == Step.TIME
    elif clock > VALID.exp:
        assert _check(result, {"expired"}).failed_step == Step.TIME
    else:
        assert result.valid


@FUZZ
@given(st.lists(st.one_of(st.just(VALID.uvci), st.builds(new_uvci)), max_size=5))
def test_revoked(revoked: list[str]) -> None:
    result = verification_result(
        VALID.hc1, TRUST, clock=CLOCK, revocation=InMemoryRevocationList(revoked)
    )
    if VALID.uvci in revoked:
        assert _check(result, {"revoked"}).failed_step == Step.REVOCATION
    else:
        assert result.valid


@FUZZ
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300),
        CBOR_VALUES.map(lambda v: _hc1(cbor2.dumps(v))),
        st.integers(min_value=0, max_value=len(VALID.hc1) - 1).map(lambda n: VALID.hc1[:n]),
    )
)
def test_verify_refuses_every_malformed_input_with_a_typed_error(data: Any) -> None:
    with pytest.raises(CertificateError) as refused:  # any other exception fails the test
        verify(data, TRUST, clock=CLOCK)
    assert refused.value.step in set(Step)
    assert refused.value.partial is not None
    assert not refused.value.partial.authentic


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=-(10**13), max_value=10**13)
    | st.integers(min_value=-253402300799, max_value=-62135596801)  # before year 1
)
def test_any_numeric_date_is_read_or_refused(instant: int) -> None:
    payload = cbor2.dumps({1: "VN", 6: instant, 4: instant + 1, -260: {1: PAYLOAD}})
    result = verification_result(_message(MESSAGE[0], {}, payload, MESSAGE[3]), TRUST, clock=CLOCK)
    _check(result, {"claims_invalid", "signature_invalid"})

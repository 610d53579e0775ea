"""The hand-sliced fast paths: ECDSA signatures between DER and raw r || s, COSE_Sign1 framing."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.certificates.core import cose
from vaxlink.certificates.core.cose import raw_to_der
from vaxlink.certificates.errors import DecodeError
from vaxlink.certificates.keys.pem import der_to_raw

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
scalars = st.one_of(
    st.integers(1, P256_ORDER - 1),
    st.integers(1, 2**64),  # short integers: leading zero bytes dropped in DER
    st.integers(2**255, P256_ORDER - 1),  # high bit set: DER adds a sign byte
)


def reference_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@settings(max_examples=300)
@given(scalars, scalars)
def test_der_and_raw_agree_with_the_library_codec(r: int, s: int) -> None:
    der = encode_dss_signature(r, s)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert der_to_raw(der, 32) == raw
    assert raw_to_der(raw) == der


def test_zero_halves_and_edge_lengths() -> None:
    for r, s in [(0, 0), (0, 1), (1, 0), (0x80, 0x7F), (2**256 - 1 - 2**200, 0xFF)]:
        der = encode_dss_signature(r, s)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert raw_to_der(raw) == der
        assert der_to_raw(der, 32) == raw


def test_real_signatures_round_trip_and_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for n in range(200):
        data = f"message {n}".encode()
        der = key.sign(data, ec.ECDSA(hashes.SHA256()))
        raw = der_to_raw(der, 32)
        assert raw == reference_raw(der)
        key.public_key().verify(raw_to_der(raw), data, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    "der",
    [
        b"\x30\x81\x06\x02\x01\x01\x02\x01\x02",  # long-form length (BER, not DER)
        b"\x30\x06\x02\x01\x01\x03\x01\x02",  # the second item is not an INTEGER
        b"\x30\x06\x02\x05\x01\x02\x01\x02",  # r runs into s
        b"\x30\x02\x02\x00",  # truncated
        b"",
    ],
)
def test_shapes_outside_the_short_form_go_to_the_full_decoder(der: bytes) -> None:
    with pytest.raises(ValueError, match=r"asn1|pars"):
        der_to_raw(der, 32)


@settings(max_examples=150)
@given(
    protected=st.fixed_dictionaries(
        {}, optional={1: st.sampled_from([-7, -37]), 4: st.binary(max_size=8)}
    ),
    payload_size=st.one_of(st.integers(0, 300), st.integers(65_530, 65_600)),  # 0-4 length bytes
    signature=st.binary(max_size=300),
    cut=st.integers(0, 40),
)
def test_the_sliced_sign1_shape_reads_as_the_cbor_decoder_does(
    protected: dict[int, object], payload_size: int, signature: bytes, cut: int
) -> None:
    payload = (bytes(range(256)) * 257)[:payload_size]
    header = cbor2.dumps(protected) if protected else b""
    message = cbor2.dumps(cbor2.CBORTag(18, [header, {}, payload, signature]))
    parsed = cose.parse_sign1(message)
    assert (parsed.protected_bytes, parsed.payload, parsed.signature) == (
        header,
        payload,
        signature,
    )
    assert dict(parsed.unprotected) == {}
    assert parsed.kid == protected.get(4)
    assert parsed.alg == protected.get(1)
    # damage goes to the decoder and fails there, with its own error
    for damaged in (message[: len(message) - 1 - cut], message + b"\x00"):
        with pytest.raises(DecodeError):
            cose.parse_sign1(damaged)

"""HC1 transport (prefix, Base45, zlib) and COSE/CWT codec: known answers, limits, shapes."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.errors import (
    Base45Invalid,
    CborInvalid,
    ClaimsInvalid,
    CoseMalformed,
    DecompressionFailed,
    InputTooLarge,
    PayloadTooLarge,
    PrefixInvalid,
    SignatureInvalid,
    Truncated,
    UnsupportedAlgorithm,
)

# RFC 9285, sections 4.3 and 4.4
RFC_9285 = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581")]


@pytest.mark.parametrize(("raw", "text"), RFC_9285)
def test_base45_rfc_9285_encoding(raw: bytes, text: str) -> None:
    assert hc1.b45encode(raw) == text
    assert hc1.b45decode(text) == raw


def test_base45_rfc_9285_decoding() -> None:
    assert hc1.b45decode("QED8WEX0") == b"ietf!"
    assert hc1.b45encode(b"") == ""
    assert hc1.b45decode("") == b""


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("GGW", "exceeds two bytes"),  # 65536: one more than two bytes hold (RFC 9285 section 6)
        (":::", "exceeds two bytes"),
        ("::", "exceeds one byte"),
        ("A", "dangling"),
        ("BB8A", "dangling"),
        ("bb8", "not in the Base45 alphabet"),
        ("BB8\n", "not in the Base45 alphabet"),
        ("ÄB8", "non-ASCII"),
    ],
)
def test_base45_refuses_invalid_text(text: str, why: str) -> None:
    with pytest.raises(Base45Invalid, match=why):
        hc1.b45decode(text)


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_base45_round_trip(data: bytes) -> None:
    assert hc1.b45decode(hc1.b45encode(data)) == data


def test_prefix() -> None:
    assert hc1.unprefix("HC1:ABC") == "ABC"
    for text in ("HC2:ABC", "hc1:ABC", "HL0:ABC", "ABC", ""):
        with pytest.raises(PrefixInvalid):
            hc1.unprefix(text)
    with pytest.raises(InputTooLarge):
        hc1.unprefix("HC1:" + "A" * hc1.MAX_TEXT_LENGTH)


def test_compression_uses_the_zlib_header_verifiers_sniff() -> None:
    packed = hc1.compress(b"x" * 300)
    assert packed[0] == 0x78  # 32 KiB window; some verifiers only inflate when they see 0x78
    assert zlib.decompress(packed) == b"x" * 300


def test_decompression_limits() -> None:
    bomb = zlib.compress(b"\0" * (hc1.MAX_DECOMPRESSED + 1), 9)
    assert len(bomb) < 200
    with pytest.raises(PayloadTooLarge):
        hc1.decompress(bomb)
    assert (
        hc1.decompress(zlib.compress(b"\0" * hc1.MAX_DECOMPRESSED)) == b"\0" * hc1.MAX_DECOMPRESSED
    )
    packed = zlib.compress(b"some cose bytes" * 10)
    with pytest.raises(Truncated):
        hc1.decompress(packed[:-6])
    with pytest.raises(DecompressionFailed, match="follow"):
        hc1.decompress(packed + b"\0")
    with pytest.raises(DecompressionFailed):
        hc1.decompress(b"\xd2\x84 not zlib")


def test_public_case_decodes_to_its_json(dcc_public: Path) -> None:
    case = json.loads((dcc_public / "common/2DCode/raw/CO3.json").read_text())
    raw = hc1.decode(case["PREFIX"])
    assert raw == bytes.fromhex(case["COSE"])
    message = cose.parse_sign1(raw)
    claims = cose.parse_claims(message.payload)
    assert claims.dcc == case["JSON"]
    assert (claims.iss, claims.iat, claims.exp) == ("AT", 1620064800.0, 1620237600.0)
    der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
    cose.verify_signature(message, x509.load_der_x509_certificate(der).public_key())
    tampered = cose.parse_sign1(raw.replace(b"Gabriele", b"Gabriela"))
    with pytest.raises(SignatureInvalid):
        cose.verify_signature(tampered, x509.load_der_x509_certificate(der).public_key())


def _message(
    *, protected: object = None, unprotected: object = None, payload: object = b""
) -> bytes:
    header = cbor2.dumps(protected) if protected is not None else b""
    return cbor2.dumps(cbor2.CBORTag(18, [header, unprotected or {}, payload, b"\0" * 64]))


def test_sign1_tags_and_header_precedence() -> None:
    inner = [cbor2.dumps({1: -7, 4: b"protkid"}), {4: b"unprotkid"}, b"", b"sig"]
    for data in (
        cbor2.dumps(cbor2.CBORTag(18, inner)),
        cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, inner))),  # CWT tag around COSE_Sign1
        cbor2.dumps(inner),  # untagged
    ):
        message = cose.parse_sign1(data)
        assert (message.kid, message.alg) == (b"protkid", -7)
    only_unprotected = cose.parse_sign1(_message(unprotected={1: -37, 4: b"k"}))
    assert (only_unprotected.kid, only_unprotected.alg, only_unprotected.protected) == (
        b"k",
        -37,
        {},
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", CborInvalid),
        (b"\xff", CborInvalid),
        (cbor2.dumps([b"", {}, b"", b""]) + b"\0", CborInvalid),  # stray bytes after the message
        (cbor2.dumps(0), CoseMalformed),
        (cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])), CoseMalformed),
        (cbor2.dumps([b"", {}, b""]), CoseMalformed),
        (cbor2.dumps(["", {}, b"", b""]), CoseMalformed),
        (cbor2.dumps([b"", [], b"", b""]), CoseMalformed),
        (cbor2.dumps([b"", {}, "payload", b""]), CoseMalformed),
        (cbor2.dumps([cbor2.dumps([1]), {}, b"", b""]), CoseMalformed),
        (cbor2.dumps([b"\xa1\x04", {}, b"", b""]), CborInvalid),
        (_message(protected={4: "text kid"}), CoseMalformed),
        (_message(protected={1: True}), CoseMalformed),
    ],
)
def test_sign1_shapes_are_checked(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        cose.parse_sign1(data)


def _claims(**changes: object) -> bytes:
    claims: dict[object, object] = {
        1: "VN",
        6: 1_600_000_000,
        4: 1_700_000_000,
        -260: {1: {"ver": "1.3.0"}},
    }
    for key, value in changes.items():
        number = {"iss": 1, "iat": 6, "exp": 4, "hcert": -260}[key]
        if value is None:
            del claims[number]
        else:
            claims[number] = value
    return cbor2.dumps(claims)


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": None},
        {"exp": None},
        {"iat": "1600000000"},
        {"exp": True},
        {"exp": float("inf")},
        {"exp": 10**30},
        {"iss": 840},
        {"hcert": None},
        {"hcert": {1: b"not a map"}},
        {"hcert": {2: {}}},
        {"hcert": {1: {1: "integer key"}}},
        {"hcert": {1: {"v": [b"bytes"]}}},
        {"hcert": {1: {"n": float("nan")}}},
    ],
)
def test_claims_shapes_are_checked(changes: dict[str, object]) -> None:
    with pytest.raises(ClaimsInvalid):
        cose.parse_claims(_claims(**changes))


def test_claims_accept_float_times_and_tagged_dates() -> None:
    dcc = {
        "t": [{"sc": cbor2.CBORTag(0, "2021-06-16T12:50:02+02:00")}],
        "d": cbor2.CBORTag(1004, "2021-06-16"),
    }
    claims = cose.parse_claims(_claims(iat=1621339504.5, hcert={1: dcc}))
    assert claims.iat == 1621339504.5
    assert claims.dcc == {"t": [{"sc": "2021-06-16T10:50:02Z"}], "d": "2021-06-16"}
    with pytest.raises(CborInvalid):
        cose.parse_claims(cbor2.dumps({1: cbor2.CBORTag(0, 5)}))


def test_signature_algorithm_must_fit_the_key() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    message = cose.parse_sign1(_message(protected={1: -7}))
    with pytest.raises(SignatureInvalid):
        cose.verify_signature(message, p256)
    with pytest.raises(UnsupportedAlgorithm):
        cose.verify_signature(message, p384)
    for alg in (-37, -35, "ES256", None):
        header = {1: alg} if alg is not None else {4: b"k"}
        with pytest.raises(UnsupportedAlgorithm):
            cose.verify_signature(cose.parse_sign1(_message(protected=header)), p256)
    short = cose.parse_sign1(cbor2.dumps([cbor2.dumps({1: -7}), {}, b"", b"\0" * 70]))
    with pytest.raises(SignatureInvalid, match="64 bytes"):
        cose.verify_signature(short, p256)


def test_dcc_from_cbor_takes_bare_or_claims() -> None:
    dcc = {"ver": "1.3.0"}
    assert cose.dcc_from_cbor(cbor2.dumps(dcc)) == dcc
    assert cose.dcc_from_cbor(_claims(hcert={1: dcc})) == dcc
    with pytest.raises(ClaimsInvalid):
        cose.dcc_from_cbor(cbor2.dumps([dcc]))


def test_dcc_in_claims_needs_only_the_hcert_claim() -> None:
    assert cose.dcc_in_claims(cbor2.dumps({-260: {1: {"ver": "1.3.0"}}})) == {"ver": "1.3.0"}
    for claims in ({-260: {1: b"x"}}, {-260: {}}, {1: "VN"}, ["not", "a", "map"]):
        with pytest.raises(ClaimsInvalid):
            cose.dcc_in_claims(cbor2.dumps(claims))


@settings(max_examples=80)
@given(st.binary(max_size=3000))
def test_compression_is_plain_zlib(data: bytes) -> None:
    packed = hc1.compress(data)
    assert zlib.decompress(packed) == data  # any zlib inflater reads it
    assert hc1.decompress(packed) == data
    assert packed[:2] == b"\x78\xda"
    assert len(packed) <= len(zlib.compress(data, 9)) + max(8, len(data) // 50)


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_hand_framed_cbor_matches_cbor2(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)

    class Fixed:
        kid, algorithm, certificate_der = b"K" * 8, -7, b""

        def sign(self, data: bytes) -> bytes:
            assert data == cbor2.dumps(
                ["Signature1", cbor2.dumps({1: -7, 4: b"K" * 8}), b"", payload]
            )
            return b"S" * 64

    message = cose.sign1(payload, Fixed())
    assert message == cbor2.dumps(
        cbor2.CBORTag(18, [cbor2.dumps({1: -7, 4: b"K" * 8}), {}, payload, b"S" * 64])
    )
    assert cose.sig_structure(b"p", payload) == cbor2.dumps(["Signature1", b"p", b"", payload])

"""The bounded CBOR decoder (`core.cbor`): what a DCC needs passes unchanged, each limit refuses."""

from __future__ import annotations

import contextlib
import datetime as dt
import tracemalloc
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.certificates.core import cbor
from vaxlink.certificates.errors import CborInvalid, InputTooLarge

CLAIMS = {
    1: "VN", 6: 1_630_540_800, 4: 1_662_076_800,
    -260: {1: {"ver": "1.3.0", "nam": {"fn": "Trần", "fnt": "TRAN"}, "dob": "1975-11",
               "v": [{"tg": "840539006", "dn": 1, "sd": 2, "dt": "2021-08-20", "x": 1.5,
                      "ok": True, "none": None}]}},
}  # fmt: skip


def _refused(data: bytes, limits: cbor.Limits = cbor.CLAIMS) -> str:
    with pytest.raises(CborInvalid) as refused:
        cbor.loads(data, limits, "test")
    return str(refused.value)


def test_dcc_claims_decode_as_cbor2_decodes_them() -> None:
    data = cbor2.dumps(CLAIMS)
    assert cbor.loads(data, cbor.CLAIMS, "claims") == cbor2.loads(data) == CLAIMS


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2021, 9, 2, 8, 30, tzinfo=dt.UTC),  # tag 0 or 1
        dt.date(2021, 9, 2),  # tag 1004 with date_as_datetime off
        2**64,  # tag 2, 9 bytes
        -(2**64) - 1,  # tag 3
    ],
)
def test_allowed_tags(value: Any) -> None:
    data = cbor2.dumps({"v": value})
    assert cbor.loads(data, cbor.CLAIMS, "claims") == cbor2.loads(data)


def test_indefinite_lengths_within_limits() -> None:
    data = bytes.fromhex("bf6176 9f 7f 6161 6162 ff ff ff")  # {_ "v": [_ (_ "a", "b")]}
    assert cbor.loads(data, cbor.CLAIMS, "claims") == {"v": ["ab"]}


#: The decoder's own refusals: every decode has them, the claims' too.
DECODER_REFUSALS = [
    (cbor2.dumps([[1], [1]], value_sharing=True), "tag 28"),
    (bytes.fromhex("82 d81c 81 01 d81d 00"), "tag 28"),  # [28([1]), 29(0)]
    (bytes.fromhex("81 d81d 00"), "tag 29"),
    (bytes.fromhex("d9 0100 82 6161 d8 19 00"), "tag 25"),  # string references
    (bytes.fromhex("c5 82 1b 7fffffffffffffff 01"), "tag 5"),  # bigfloat 2**(2**63)
    (bytes.fromhex("c4 82 01 01"), "tag 4"),
    (bytes.fromhex("d8 18 41 00"), "tag 24"),  # embedded CBOR
    (bytes.fromhex("d9 d9f7 00"), "tag 55799"),
    (bytes.fromhex("da 00010000 00"), "tag 65536"),
    (b"\xc2\x58\x11" + b"\x01" * 17, "bignum"),  # 17 bytes
    (b"\xc2\x59\x08\x00" + b"\x01" * 2048, "bignum"),  # past the str limit once printed
    (b"\xc2\x01", "bignum"),  # a bignum that is not a byte string
    (b"\x81" * 17 + b"\x00", "depth"),
    (bytes.fromhex("78 05 41"), "premature end"),
    (bytes.fromhex("9b 7fffffffffffffff 00"), "premature end"),  # 2**63 items declared
    (bytes.fromhex("5b 7fffffffffffffff 00"), "premature end"),
    (bytes.fromhex("01 02"), "stray bytes"),
    (bytes.fromhex("62 c328"), "not valid CBOR"),  # bad UTF-8
    (bytes.fromhex("c1 fb 7fefffffffffffff"), "not valid CBOR"),  # epoch past datetime
    (bytes.fromhex("a2 01 01 01 02"), "Duplicate map key"),  # two readers, two meanings
    (b"", "not valid CBOR"),
]
#: What the structural walk adds, for what is decoded before a signature holds.
SCAN_REFUSALS = [
    (b"\xc2\x5f\x41\x01\xff", "bignum"),  # an indefinite bignum
    (b"\x99\x10\x01" + b"\x00" * 4097, "more than 4096 items"),
    (b"\x59\x40\x01" + b"A" * 16385, "longer than allowed"),
    (b"\x7f\x79\x40\x01" + b"A" * 16385 + b"\xff", "longer than allowed"),
    (bytes.fromhex("a1 81 00 00"), "map key"),  # an array as a key
    (bytes.fromhex("a1 f9 3c00 00"), "map key"),  # a float as a key
    (bytes.fromhex("a1 c1 00 00"), "map key"),  # a tagged key
    (bytes.fromhex("a1 5f 41 00 ff 00"), "map key"),  # an indefinite string as a key
    (bytes.fromhex("f7"), "simple value"),  # undefined
    (bytes.fromhex("f0"), "simple value"),
    (bytes.fromhex("f8 ff"), "simple value"),
    (bytes.fromhex("9a ffffffff 00"), "claims more items"),
    (bytes.fromhex("7a ffffffff 41"), "longer than allowed"),
    (bytes.fromhex("83 01 01"), "claims more items"),
    (bytes.fromhex("ff"), "break"),
    (bytes.fromhex("82 01 ff"), "break"),
    (bytes.fromhex("bf 01 ff"), "after a key"),
    (bytes.fromhex("5f 61 61 ff"), "foreign chunk"),
    (bytes.fromhex("5f 5f ff ff"), "foreign chunk"),
    (bytes.fromhex("1c"), "malformed"),
    (bytes.fromhex("3f"), "malformed"),
    (bytes.fromhex("df 00"), "malformed"),
    (b"", "empty"),
]
#: The walk with the claims' tags, as the envelope and headers have it with theirs.
WALKED = cbor.Limits()


@pytest.mark.parametrize(("data", "why"), DECODER_REFUSALS)
def test_decoder_refusals(data: bytes, why: str) -> None:
    assert why in _refused(data)
    _refused(data, WALKED)  # refused with the walk too (which may say so first)


@pytest.mark.parametrize(("data", "why"), SCAN_REFUSALS)
def test_scan_refusals(data: bytes, why: str) -> None:
    assert why in _refused(data, WALKED)


def test_declared_lengths_allocate_nothing() -> None:
    """cbor2 6 reads as it goes: a declared 2**63-item array or string costs nothing."""
    tracemalloc.start()
    try:
        for head in ("9b", "bb", "5b", "7b"):
            _refused(bytes.fromhex(head + "7fffffffffffffff 00"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_the_list_of_cbor2_own_tags_is_current() -> None:
    """Every tag the installed cbor2 decodes by itself is in `CBOR2_TAGS` (so it is refused
    unless allowed): a tag it does not know reaches the tag hook."""
    unknown: set[int] = set()

    def hook(tag: cbor2.CBORTag, immutable: bool) -> None:
        unknown.add(tag.tag)

    for tag in [*range(0x10000), 0x10000, 2**32 - 1, 2**64 - 1]:
        with contextlib.suppress(Exception):
            cbor2.loads(cbor2.dumps(cbor2.CBORTag(tag, 0)), tag_hook=hook)
    known = {t for t in range(0x10000) if t not in unknown}
    assert known == set(cbor.CBOR2_TAGS)
    assert {0x10000, 2**32 - 1, 2**64 - 1} <= unknown


def test_total_size_is_capped_before_anything_is_read() -> None:
    with pytest.raises(InputTooLarge):
        cbor.loads(b"\x00" * (64 * 1024 + 1), cbor.CLAIMS, "claims")


def test_headers_and_envelopes_allow_their_own_tags_only() -> None:
    assert "tag 0" in _refused(
        cbor2.dumps({1: dt.datetime(2021, 1, 1, tzinfo=dt.UTC)}), cbor.HEADER
    )
    message = cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, [b"", {}, b"", b""])))
    assert cbor.loads(message, cbor.ENVELOPE, "message").value.tag == 18
    assert "tag 1004" in _refused(cbor2.dumps(dt.date(2021, 1, 1)), cbor.ENVELOPE)


PLAIN = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**64) + 1, 2**64 - 1), st.text(max_size=20),
        st.binary(max_size=20), st.floats(allow_nan=False),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers(-(2**63), 2**63)), inner, max_size=5),
    ),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=200, deadline=None, derandomize=True)
@given(PLAIN)
def test_plain_data_round_trips(value: Any) -> None:
    """Everything of the kinds a DCC holds decodes unchanged, unless nested past the limit."""
    data = cbor2.dumps(value)
    for limits in (cbor.CLAIMS, WALKED):
        if _depth(value) > limits.max_depth:
            _refused(data, limits)
        else:
            assert cbor.loads(data, limits, "value") == cbor2.loads(data)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=64))
def test_random_bytes_are_decoded_or_refused(data: bytes) -> None:
    for limits in (cbor.CLAIMS, WALKED, cbor.ENVELOPE, cbor.HEADER):
        with contextlib.suppress(CborInvalid):  # anything else fails the test
            cbor.loads(data, limits, "bytes")


@pytest.mark.parametrize("limits", [cbor.CLAIMS, WALKED])
def test_the_walk_and_cbor2_count_depth_alike(limits: cbor.Limits) -> None:
    nested = b"\x81" * 16 + b"\x00"
    assert cbor.loads(nested, limits, "nested") == cbor2.loads(nested)
    _refused(b"\x81" + nested, limits)
    tagged = b"\x81" * 15 + b"\xc2\x41\x01"  # a tag is a level to both
    assert cbor.loads(tagged, limits, "tagged") == cbor2.loads(tagged)
    _refused(b"\x81" + tagged, limits)

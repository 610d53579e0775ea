"""UVCI: Luhn mod 38 check characters from the eHN guidance and real certificates, generation, parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.certificates.core.uvci import (
    CHARSET,
    check_character,
    is_valid_uvci,
    make_uvci,
    new_uvci,
    parse_uvci,
    uvci_from_seed,
)
from vaxlink.certificates.errors import UvciInvalid

# UVCIs issued by other implementations (AT, DK, FR, SE in the EU test data): their check
# characters were computed independently of vaxlink.
ISSUED_ELSEWHERE = [
    "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
    "URN:UVCI:01:AT:858CC18CFCF5965EF82F60E493349AA5#K",
    "URN:UVCI:01:DK:0EF88044F7935DF2B4A938A38C14C97C#C",
    "URN:UVCI:01:DK:F573106A0A315AB8A7F7016329C30550#2",
    "URN:UVCI:01:FR:476R6WUM8B9U#0",
    "URN:UVCI:01:FR:6P7F35VYGB99#D",
]
OPAQUE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=40)


def test_faq_example_check_character() -> None:
    # eHN DCC schema FAQ, "UVCI checksum": URN:UVCI:01:NL:187/37512422923 -> Z
    assert check_character("URN:UVCI:01:NL:187/37512422923") == "Z"
    assert is_valid_uvci("URN:UVCI:01:NL:187/37512422923#Z")


def test_code_points_are_the_ehn_order() -> None:
    assert CHARSET == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
    assert len(CHARSET) == 38


@pytest.mark.parametrize("uvci", ISSUED_ELSEWHERE)
def test_check_characters_of_certificates_issued_elsewhere(uvci: str) -> None:
    body, _, check = uvci.partition("#")
    assert check_character(body) == check
    assert parse_uvci(uvci).checksum == check


def test_wrong_check_character_is_refused() -> None:
    with pytest.raises(UvciInvalid, match="Luhn"):
        parse_uvci("URN:UVCI:01:NL:187/37512422923#A")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "URN:UVCI:01:NL:",
        "urn:uvci:01:nl:187/37512422923#Z",
        "01:NL:187/37512422923#Z",
        "URN:UVCI:1:NL:187#Z",
        "URN:UVCI:01:NL:187#ZZ",
        "URN:UVCI:01:NL:1 87#Z",
        "URN:UVCI:01:NL:" + "A" * 80 + "#Z",
    ],
)
def test_malformed_uvcis_are_refused(text: str) -> None:
    assert not is_valid_uvci(text)


def test_checksum_can_be_optional() -> None:
    assert parse_uvci("URN:UVCI:01:NL:187/37512422923", require_checksum=False).checksum is None
    assert not is_valid_uvci("URN:UVCI:01:NL:187/37512422923")


def test_seeded_uvcis_are_deterministic_and_keyed() -> None:
    first, again = uvci_from_seed("dose-42"), uvci_from_seed("dose-42")
    assert first == again
    assert uvci_from_seed("dose-43") != first
    assert uvci_from_seed("dose-42", key=b"secret") != first
    assert uvci_from_seed("dose-42", key=b"secret") == uvci_from_seed("dose-42", key=b"secret")
    assert first.startswith("URN:UVCI:01:VN:")
    assert is_valid_uvci(first)
    # 20-character opaque id: the UVCI without "URN:UVCI:" is 28 characters (eHN aims at 27-30)
    assert len(first.removeprefix("URN:UVCI:")) == 28


def test_random_uvcis_are_valid_and_distinct() -> None:
    made = {new_uvci() for _ in range(200)}
    assert len(made) == 200
    assert all(is_valid_uvci(u) for u in made)


def test_make_uvci_refuses_bad_parts() -> None:
    with pytest.raises(UvciInvalid):
        make_uvci("abc")
    with pytest.raises(UvciInvalid):
        make_uvci("ABC", country="VNM")


@settings(max_examples=60)
@given(OPAQUE)
def test_made_uvcis_parse_back(opaque: str) -> None:
    uvci = make_uvci(opaque)
    parsed = parse_uvci(uvci)
    assert (parsed.version, parsed.country, parsed.opaque) == ("01", "VN", opaque)
    assert str(parsed) == uvci


@settings(max_examples=60)
@given(OPAQUE, st.data())
def test_any_single_character_change_is_detected(opaque: str, data: st.DataObject) -> None:
    uvci = make_uvci(opaque)
    body = uvci.partition("#")[0]
    at = data.draw(st.integers(min_value=len("URN:UVCI:01:VN:"), max_value=len(body) - 1))
    replacement = data.draw(st.sampled_from([c for c in CHARSET[:36] if c != body[at]]))
    changed = body[:at] + replacement + body[at + 1 :] + uvci[len(body) :]
    assert not is_valid_uvci(changed)

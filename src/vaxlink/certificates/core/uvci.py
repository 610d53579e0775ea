"""Unique vaccination certificate identifiers (UVCI) per eHN guidelines, Annex 2: make and check.

Format: ``URN:UVCI:01:VN:<opaque id>#<check character>``. The check character is Luhn mod N over
the whole identifier before ``#`` (prefix included), with the eHN code-point order
``ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:`` (N = 38; ``#`` only separates the check character).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

from vaxlink.certificates.errors import UvciInvalid

PREFIX: Final = "URN:UVCI:"
VERSION: Final = "01"
#: Code points of the Luhn mod N check, in the order fixed by the eHN schema FAQ.
CHARSET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
_N: Final = len(CHARSET)
_CODE: Final = {ch: i for i, ch in enumerate(CHARSET)}
_DOUBLED: Final = {ch: 2 * i // _N + 2 * i % _N for i, ch in enumerate(CHARSET)}
#: Opaque ids we generate: 20 base32 characters = 100 bits, so the whole UVCI stays near the
#: 27-30 characters the guideline aims for (without the URN prefix).
OPAQUE_LENGTH: Final = 20
_MAX_LENGTH: Final = 72
_SHAPE: Final = re.compile(r"URN:UVCI:(\d\d):([A-Z]{2,5}):([A-Z0-9/:]+?)(?:#(.))?")
_OPAQUE: Final = re.compile(r"[A-Z0-9]+(?:/[A-Z0-9]+)*")
_SEED_DOMAIN: Final = b"vaxlink-uvci-v1\x00"


@dataclass(frozen=True, slots=True)
class Uvci:
    """The parts of a parsed UVCI."""

    version: str
    country: str
    opaque: str
    checksum: str | None

    def __str__(self) -> str:
        body = f"{PREFIX}{self.version}:{self.country}:{self.opaque}"
        return f"{body}#{self.checksum}" if self.checksum else body


def check_character(body: str) -> str:
    """Luhn mod N check character for `body` (everything before ``#``).

    From the right, code points are weighted 2, 1, 2, …; each product's base-N digits are summed.
    """
    if not set(body) <= _CODE.keys():
        bad = sorted(set(body) - _CODE.keys())[0]
        raise UvciInvalid(f"character {bad!r} is not allowed in a UVCI")
    total = sum(map(_DOUBLED.__getitem__, body[::-1][::2])) + sum(
        map(_CODE.__getitem__, body[-2::-2])
    )
    return CHARSET[(_N - total % _N) % _N]


def make_uvci(opaque: str, *, country: str = "VN") -> str:
    """A complete UVCI with check character for the given opaque id."""
    if not _OPAQUE.fullmatch(opaque):
        raise UvciInvalid(f"opaque id {opaque!r} must be A-Z/0-9 blocks separated by '/'")
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise UvciInvalid(f"country {country!r} must be an ISO 3166-1 alpha-2 code")
    body = f"{PREFIX}{VERSION}:{country}:{opaque}"
    uvci = f"{body}#{check_character(body)}"
    if len(uvci) > _MAX_LENGTH:
        raise UvciInvalid(f"UVCI would be {len(uvci)} characters, more than {_MAX_LENGTH}")
    return uvci


def _opaque_from(digest: bytes) -> str:
    return base64.b32encode(digest).decode("ascii")[:OPAQUE_LENGTH]


def uvci_from_seed(seed: str, *, key: bytes | None = None, country: str = "VN") -> str:
    """The UVCI for `seed` (e.g. a dose-record id): the same seed always gives the same UVCI.

    With `key` the opaque id is an HMAC, so outsiders cannot derive UVCIs from guessable seeds;
    production issuance should pass a secret key.
    """
    data = seed.encode("utf-8")
    if key is None:
        digest = hashlib.sha256(_SEED_DOMAIN + data).digest()
    else:
        digest = hmac.new(key, _SEED_DOMAIN + data, hashlib.sha256).digest()
    return make_uvci(_opaque_from(digest), country=country)


def new_uvci(*, country: str = "VN") -> str:
    """A fresh random UVCI (100 bits of randomness)."""
    return make_uvci(_opaque_from(secrets.token_bytes(16)), country=country)


def parse_uvci(text: str, *, require_checksum: bool = True) -> Uvci:
    """Split and check a UVCI; raises `UvciInvalid` on bad syntax or a wrong check character."""
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        raise UvciInvalid("a UVCI is a string of at most 72 characters")
    match = _SHAPE.fullmatch(text)
    if match is None:
        raise UvciInvalid(f"{text!r} is not of the form URN:UVCI:01:CC:<id>#<check>")
    version, country, opaque, checksum = match.groups()
    if checksum is None:
        if require_checksum:
            raise UvciInvalid(f"{text!r} has no '#' check character")
    elif check_character(text.partition("#")[0]) != checksum:
        raise UvciInvalid(f"{text!r} fails its Luhn mod 38 check")
    return Uvci(version, country, opaque, checksum)


def is_valid_uvci(text: str, *, require_checksum: bool = True) -> bool:
    """Whether `text` is a well-formed UVCI with a correct check character."""
    try:
        parse_uvci(text, require_checksum=require_checksum)
    except UvciInvalid:
        return False
    return True

"""The HC1 transport: COSE bytes -> zlib -> Base45 (RFC 9285) -> ``HC1:`` text, and back with limits.

Private to the certificates package: callers use `issue` and `verify`.
"""

from __future__ import annotations

import zlib
from typing import Final

import deflate
import numpy as np

from vaxlink.certificates.errors import (
    Base45Invalid,
    DecompressionFailed,
    InputTooLarge,
    PayloadTooLarge,
    PrefixInvalid,
    Truncated,
)

PREFIX: Final = "HC1:"
#: A version-40 QR code holds at most 4296 alphanumeric characters; twice that is surely not a DCC.
MAX_TEXT_LENGTH: Final = 8192
#: Real DCC COSE messages are well under 2 KiB; anything inflating past this is refused.
MAX_DECOMPRESSED: Final = 64 * 1024
#: libdeflate level. On real DCC COSE messages (~350 bytes, a third of them a random signature)
#: levels 4-9 give the output size of zlib's level 9 in the same time, 2.7x faster than zlib
#: (docs/certificates.md, "Compression"); 9 keeps the header 0x78 0xDA verifiers have seen.
ZLIB_LEVEL: Final = 9
ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID: Final = 0xFF
_VALUES: Final = bytes(
    ALPHABET.index(chr(b)) if chr(b) in ALPHABET else _INVALID for b in range(256)
)
_CHARS: Final = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_WEIGHTS: Final = np.array([1, 45, 2025], dtype=np.uint32)
_N: Final = np.arange(65536, dtype=np.uint32)
#: The three Base45 characters of every two-byte group (192 KiB), so encoding is one table lookup.
_TRIPLES: Final = _CHARS[np.stack([_N % 45, _N // 45 % 45, _N // 2025], axis=1)].view("S3").ravel()


def b45encode(data: bytes) -> str:
    """Base45-encode `data` (RFC 9285 section 4); vectorised, as it is on the issuing hot path."""
    pairs = np.frombuffer(data, dtype=">u2", count=len(data) // 2)
    text: str = _TRIPLES[pairs].tobytes().decode("ascii")
    if len(data) % 2:
        last = data[-1]
        text += ALPHABET[last % 45] + ALPHABET[last // 45]
    return text


def b45decode(text: str) -> bytes:
    """Base45-decode `text`; raises `Base45Invalid` on foreign characters, bad length or overflow."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InputTooLarge(f"the text is {len(text)} characters, more than any QR code holds")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise Base45Invalid("Base45 text contains non-ASCII characters") from None
    values = raw.translate(_VALUES)
    if _INVALID in values:
        bad = chr(raw[values.index(_INVALID)])
        raise Base45Invalid(f"character {bad!r} is not in the Base45 alphabet")
    if len(values) % 3 == 1:
        raise Base45Invalid("Base45 text length leaves a dangling character")
    end = len(values) - len(values) % 3
    groups = np.frombuffer(values, dtype=np.uint8, count=end).reshape(-1, 3) @ _WEIGHTS
    if groups.size and groups.max() > 0xFFFF:
        at = int(np.argmax(groups > 0xFFFF)) * 3
        raise Base45Invalid(f"Base45 group {text[at : at + 3]!r} exceeds two bytes")
    out = groups.astype(">u2").tobytes()
    if end != len(values):
        n = values[end] + values[end + 1] * 45
        if n > 0xFF:
            raise Base45Invalid(f"Base45 group {text[end:]!r} exceeds one byte")
        out += bytes([n])
    return out


def compress(data: bytes) -> bytes:
    """zlib (RFC 1950) by libdeflate at `ZLIB_LEVEL`: header 0x78 0xDA, any inflater reads it.

    libdeflate rather than zlib: on a few hundred bytes zlib spends ~20 us (as long as a
    signature takes on a busy core), libdeflate ~8 us for output of the same size.
    """
    return bytes(deflate.zlib_compress(data, ZLIB_LEVEL))


def decompress(data: bytes, *, limit: int = MAX_DECOMPRESSED, raw: bool = False) -> bytes:
    """Inflate a zlib stream (`raw`: a raw DEFLATE stream, RFC 1951, as a SMART Health Card's
    `zip: DEF`), refusing to produce more than `limit` bytes (decompression bombs), a cut-off
    stream and bytes after its end."""
    kind = "raw DEFLATE" if raw else "zlib"
    inflater = zlib.decompressobj(-15 if raw else 15)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DecompressionFailed(f"not a valid {kind} stream: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"the payload inflates to more than {limit} bytes")
    if not inflater.eof:
        raise Truncated(f"the {kind} stream ends before its end marker: the code is cut off")
    if inflater.unused_data:
        raise DecompressionFailed(f"bytes follow the end of the {kind} stream")
    return out


def encode(cose: bytes) -> str:
    """COSE message -> ``HC1:`` text for the QR code."""
    return PREFIX + b45encode(compress(cose))


def unprefix(text: str) -> str:
    """The Base45 part of an ``HC1:`` text; raises on a missing or different context identifier."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InputTooLarge(f"the text is {len(text)} characters, more than any QR code holds")
    if not text.startswith(PREFIX):
        head = text[:4]
        raise PrefixInvalid(f"expected the context identifier 'HC1:', found {head!r}")
    return text[len(PREFIX) :]


def decode(text: str) -> bytes:
    """``HC1:`` text -> COSE bytes, each step bounded and failing with its own error."""
    return decompress(b45decode(unprefix(text)))

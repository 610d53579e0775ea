"""Bounded CBOR decoding for untrusted certificate bytes: cbor2 configured to refuse, and a
structural pre-scan for what is decoded before any signature is checked.

cbor2 decodes everything it knows, including shared references (tags 28/29: a few hundred bytes
that expand exponentially once copied or serialised), string references (25/256), bigfloats (5:
a number with a 2**64 exponent) and bignums of any size. Every decode here goes through a decoder
whose semantic decoders refuse each tag cbor2 knows but the allowed ones, whose tag hook refuses
unknown tags, whose bignums (2/3) are at most a few bytes, with a depth limit, no duplicate map
keys, and input of a bounded size (cbor2 6 reads declared lengths as it goes, allocating nothing
for a length the input does not hold). Where `Limits.scan` is set (the COSE envelope and its
headers, decoded before the signature is checked), `scan` first walks the bytes once, without
building values, and also refuses more items or longer strings than allowed, map keys other than
integers and strings (no hash-collision or unhashable keys), simple values other than
false/true/null, malformed or trailing bytes. The claims, decoded once their signature held, skip
that walk (it would double the cost of a verification) and are checked where they are read.
Each refusal is a `CborInvalid` (or `InputTooLarge` for the total size).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Final

import cbor2

from vaxlink.certificates.errors import CborInvalid, InputTooLarge

#: Tags of a COSE envelope: CWT (61) and the COSE message types (RFC 9052: 16-18, 96-98), so
#: that a message of another COSE type is named as such; cbor2 leaves them as plain `CBORTag`s.
ENVELOPE_TAGS: Final = frozenset({16, 17, 18, 61, 96, 97, 98})
#: Tags a DCC's claims may carry: date-times (0, 1), dates (1004, 100), small bignums (2, 3).
CLAIM_TAGS: Final = frozenset({0, 1, 2, 3, 100, 1004})


@dataclass(frozen=True, slots=True)
class Limits:
    """What one CBOR item may hold. The defaults fit a DCC with room to spare (real ones are
    ~300 bytes of claims, about 40 items, nested 4 deep)."""

    max_bytes: int = 64 * 1024
    max_depth: int = 16
    max_items: int = 4096
    max_string: int = 16 * 1024
    #: Bignum magnitude in bytes: 16 bytes is 128 bits (39 digits), more than any claim needs.
    max_bignum_bytes: int = 16
    tags: frozenset[int] = CLAIM_TAGS
    #: Walk the bytes first (`scan`): item, string, key and simple-value checks.
    scan: bool = True


#: The envelope: tags, the array, the unprotected header and what it may hold (e.g. an x5chain).
ENVELOPE: Final = Limits(max_depth=8, max_items=256, max_string=64 * 1024, tags=ENVELOPE_TAGS)
HEADER: Final = Limits(max_bytes=1024, max_depth=4, max_items=64, max_string=256, tags=frozenset())
#: The claims of a message whose signature held (and of test vectors): no structural walk.
CLAIMS: Final = Limits(scan=False)
#: The tags cbor2 decodes by itself (probed on cbor2 6.3; `tests/certificates/test_cbor_limits.py`
#: probes the installed cbor2 again, so an upgrade that adds one fails there first).
CBOR2_TAGS: Final = frozenset(
    {0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 43000,
     55799}
)  # fmt: skip

_BIGNUMS: Final = frozenset({2, 3})
_SIMPLE_OK: Final = frozenset({20, 21, 22})  # false, true, null
_FLOATS: Final = frozenset({25, 26, 27})
_KEY_MAJORS: Final = frozenset({0, 1, 2, 3})
_INDEFINITE: Final = -1
# Frame kinds of the walk. A frame is [items still to come (or _INDEFINITE), kind, extra]: for a
# map, extra counts the items read (even: a key comes next); for a tag, its number; for the
# chunks of an indefinite-length string, the string's major type.
_ARRAY, _MAP, _TAG, _CHUNKS = 0, 1, 2, 3


def _small_bignum(major: int, arg: int | None, limits: Limits) -> bool:
    """Whether the item under a bignum tag is a definite byte string of a bounded length."""
    return major == 2 and arg is not None and arg <= limits.max_bignum_bytes


class _Scan:
    """One walk over the bytes, without recursion; raises `CborInvalid` at what it refuses."""

    __slots__ = ("data", "end", "items", "limits", "pos", "stack")

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data, self.end, self.limits = data, len(data), limits
        self.pos = self.items = 0
        self.stack: list[list[int]] = []

    def _take(self, size: int) -> int:
        start = self.pos
        if size > self.end - start:
            raise CborInvalid("the CBOR data ends in the middle of an item")
        self.pos = start + size
        return start

    def _head(self) -> tuple[int, int, int | None]:
        """(major type, additional info, argument or None when indefinite) of the next item."""
        initial = self.data[self._take(1)]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info
        if info <= 27:
            width = 1 << (info - 24)
            start = self._take(width)
            return major, info, int.from_bytes(self.data[start : start + width], "big")
        if info == 31 and major in (2, 3, 4, 5, 7):
            return major, info, None
        raise CborInvalid(f"CBOR initial byte 0x{initial:02x} is malformed")

    def _count(self) -> None:
        self.items += 1
        if self.items > self.limits.max_items:
            raise CborInvalid(f"the CBOR data holds more than {self.limits.max_items} items")

    def _string(self, size: int) -> None:
        if size > self.limits.max_string:
            raise CborInvalid(f"a CBOR string of {size} bytes is longer than allowed here")
        self._take(size)

    def _push(self, remaining: int, kind: int, extra: int) -> bool:
        self.stack.append([remaining, kind, extra])
        if len(self.stack) > self.limits.max_depth:
            raise CborInvalid(f"the CBOR data is nested deeper than {self.limits.max_depth}")
        return False

    def _completed(self) -> bool:
        """Account one finished item to the containers above it; True once the root is done."""
        stack = self.stack
        while stack:
            frame = stack[-1]
            if frame[1] == _MAP:
                frame[2] += 1
            if frame[0] == _INDEFINITE:
                return False
            frame[0] -= 1
            if frame[0]:
                return False
            stack.pop()
        return True

    def _break(self) -> bool:
        stack = self.stack
        if not stack or stack[-1][0] != _INDEFINITE:
            raise CborInvalid("a CBOR break stands outside an indefinite-length item")
        if stack[-1][1] == _MAP and stack[-1][2] % 2:
            raise CborInvalid("an indefinite-length CBOR map ends after a key")
        stack.pop()
        return self._completed()

    def _item(self) -> bool:
        """Read one head; True once the root item is complete."""
        stack = self.stack
        top = stack[-1] if stack else None
        major, info, arg = self._head()
        if major == 7 and arg is None:
            return self._break()
        self._count()
        if top is not None and top[1] == _CHUNKS:
            if major != top[2] or arg is None:
                raise CborInvalid("an indefinite-length CBOR string holds a foreign chunk")
            self._string(arg)
            return False
        if top is not None:
            if top[1] == _MAP and top[2] % 2 == 0 and (major not in _KEY_MAJORS or arg is None):
                raise CborInvalid("a CBOR map key is neither an integer nor a string")
            if top[1] == _TAG and top[2] in _BIGNUMS and not _small_bignum(major, arg, self.limits):
                raise CborInvalid("a CBOR bignum is larger than any value here needs")
        if major in (2, 3):
            if arg is None:
                return self._push(_INDEFINITE, _CHUNKS, major)
            self._string(arg)
        elif major in (4, 5):
            if arg is None:
                return self._push(_INDEFINITE, _MAP if major == 5 else _ARRAY, 0)
            size = arg * 2 if major == 5 else arg
            if size > self.end - self.pos:  # each item takes a byte at least
                raise CborInvalid("a CBOR container claims more items than the data holds")
            if size:
                return self._push(size, _MAP if major == 5 else _ARRAY, 0)
        elif major == 6:
            assert arg is not None
            if arg not in self.limits.tags:
                raise CborInvalid(f"CBOR tag {arg} is not allowed here")
            return self._push(1, _TAG, arg)
        elif major == 7 and info not in _FLOATS and arg not in _SIMPLE_OK:
            raise CborInvalid("a CBOR simple value other than false, true or null")
        return self._completed()

    def run(self) -> None:
        while not self._item():
            pass


def scan(data: bytes, limits: Limits) -> None:
    """Check that `data` is exactly one CBOR item within `limits`; raises `CborInvalid`."""
    if len(data) > limits.max_bytes:
        raise InputTooLarge(f"{len(data)} bytes of CBOR are more than any certificate holds")
    if not data:
        raise CborInvalid("the CBOR data is empty")
    walk = _Scan(data, limits)
    walk.run()
    if walk.pos != len(data):
        raise CborInvalid(f"{len(data) - walk.pos} stray bytes follow the CBOR item")


class _Refused(Exception):
    """Raised inside cbor2's callbacks; cbor2 wraps it, `loads` reports its message."""


def _refuse_tag(value: Any, immutable: bool, *, tag: int) -> Any:
    raise _Refused(f"CBOR tag {tag} is not allowed here")


def _bignum(value: Any, immutable: bool, *, limit: int, negative: bool) -> int:
    if not isinstance(value, bytes) or len(value) > limit:
        raise _Refused("a CBOR bignum is larger than any value here needs")
    number = int.from_bytes(value, "big")
    return -1 - number if negative else number


@lru_cache(maxsize=8)
def _semantic_decoders(limits: Limits) -> dict[int, Any]:
    """cbor2's own tags: refused unless allowed; bignums (when allowed) with a size limit."""
    decoders: dict[int, Any] = {
        tag: partial(_refuse_tag, tag=tag) for tag in CBOR2_TAGS - limits.tags
    }
    for tag in _BIGNUMS & limits.tags:
        decoders[tag] = partial(_bignum, limit=limits.max_bignum_bytes, negative=tag == 3)
    return decoders


@lru_cache(maxsize=8)
def _tag_hook(limits: Limits) -> Callable[[cbor2.CBORTag, bool], Any]:
    """Tags cbor2 does not know: kept as `CBORTag` when allowed (COSE's), refused otherwise."""

    def hook(tag: cbor2.CBORTag, immutable: bool) -> Any:
        if tag.tag not in limits.tags:
            raise _Refused(f"CBOR tag {tag.tag} is not allowed here")
        return tag

    return hook


def loads(data: bytes, limits: Limits, what: str) -> Any:
    """Decode exactly one CBOR item from untrusted bytes, within `limits`."""
    if len(data) > limits.max_bytes:
        raise InputTooLarge(f"the {what} is {len(data)} bytes, more than any certificate holds")
    if limits.scan:
        try:
            scan(data, limits)
        except CborInvalid as exc:
            raise CborInvalid(f"{what}: {exc}") from None
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            stream,
            tag_hook=_tag_hook(limits),
            semantic_decoders=_semantic_decoders(limits),
            max_depth=limits.max_depth,
            allow_duplicate_keys=False,
        )
        item = decoder.decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        reason = exc.__cause__ if isinstance(exc.__cause__, _Refused) else exc
        raise CborInvalid(f"{what} is not valid CBOR: {reason}") from None
    if stream.tell() != len(data):
        raise CborInvalid(f"{len(data) - stream.tell()} stray bytes follow the {what}")
    return item

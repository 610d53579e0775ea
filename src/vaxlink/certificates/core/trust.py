"""Where a verifier finds trusted DSCs and revocations: the two ports, and in-memory lists."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final, Protocol

from cryptography import x509

from vaxlink.certificates.core.dsc import certificate_kid


class TrustSource(Protocol):
    """Where the verifier finds the document-signer certificates (DSC) for a key id."""

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """All trusted DSCs whose kid is `kid` (kids may collide)."""
        ...


class InMemoryTrustList:
    """A `TrustSource` held in memory: kid -> DSCs (fed by tests or a verified trust list)."""

    def __init__(self, certificates: Iterable[x509.Certificate] = ()) -> None:
        self._by_kid: dict[bytes, list[x509.Certificate]] = {}
        for certificate in certificates:
            self.add(certificate)

    def add(self, certificate: x509.Certificate) -> bytes:
        """Trust `certificate`; returns its kid."""
        kid = certificate_kid(certificate)
        bucket = self._by_kid.setdefault(kid, [])
        if certificate not in bucket:
            bucket.append(certificate)
        return kid

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """The trusted DSCs for `kid`."""
        return list(self._by_kid.get(kid, ()))


class RevocationSource(Protocol):
    """Answers whether a certificate identifier (UVCI) has been revoked."""

    def is_revoked(self, uvci: str) -> bool:
        """True when `uvci` is revoked."""
        ...


def uvci_hash(uvci: str) -> bytes:
    """SHA-256 of the UTF-8 UVCI: the EU revocation hash type UCI (lists keep the first 16 bytes)."""
    return hashlib.sha256(uvci.encode("utf-8")).digest()


class InMemoryRevocationList:
    """A `RevocationSource` of UCI hashes, truncated to 128 bits as the EU gateway distributes them."""

    HASH_BYTES: Final = 16

    def __init__(self, uvcis: Iterable[str] = (), *, hashes: Iterable[bytes] = ()) -> None:
        self._hashes = {h[: self.HASH_BYTES] for h in hashes}
        for uvci in uvcis:
            self.revoke(uvci)

    def revoke(self, uvci: str) -> None:
        """Add `uvci` to the list."""
        self._hashes.add(uvci_hash(uvci)[: self.HASH_BYTES])

    def is_revoked(self, uvci: str) -> bool:
        """True when the hash of `uvci` is on the list."""
        return uvci_hash(uvci)[: self.HASH_BYTES] in self._hashes

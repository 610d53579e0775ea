"""Where a verifier finds trusted DSCs and revocations: the two ports, and in-memory lists."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from vaxlink.certificates.core.dsc import certificate_kid
from vaxlink.certificates.core.shc import RID_BYTES, jwk_kid


class TrustSource(Protocol):
    """Where the verifier finds the document-signer certificates (DSC) for a key id."""

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """All trusted DSCs whose kid is `kid` (kids may collide)."""
        ...


@runtime_checkable
class JwkTrustSource(Protocol):
    """Where the verifier finds the DSCs whose P-256 key has a SMART Health Card `kid` (the
    key's RFC 7638 thumbprint, as `/.well-known/jwks.json` publishes it)."""

    def jwk_lookup(self, kid: str) -> list[x509.Certificate]:
        """All trusted DSCs whose public key's JWK thumbprint is `kid`."""
        ...


def certificate_jwk_kid(certificate: x509.Certificate) -> str | None:
    """The SHC kid of a certificate's key; None unless it is a P-256 key."""
    try:
        return jwk_kid(certificate.public_key())
    except (ValueError, UnsupportedAlgorithm):  # a key cryptography cannot load signs no card
        return None


def jwk_index(certificates: Iterable[x509.Certificate]) -> dict[str, list[x509.Certificate]]:
    """JWK thumbprint -> the certificates with that P-256 key (others have no SHC kid)."""
    index: dict[str, list[x509.Certificate]] = {}
    for certificate in certificates:
        kid = certificate_jwk_kid(certificate)
        if kid is not None and certificate not in index.setdefault(kid, []):
            index[kid].append(certificate)
    return index


class InMemoryTrustList:
    """A `TrustSource` held in memory: kid -> DSCs (fed by tests or a verified trust list); also
    a `JwkTrustSource` (JWK thumbprint -> DSCs) for SMART Health Cards."""

    def __init__(self, certificates: Iterable[x509.Certificate] = ()) -> None:
        self._by_kid: dict[bytes, list[x509.Certificate]] = {}
        self._by_jwk: dict[str, list[x509.Certificate]] = {}
        for certificate in certificates:
            self.add(certificate)

    def add(self, certificate: x509.Certificate) -> bytes:
        """Trust `certificate`; returns its kid."""
        kid = certificate_kid(certificate)
        bucket = self._by_kid.setdefault(kid, [])
        if certificate not in bucket:
            bucket.append(certificate)
        thumbprint = certificate_jwk_kid(certificate)
        if thumbprint is not None:
            keyed = self._by_jwk.setdefault(thumbprint, [])
            if certificate not in keyed:
                keyed.append(certificate)
        return kid

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """The trusted DSCs for `kid`."""
        return list(self._by_kid.get(kid, ()))

    def jwk_lookup(self, kid: str) -> list[x509.Certificate]:
        """The trusted DSCs whose key's JWK thumbprint is `kid`."""
        return list(self._by_jwk.get(kid, ()))


class RevocationSource(Protocol):
    """Answers whether a certificate identifier (UVCI) has been revoked."""

    def is_revoked(self, uvci: str) -> bool:
        """True when `uvci` is revoked."""
        ...


@runtime_checkable
class RidRevocationSource(Protocol):
    """Answers whether a SMART Health Card's revocation id (`rid`: base64url of the first bytes
    of its certificate's UVCI hash, `shc.rid`) has been revoked."""

    def is_rid_revoked(self, rid: bytes) -> bool:
        """True when a revoked UVCI's SHA-256 starts with `rid` (the decoded bytes)."""
        ...


def uvci_hash(uvci: str) -> bytes:
    """SHA-256 of the UTF-8 UVCI: the EU revocation hash type UCI (lists keep the first 16 bytes)."""
    return hashlib.sha256(uvci.encode("utf-8")).digest()


class InMemoryRevocationList:
    """A `RevocationSource` of UCI hashes, truncated to 128 bits as the EU gateway distributes them."""

    HASH_BYTES: Final = 16

    def __init__(self, uvcis: Iterable[str] = (), *, hashes: Iterable[bytes] = ()) -> None:
        self._hashes = {h[: self.HASH_BYTES] for h in hashes}
        self._rids = {h[:RID_BYTES] for h in self._hashes}
        for uvci in uvcis:
            self.revoke(uvci)

    def revoke(self, uvci: str) -> None:
        """Add `uvci` to the list."""
        digest = uvci_hash(uvci)[: self.HASH_BYTES]
        self._hashes.add(digest)
        self._rids.add(digest[:RID_BYTES])

    def is_revoked(self, uvci: str) -> bool:
        """True when the hash of `uvci` is on the list."""
        return uvci_hash(uvci)[: self.HASH_BYTES] in self._hashes

    def is_rid_revoked(self, rid: bytes) -> bool:
        """True when a hash on the list starts with the SHC revocation id `rid` (vaxlink's are
        `shc.RID_BYTES` long; another length is compared with each hash)."""
        if len(rid) == RID_BYTES:
            return rid in self._rids
        prefix = rid[: self.HASH_BYTES]
        return bool(prefix) and any(h.startswith(prefix) for h in self._hashes)

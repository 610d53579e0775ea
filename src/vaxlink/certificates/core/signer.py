"""The Signer port: who holds the private key (a PEM file or a PKCS#11 token) is an adapter's business."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

#: COSE algorithm identifiers (RFC 9053) used by EU DCC.
ES256 = -7
PS256 = -37


@runtime_checkable
class Signer(Protocol):
    """Signs bytes for COSE_Sign1 with a key that may never leave its token."""

    @property
    def kid(self) -> bytes:
        """First 8 bytes of the SHA-256 of the DER-encoded signing certificate (EU DCC key id)."""
        ...

    @property
    def algorithm(self) -> int:
        """COSE algorithm id: ES256 (-7) or PS256 (-37)."""
        ...

    @property
    def certificate_der(self) -> bytes:
        """The DER-encoded X.509 certificate that verifies this signer's signatures."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Signature over `data` in COSE form: raw r||s (64 bytes) for ES256, PSS bytes for PS256."""
        ...

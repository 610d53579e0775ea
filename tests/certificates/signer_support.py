"""A self-signed P-256 DSC held in memory (PEM signer), for tests that sign and verify without a
key hierarchy: the fuzz tests of the three QR forms."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vaxlink.certificates.keys.pem import PemSigner


def self_signed_dsc(common_name: str) -> PemSigner:
    """A fresh P-256 key and its self-signed certificate, valid 2021-2031."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2021, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return PemSigner(key, certificate)

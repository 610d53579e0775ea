"""The development `Signer`: a private key and its DSC from PEM, signing ES256 (raw r||s) or PS256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from vaxlink.certificates.core.signer import ES256, PS256
from vaxlink.certificates.errors import SignerError

_PUBLIC = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_ECDSA = ec.ECDSA(hashes.SHA256())


def der_to_raw(der: bytes, half: int) -> bytes:
    """An ECDSA signature, DER ``SEQUENCE {INTEGER r, INTEGER s}``, as COSE's fixed-size r || s.

    Sliced by hand when every length is one byte (always, for P-256): a quarter of the time of
    decoding to integers and back, on every certificate issued. Other shapes go to the full decoder.
    """
    size = len(der)
    r_len = der[3] if size > 3 else size
    s_at = 4 + r_len
    if (
        size < 8
        or der[0] != 0x30
        or der[1] != size - 2
        or der[2] != 0x02
        or s_at + 2 > size
        or der[s_at] != 0x02
        or s_at + 2 + der[s_at + 1] != size
    ):
        r, s = decode_dss_signature(der)
        return r.to_bytes(half, "big") + s.to_bytes(half, "big")
    r_bytes = der[4:s_at].rjust(half, b"\0")[-half:]  # drop the sign byte, pad short integers
    s_bytes = der[s_at + 2 :].rjust(half, b"\0")[-half:]
    return r_bytes + s_bytes


class PemSigner:
    """Signs with an in-memory key; for development and tests (production keys live in an HSM)."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        certificate: x509.Certificate,
    ) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            if not isinstance(private_key.curve, ec.SECP256R1):
                raise SignerError(f"ES256 needs a P-256 key, not {private_key.curve.name}")
            self._algorithm = ES256
        elif isinstance(private_key, rsa.RSAPrivateKey):
            if private_key.key_size < 2048:
                raise SignerError("PS256 needs an RSA key of at least 2048 bits")
            self._algorithm = PS256
        else:
            raise SignerError(f"unsupported key type {type(private_key).__name__}")
        if private_key.public_key().public_bytes(*_PUBLIC) != certificate.public_key().public_bytes(
            *_PUBLIC
        ):
            raise SignerError("the certificate is not for this private key")
        self._key = private_key
        self._ec_key = private_key if isinstance(private_key, ec.EllipticCurvePrivateKey) else None
        self._certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self._kid = hashlib.sha256(self._certificate_der).digest()[:8]
        self._half = (private_key.key_size + 7) // 8

    @classmethod
    def from_pem(
        cls, key_pem: bytes, certificate_pem: bytes, *, password: bytes | None = None
    ) -> PemSigner:
        """Load the key and certificate from PEM bytes."""
        try:
            key = serialization.load_pem_private_key(key_pem, password=password)
            certificate = x509.load_pem_x509_certificate(certificate_pem)
        except (ValueError, TypeError) as exc:
            raise SignerError(f"cannot read the PEM key or certificate: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SignerError(f"unsupported key type {type(key).__name__}")
        return cls(key, certificate)

    @classmethod
    def from_files(
        cls, key_path: Path, certificate_path: Path, *, password: bytes | None = None
    ) -> PemSigner:
        """Load the key and certificate from PEM files."""
        try:
            key_pem, cert_pem = Path(key_path).read_bytes(), Path(certificate_path).read_bytes()
        except OSError as exc:
            raise SignerError(f"cannot read {exc.filename}: {exc.strerror}") from exc
        return cls.from_pem(key_pem, cert_pem, password=password)

    @property
    def kid(self) -> bytes:
        """First 8 bytes of the SHA-256 of the DER certificate."""
        return self._kid

    @property
    def algorithm(self) -> int:
        """ES256 (-7) for P-256 keys, PS256 (-37) for RSA keys."""
        return self._algorithm

    @property
    def certificate_der(self) -> bytes:
        """The DER-encoded signing certificate."""
        return self._certificate_der

    def sign(self, data: bytes) -> bytes:
        """COSE signature over `data`: raw r||s (64 bytes) for ES256, PSS bytes for PS256."""
        if self._ec_key is not None:
            return der_to_raw(self._ec_key.sign(data, _ECDSA), self._half)
        assert isinstance(self._key, rsa.RSAPrivateKey)  # the constructor allows only EC and RSA
        return self._key.sign(data, _PSS, hashes.SHA256())

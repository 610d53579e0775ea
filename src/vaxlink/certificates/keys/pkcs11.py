"""The PKCS#11 adapter of the `Signer` port: the DSC private key is generated on, and never
leaves, an HSM token (SoftHSM2 in tests, the issuer's HSM in production).

ECDSA is CKM_ECDSA over a SHA-256 digest computed on the host: SoftHSM2 offers no
CKM_ECDSA_SHA256, and hashing outside the token is what most HSMs expect anyway.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pkcs11
from asn1crypto import csr as asn1_csr  # a dependency of python-pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)

from vaxlink.certificates.core.signer import ES256
from vaxlink.certificates.errors import HsmError, HsmPinIncorrect
from vaxlink.certificates.keys.hierarchy import kid

#: Where Debian's softhsm2 package puts the PKCS#11 module.
SOFTHSM2_LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class TokenKey:
    """Where a signing key lives: PKCS#11 module, token label, user PIN and key label."""

    library: Path
    token_label: str
    pin: str
    key_label: str

    def __repr__(self) -> str:  # never print the PIN
        return (
            f"TokenKey(library={str(self.library)!r}, token_label={self.token_label!r}, "
            f"key_label={self.key_label!r})"
        )


def _lib(path: Path) -> Any:
    if not Path(path).exists():
        raise HsmError(
            f"PKCS#11 module {path} not found: install the HSM vendor's module "
            "(for tests, the Debian package softhsm2)"
        )
    try:
        return pkcs11.lib(str(path))
    except (PKCS11Error, RuntimeError, OSError) as exc:
        raise HsmError(f"cannot load PKCS#11 module {path}: {exc}") from exc


@contextmanager
def _session(key: TokenKey, *, rw: bool = False) -> Iterator[pkcs11.Session]:
    try:
        token = _lib(key.library).get_token(token_label=key.token_label)
        with token.open(rw=rw, user_pin=key.pin) as session:
            yield session
    except pkcs11.exceptions.NoSuchToken as exc:
        raise HsmError(f"no token labelled {key.token_label!r} in {key.library}") from exc
    except (pkcs11.exceptions.PinIncorrect, pkcs11.exceptions.PinLenRange) as exc:
        raise HsmPinIncorrect(f"wrong PIN for token {key.token_label!r}") from exc
    except PKCS11Error as exc:
        raise HsmError(f"token {key.token_label!r}: {type(exc).__name__} {exc}") from exc


def _find(session: pkcs11.Session, object_class: ObjectClass, label: str) -> list[Any]:
    return list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))


def _public_key(obj: Any) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(encode_ec_public_key(obj))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise HsmError("the token's public key is not an EC key")
    return key


def generate_key(key: TokenKey) -> ec.EllipticCurvePublicKey:
    """Generate a P-256 key pair on the token (private half sensitive and non-extractable)."""
    with _session(key, rw=True) as session:
        if _find(session, ObjectClass.PRIVATE_KEY, key.key_label):
            raise HsmError(f"token {key.token_label!r} already has a key {key.key_label!r}")
        params = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        public, _ = params.generate_keypair(
            store=True,
            label=key.key_label,
            public_template={Attribute.VERIFY: True},
            private_template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
                Attribute.PRIVATE: True,
            },
        )
        return _public_key(public)


def public_key(key: TokenKey) -> ec.EllipticCurvePublicKey:
    """The public half of the key pair on the token."""
    with _session(key) as session:
        found = _find(session, ObjectClass.PUBLIC_KEY, key.key_label)
        if len(found) != 1:
            raise HsmError(f"expected one public key {key.key_label!r}, found {len(found)}")
        return _public_key(found[0])


def _sign_digest(private: Any, data: bytes) -> bytes:
    signature = bytes(private.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))
    if len(signature) != 64:
        raise HsmError(f"expected a 64-byte P-256 signature from the token, got {len(signature)}")
    return signature


def _private(session: pkcs11.Session, key: TokenKey) -> Any:
    found = _find(session, ObjectClass.PRIVATE_KEY, key.key_label)
    if len(found) != 1:
        raise HsmError(
            f"expected one private key {key.key_label!r} on token {key.token_label!r}, "
            f"found {len(found)}"
        )
    return found[0]


def certificate_request(key: TokenKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for the token's key, signed on the token, for the offline CSCA."""
    spki = public_key(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(spki),
            "attributes": [],
        }
    )
    with _session(key) as session:
        raw = _sign_digest(_private(session, key), info.dump())
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": encode_ecdsa_signature(raw),
        }
    )
    return x509.load_der_x509_csr(request.dump())


def store_certificate(key: TokenKey, certificate: x509.Certificate) -> None:
    """Put the DSC on the token beside its key (same label), replacing an older one."""
    if certificate.public_key() != public_key(key):
        raise HsmError("the certificate is not for the key on the token")
    der = certificate.public_bytes(serialization.Encoding.DER)
    with _session(key, rw=True) as session:
        for old in _find(session, ObjectClass.CERTIFICATE, key.key_label):
            old.destroy()
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: key.key_label,
                Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.ISSUER: certificate.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: certificate.serial_number.to_bytes(20, "big").lstrip(
                    b"\0"
                ),
                Attribute.VALUE: der,
            }
        )


def load_certificate(key: TokenKey) -> x509.Certificate:
    """The DSC stored on the token under the key's label."""
    with _session(key) as session:
        found = _find(session, ObjectClass.CERTIFICATE, key.key_label)
        if len(found) != 1:
            raise HsmError(
                f"expected one certificate {key.key_label!r} on token {key.token_label!r}, "
                f"found {len(found)}"
            )
        return x509.load_der_x509_certificate(bytes(found[0][Attribute.VALUE]))


class Pkcs11Signer:
    """`Signer` whose ES256 key stays on a PKCS#11 token; keeps one logged-in session open."""

    def __init__(self, key: TokenKey, certificate: x509.Certificate | None = None) -> None:
        cert = certificate if certificate is not None else load_certificate(key)
        if cert.public_key() != public_key(key):
            raise HsmError("the certificate does not match the key on the token")
        self._key = key
        self._der = cert.public_bytes(serialization.Encoding.DER)
        self._kid = kid(cert)
        self._lock = threading.Lock()
        self._context = _session(key)
        self._session: pkcs11.Session | None = self._context.__enter__()
        try:
            self._private = _private(self._session, key)
        except BaseException:
            self.close()
            raise

    @property
    def kid(self) -> bytes:
        """EU DCC key id of the DSC."""
        return self._kid

    @property
    def algorithm(self) -> int:
        """Always ES256 (-7): the token key is P-256."""
        return ES256

    @property
    def certificate_der(self) -> bytes:
        """The DER-encoded DSC."""
        return self._der

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 over SHA-256(data), as raw r||s (64 bytes)."""
        with self._lock:
            if self._session is None:
                raise HsmError("the PKCS#11 signer is closed")
            try:
                return _sign_digest(self._private, data)
            except PKCS11Error as exc:
                raise HsmError(f"token refused to sign: {type(exc).__name__} {exc}") from exc

    def close(self) -> None:
        """Log out and close the session."""
        with self._lock:
            if self._session is not None:
                self._session = None
                self._context.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class TokenSigner:
    """`Signer` on a token that logs in for each signature and keeps no session open: for keys
    used now and then with a person's PIN, such as a site's approval key on its approver's token.
    Constructing it logs in once (a wrong PIN raises HsmPinIncorrect) and checks the key."""

    def __init__(self, key: TokenKey, certificate: x509.Certificate) -> None:
        if certificate.public_key() != public_key(key):
            raise HsmError("the certificate does not match the key on the token")
        self._key = key
        self._der = certificate.public_bytes(serialization.Encoding.DER)
        self._kid = kid(certificate)

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def algorithm(self) -> int:
        return ES256

    @property
    def certificate_der(self) -> bytes:
        return self._der

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 over SHA-256(data), as raw r||s, in a session of its own."""
        with _session(self._key) as session:
            try:
                return _sign_digest(_private(session, self._key), data)
            except PKCS11Error as exc:
                raise HsmError(f"token refused to sign: {type(exc).__name__} {exc}") from exc

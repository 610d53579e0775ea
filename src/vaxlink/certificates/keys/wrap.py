"""A private key wrapped for one person: AES-256-GCM under a key derived from their passphrase.

A facility's approval key is kept only in this form, once per approver account that holds it
(`KeyStore.save_facility`): the key-encryption key is scrypt(passphrase, salt) with a cost of
about 0.1 s and 32 MiB per try, the associated data binds the wrap to its key id and account (a
wrap renamed to another account does not open), and GCM's tag tells a wrong passphrase from a
right one without ever holding the plain key on disk.

The file is a small JSON text (`vaxlink-wrap/1`); the scrypt parameters it was made with are
kept in it, so they can be raised later without breaking older wraps.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vaxlink.certificates.errors import KeyManagementError, SigningPassphraseWrong

VERSION: Final = "vaxlink-wrap/1"
#: scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s), the interactive-login profile.
SCRYPT_N: Final = 2**15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
#: Highest N a wrap may ask for (a planted file must not make unlocking cost gigabytes).
MAX_SCRYPT_N: Final = 2**20


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kek(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(key_id: bytes, holder: str) -> bytes:
    return f"{VERSION}|{key_id.hex()}|{holder}".encode()


def wrap(
    private_key: ec.EllipticCurvePrivateKey, passphrase: str, *, key_id: bytes, holder: str
) -> bytes:
    """The wrap file's bytes: `private_key` (PKCS#8 DER) sealed for `holder` under `passphrase`."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = _kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(kek).encrypt(nonce, der, _aad(key_id, holder))
    document = {
        "v": VERSION,
        "kid": key_id.hex(),
        "holder": holder,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "sealed": _b64(sealed),
    }
    return (json.dumps(document, indent=1) + "\n").encode("ascii")


def unwrap(
    data: bytes, passphrase: str, *, key_id: bytes, holder: str
) -> ec.EllipticCurvePrivateKey:
    """The private key in a wrap file, opened with `holder`'s passphrase.

    Raises SigningPassphraseWrong for a wrong passphrase (or a wrap of another key or account),
    KeyManagementError for a file that is not a wrap."""
    try:
        doc: dict[str, Any] = json.loads(data)
        kdf = doc["kdf"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(doc["nonce"], validate=True)
        sealed = base64.b64decode(doc["sealed"], validate=True)
        if doc["v"] != VERSION or kdf["name"] != "scrypt":
            raise ValueError(f"unknown wrap format {doc['v']!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyManagementError(f"not a vaxlink key wrap: {exc}") from exc
    if not (2 <= n <= MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16):
        raise KeyManagementError("the key wrap asks for out-of-range scrypt parameters")
    try:
        der = AESGCM(_kek(passphrase, salt, n, r, p)).decrypt(nonce, sealed, _aad(key_id, holder))
    except InvalidTag:
        raise SigningPassphraseWrong(
            "Sai mật khẩu ký / wrong signing passphrase (the approval key was not unlocked)"
        ) from None
    key = serialization.load_der_private_key(der, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyManagementError("the wrapped key is not an EC private key")
    return key

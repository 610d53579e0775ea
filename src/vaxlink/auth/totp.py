"""Time-based one-time codes (RFC 6238, 30 s, 6 digits) as a second factor.

A code is accepted in the current step or one step either side (clock drift), and never twice:
the last accepted step is kept on the account.

Secrets are stored encrypted (AES-256-GCM, a fresh nonce each, bound to the account's id): the
column holds base64url(nonce || ciphertext || tag) of the secret's 20 raw bytes, 64 characters.
The key is `VAXLINK_TOTP_KEY` (base64url of 32 bytes); without it (development) a key file
`totp.key` is generated in the data directory, readable by its owner only, with a warning.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import os
import secrets
from pathlib import Path
from typing import Final

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaxlink.auth.models import User
from vaxlink.auth.roles import SECOND_FACTOR_ROLES
from vaxlink.settings import Settings

ISSUER: Final = "vaxlink"
STEP: Final = 30
KEY_FILE: Final = "totp.key"
_NONCE: Final = 12
_log = logging.getLogger(__name__)
_KEYS: dict[str, bytes] = {}


class TotpKeyError(ValueError):
    """The configured TOTP key is unusable (not base64url of 32 bytes)."""


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TotpKeyError(f"{where} is not base64url text") from exc
    if len(key) != 32:
        raise TotpKeyError(f"{where} must hold 32 bytes (base64url), not {len(key)}")
    return key


def new_key_text() -> str:
    """A fresh key as `VAXLINK_TOTP_KEY` takes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def key_of(settings: Settings) -> bytes:
    """The key that encrypts TOTP secrets: `VAXLINK_TOTP_KEY`, else the development key file."""
    if settings.totp_key is not None:
        return _decode_key(settings.totp_key.get_secret_value(), "VAXLINK_TOTP_KEY")
    path = (Path(settings.data_dir) / KEY_FILE).resolve()
    cached = _KEYS.get(str(path))
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = _decode_key(path.read_text(), str(path))
    else:
        text = new_key_text()
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        key = _decode_key(text, str(path))
        _log.warning(
            "VAXLINK_TOTP_KEY is not set: generated a development key for second-factor secrets "
            "in %s. Set VAXLINK_TOTP_KEY in production (and keep it: without it no second factor "
            "can be checked).", path,
        )  # fmt: skip
    _KEYS[str(path)] = key
    return key


def _aad(user_id: int) -> bytes:
    return f"vaxlink-totp:{user_id}".encode()


def is_clear(stored: str) -> bool:
    """Whether a stored value is a secret in clear (base32, as before migration 0010)."""
    return len(stored) == 32 and all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in stored)


def seal_for(user_id: int, secret: str, key: bytes) -> str:
    """The stored form of account `user_id`'s base32 secret."""
    raw = base64.b32decode(secret)
    nonce = secrets.token_bytes(_NONCE)
    sealed = nonce + AESGCM(key).encrypt(nonce, raw, _aad(user_id))
    return base64.urlsafe_b64encode(sealed).decode()


def open_for(user_id: int, stored: str, key: bytes) -> str | None:
    """The base32 secret a stored value holds, or None when it does not open with `key`."""
    try:
        sealed = base64.urlsafe_b64decode(stored)
        raw = AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(user_id))
    except (binascii.Error, ValueError, InvalidTag):
        _log.warning("the second-factor secret of account %s does not open with the key", user_id)
        return None
    return base64.b32encode(raw).decode()


def seal(user: User, secret: str, key: bytes) -> str:
    """The stored form of a base32 secret for this account."""
    return seal_for(user.id, secret, key)


def secret_of(user: User, key: bytes) -> str | None:
    """The account's base32 secret, or None when it has none or it does not open with `key`."""
    return open_for(user.id, user.totp_secret, key) if user.totp_secret else None


def start_enrolment(user: User, *, key: bytes) -> str:
    """A fresh secret stored (sealed) on the account, not yet in force."""
    secret = pyotp.random_base32()
    user.totp_secret = seal(user, secret, key)
    user.totp_confirmed_at = None
    user.totp_last_step = None
    return secret


def needs_enrolment(user: User) -> bool:
    """Whether the account's role requires a second factor it has not yet put in force."""
    return user.role in SECOND_FACTOR_ROLES and user.totp_confirmed_at is None


def enrol_now(user: User, *, now: dt.datetime, key: bytes) -> str:
    """A fresh secret put in force at once (demo and test accounts; the holder is shown it)."""
    secret = start_enrolment(user, key=key)
    user.totp_confirmed_at = now
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(user: User, secret: str) -> str:
    """The provisioning URI as an SVG QR code in a data: URI (no request leaves the page)."""
    svg = segno.make(provisioning_uri(user, secret), error="m").svg_inline(scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _accepted_step(secret: str, code: str, now: dt.datetime, last_step: int | None) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP), code):
            return step
    return None


def confirm_enrolment(user: User, code: str, *, now: dt.datetime, key: bytes) -> bool:
    """Put the pending secret in force if `code` comes from it."""
    secret = secret_of(user, key)
    if secret is None:
        return False
    step = _accepted_step(secret, code, now, None)
    if step is None:
        return False
    user.totp_confirmed_at = now
    user.totp_last_step = step
    return True


def verify_login_code(user: User, code: str, *, now: dt.datetime, key: bytes) -> bool:
    """Whether `code` is a fresh valid code of the account's confirmed secret."""
    secret = secret_of(user, key) if user.totp_confirmed_at is not None else None
    if secret is None:
        return False
    step = _accepted_step(secret, code, now, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True

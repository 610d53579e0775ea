"""Time-based one-time codes (RFC 6238, 30 s, 6 digits) as a second factor.

A code is accepted in the current step or one step either side (clock drift), and never twice:
the last accepted step is kept on the account.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Final

import pyotp
import segno

from vaxlink.auth.models import User
from vaxlink.auth.roles import SECOND_FACTOR_ROLES

ISSUER: Final = "vaxlink"
STEP: Final = 30


def start_enrolment(user: User) -> str:
    """A fresh secret stored on the account, not yet in force."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_confirmed_at = None
    user.totp_last_step = None
    return secret


def needs_enrolment(user: User) -> bool:
    """Whether the account's role requires a second factor it has not yet put in force."""
    return user.role in SECOND_FACTOR_ROLES and user.totp_confirmed_at is None


def enrol_now(user: User, *, now: dt.datetime) -> str:
    """A fresh secret put in force at once (demo and test accounts; the holder is shown it)."""
    secret = start_enrolment(user)
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


def confirm_enrolment(user: User, code: str, *, now: dt.datetime) -> bool:
    """Put the pending secret in force if `code` comes from it."""
    if not user.totp_secret:
        return False
    step = _accepted_step(user.totp_secret, code, now, None)
    if step is None:
        return False
    user.totp_confirmed_at = now
    user.totp_last_step = step
    return True


def verify_login_code(user: User, code: str, *, now: dt.datetime) -> bool:
    """Whether `code` is a fresh valid code of the account's confirmed secret."""
    if not user.totp_secret or user.totp_confirmed_at is None:
        return False
    step = _accepted_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True

"""Weak staff passwords (issue #13 point 6): `aaaaaaaaaaaa` was accepted for an administrator.
A new password needs 12 characters and must not be common, repetitive or a keyboard run; the
refusal says what to do instead."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from vaxlink.auth import service
from vaxlink.auth.errors import AccountError
from vaxlink.auth.roles import Role


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaa", "too easy to guess"),  # the probe's administrator password
        ("abcabcabcabc", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("password1234", "too easy to guess"),
        ("qwertyuiop12", "too easy to guess"),
        ("iloveyou2021", "too easy to guess"),
        ("short-pw-1", "at least 12 characters"),
    ],
)
def test_weak_passwords_are_refused_with_advice(session: Session, password: str, why: str) -> None:
    with pytest.raises(AccountError, match=why) as refused:
        service.create_user(session, username="admin.two", password=password, role=Role.ADMIN,
                            unit="VN", now=dt.datetime.now(dt.UTC))  # fmt: skip
    if "guess" in why:
        assert "unrelated words" in str(refused.value)


def test_a_strong_password_is_accepted_and_reset_is_checked_too(session: Session) -> None:
    user = service.create_user(session, username="admin.three", password="plum-Ferry-7-quartz",
                               role=Role.ADMIN, unit="VN", now=dt.datetime.now(dt.UTC))  # fmt: skip
    with pytest.raises(AccountError, match="too easy to guess"):
        service.set_password(session, user, "aaaaaaaaaaaa", now=dt.datetime.now(dt.UTC))

"""Second-factor secrets at rest (issue #13 point 8): they were stored in clear, so a copy of the
store gave every issuer's and administrator's second factor away. They are sealed with
AES-256-GCM under VAXLINK_TOTP_KEY (bound to their account); migration 0010 seals old ones."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pyotp
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from tests.web_support import StaffClient
from vaxlink.auth import service, totp
from vaxlink.auth.models import User
from vaxlink.auth.roles import Role
from vaxlink.db import alembic_config, transaction, upgrade
from vaxlink.settings import Settings


def test_the_stored_secret_is_not_the_secret_and_login_still_works(
    staff_client: Callable[..., StaffClient],
) -> None:
    admin = staff_client(Role.ADMIN, "VN")  # logged in through the code step
    assert admin.get("/").status_code == 200
    secret = admin.account.totp_secret
    assert secret is not None
    with transaction(admin.engine) as s:
        stored = s.scalar(select(User.totp_secret).where(User.id == admin.account.user_id))
    assert stored is not None
    assert secret not in stored
    assert secret.lower() not in stored.lower()
    assert not totp.is_clear(stored)
    # another account's sealed secret does not open as this one's (bound to the account)
    key = totp.key_of(Settings())
    assert totp.open_for(admin.account.user_id, stored, key) == secret
    assert totp.open_for(admin.account.user_id + 1, stored, key) is None
    assert totp.open_for(admin.account.user_id, stored, os.urandom(32)) is None


def test_migration_seals_secrets_kept_in_clear(store: Engine) -> None:
    command.downgrade(alembic_config(store), "0009")
    secret = pyotp.random_base32()
    now = dt.datetime.now(dt.UTC)
    with transaction(store) as s:
        user = service.create_user(s, username="old.admin", password="plum-Ferry-7-quartz",
                                   role=Role.ADMIN, unit="VN", now=dt.datetime.now(dt.UTC))  # fmt: skip
        user.totp_secret, user.totp_confirmed_at = secret, now
        user_id = user.id
    upgrade(store)
    with transaction(store) as s:
        stored = s.scalar(text("SELECT totp_secret FROM auth_user WHERE id = :i"), {"i": user_id})
        assert stored != secret
        user = s.get(User, user_id)
        assert user is not None
        key = totp.key_of(Settings())
        assert totp.verify_login_code(user, pyotp.TOTP(secret).at(now), now=now, key=key)
    command.downgrade(alembic_config(store), "0009")  # and back: the secret in clear again
    with store.connect() as conn:
        back = conn.scalar(text("SELECT totp_secret FROM auth_user WHERE id = :i"), {"i": user_id})
    assert back == secret
    upgrade(store)


def test_development_key_file_is_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, totp_key=None, _env_file=None)  # type: ignore[call-arg]
    key = totp.key_of(settings)
    path = tmp_path / totp.KEY_FILE
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert totp.key_of(settings) == key  # kept, not regenerated

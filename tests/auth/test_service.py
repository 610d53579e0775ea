"""Accounts, passwords and sessions over the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.auth import service
from vaxlink.auth.errors import AccountError, TooManyAttempts, Unauthenticated
from vaxlink.auth.models import AuditEntry, AuthSession, User
from vaxlink.auth.roles import Role
from vaxlink.errors import Conflict
from vaxlink.geo.codes import Level
from vaxlink.settings import Settings

PW = "a-long-enough-secret-42"
SETTINGS = Settings(login_max_failures_per_user=3, login_max_failures_per_client=5)


def _user(session: Session, name: str = "hs.phucxa", **kw: object) -> User:
    args: dict[str, object] = {"username": name, "password": PW, "role": Role.HEALTH_STATION,
                               "unit": "ward:00001"} | kw  # fmt: skip
    return service.create_user(session, **args, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]


def test_create_user_hashes_with_argon2_and_audits(session: Session) -> None:
    user = _user(session, "  HS.PhucXa ", display_name="Trạm Phúc Xá")
    assert user.username == "hs.phucxa"
    assert user.password_hash.startswith("$argon2id$")
    assert PW not in user.password_hash
    p = service.principal_of(user)
    assert (p.role, p.unit.level, p.unit.code) == (Role.HEALTH_STATION, Level.WARD, "00001")
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.object_id, entry.actor_id) == ("user.create", str(user.id), None)
    with pytest.raises(Conflict):
        _user(session, "hs.phucxa")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"unit": "district:001"}, "belongs to a ward"),
        ({"unit": "ward:99999"}, "unknown administrative unit"),
        ({"role": "nurse"}, "unknown role"),
        ({"password": "short"}, "at least"),
        ({"password": "hs.phucxa-is-my-password"}, "user name"),
        ({"username": "a b"}, "user name has"),
        ({"role": Role.SITE_APPROVER}, "vaccination site"),
    ],
)
def test_create_user_refuses(session: Session, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(AccountError, match=message):
        _user(session, **kw)


def test_authenticate_and_rate_limit(session: Session) -> None:
    user = _user(session)
    now = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    ok = service.authenticate(session, "HS.PHUCXA", PW, client="10.0.0.1", settings=SETTINGS,
                              now=now)  # fmt: skip
    assert ok.id == user.id
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            service.authenticate(session, "hs.phucxa", "wrong-password!", client="10.0.0.1",
                                 settings=SETTINGS, now=now)  # fmt: skip
    # locked from that address: even the right password is refused, without being checked
    with pytest.raises(TooManyAttempts) as locked:
        service.authenticate(session, "hs.phucxa", PW, client="10.0.0.1", settings=SETTINGS,
                             now=now)  # fmt: skip
    assert 0 < locked.value.retry_after_seconds <= SETTINGS.login_backoff_seconds + 1
    # the same name from another address is not slowed (issue #13 point 6)
    assert service.authenticate(session, "hs.phucxa", PW, client="10.0.0.2", settings=SETTINGS,
                                now=now).id == user.id  # fmt: skip
    later = now + dt.timedelta(seconds=SETTINGS.login_backoff_seconds + 1)
    assert service.authenticate(session, "hs.phucxa", PW, client="10.0.0.1", settings=SETTINGS,
                                now=later).id == user.id  # fmt: skip


def test_client_limit_spans_user_names(session: Session) -> None:
    _user(session)
    now = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    for i in range(5):
        with pytest.raises(Unauthenticated):
            service.authenticate(session, f"nobody{i}", "x" * 12, client="10.9.9.9",
                                 settings=SETTINGS, now=now)  # fmt: skip
    with pytest.raises(TooManyAttempts):
        service.authenticate(session, "hs.phucxa", PW, client="10.9.9.9", settings=SETTINGS,
                             now=now)  # fmt: skip
    # another address is not affected
    service.authenticate(session, "hs.phucxa", PW, client="10.9.9.8", settings=SETTINGS, now=now)


def test_unknown_and_disabled_users_are_refused_alike(session: Session) -> None:
    user = _user(session)
    service.set_active(session, user, False, now=dt.datetime.now(dt.UTC))
    errors = []
    for name in ("hs.phucxa", "no.such.user"):
        with pytest.raises(Unauthenticated) as exc:
            service.authenticate(session, name, PW, client="c", settings=Settings(), now=dt.datetime.now(dt.UTC))
        errors.append(str(exc.value))
    assert errors[0] == errors[1]


def test_sessions_store_only_a_hash_and_expire(session: Session) -> None:
    user = _user(session)
    settings = Settings(session_idle_minutes=30, session_max_hours=2)
    t0 = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    token = service.create_session(session, user, settings=settings, now=t0)
    row = session.scalars(select(AuthSession)).one()
    assert row.token_hash != token
    assert len(row.token_hash) == 64
    assert service.resolve_session(session, token, settings=settings, now=t0) is not None
    assert service.resolve_session(session, token + "x", settings=settings, now=t0) is None
    # kept alive by use, idle expiry after 30 minutes without
    t = t0
    for _ in range(3):
        t += dt.timedelta(minutes=25)
        assert service.resolve_session(session, token, settings=settings, now=t) is not None
    assert service.resolve_session(session, token, settings=settings,
                                   now=t + dt.timedelta(minutes=31)) is None  # fmt: skip
    # absolute expiry even when in use
    assert service.resolve_session(session, token, settings=settings,
                                   now=t0 + dt.timedelta(hours=2, seconds=1)) is None  # fmt: skip
    token2 = service.create_session(session, user, settings=settings, now=t0)
    service.revoke_session(session, token2, now=t0)
    assert service.resolve_session(session, token2, settings=settings, now=t0) is None


def test_password_reset_and_disable_end_sessions(session: Session) -> None:
    user = _user(session)
    settings = Settings()
    token = service.create_session(session, user, settings=settings, now=dt.datetime.now(dt.UTC))
    service.set_password(session, user, "another-long-secret-7", now=dt.datetime.now(dt.UTC))
    assert service.resolve_session(session, token, settings=settings, now=dt.datetime.now(dt.UTC)) is None
    token = service.create_session(session, user, settings=settings, now=dt.datetime.now(dt.UTC))
    service.set_active(session, user, False, now=dt.datetime.now(dt.UTC))
    assert service.resolve_session(session, token, settings=settings, now=dt.datetime.now(dt.UTC)) is None
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["user.create", "user.password_reset", "user.disable"]
    assert session.scalar(select(func.count()).select_from(User)) == 1

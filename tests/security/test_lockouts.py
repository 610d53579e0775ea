"""Lockouts a stranger could aim at someone else (issue #13 point 6): wrong lookups of a citizen's
ID and wrong passwords for a staff name, from other addresses, must not stop the real person at
their own address; the guessing pair itself is slowed more and more."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.feedback.conftest import World
from vaxlink.auth import service as auth
from vaxlink.auth.errors import TooManyAttempts, Unauthenticated
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.feedback.service import parse_lookup, start_lookup
from vaxlink.settings import Settings

T0 = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
CID = "001085012345"
PW = "a-long-enough-secret-42"


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url="sqlite://", _env_file=None)  # type: ignore[call-arg]


def test_wrong_lookups_elsewhere_do_not_lock_the_citizen_out(store: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    World(store).citizen(CID)
    wrong = parse_lookup(CID, "Tran Thi Khac", "01/01/1990")
    for i in range(40):  # many addresses, a few guesses each
        with transaction(store) as s:
            start_lookup(s, wrong, client=f"203.0.113.{i % 20}", now=T0, settings=settings)
    with transaction(store) as s:
        out = start_lookup(s, parse_lookup(CID, "Nguyễn Văn An", "14/03/1985"),
                           client="198.51.100.7", now=T0, settings=settings)  # fmt: skip
    assert out.handle is not None
    assert out.sms is not None  # the real citizen gets their code


def test_lookup_pair_backoff_grows(store: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    wrong = parse_lookup(CID, "Tran Thi Khac", "01/01/1990")
    t, waits, went = T0, [], 0
    while len(waits) < 3:
        with transaction(store) as s:
            out = start_lookup(s, wrong, client="203.0.113.9", now=t, settings=settings)
        if out.handle is None:
            assert out.locked_until is not None
            waits.append((out.locked_until - t).total_seconds())
            t = out.locked_until
        else:
            went += 1
    assert went == 5 + 2  # 5 free, then one after each wait
    assert waits == [60, 120, 240]  # after 5 free lookups: 1, 2, 4 minutes


def _account(session: Session) -> None:
    auth.create_user(session, username="issuer.one", password=PW, role=Role.HEALTH_STATION,
                     unit="ward:00001", now=dt.datetime.now(dt.UTC))  # fmt: skip


def test_wrong_passwords_elsewhere_do_not_lock_the_official_out(session: Session) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    _account(session)
    for i in range(24):  # 8 addresses, 3 failures each, more than the name's old limit of 5
        with pytest.raises(Unauthenticated):
            auth.authenticate(session, "issuer.one", "not-the-password", client=f"203.0.113.{i % 8}",
                              settings=settings, now=T0)  # fmt: skip
    user = auth.authenticate(session, "issuer.one", PW, client="198.51.100.7", settings=settings,
                             now=T0)  # fmt: skip
    assert user.username == "issuer.one"


def test_login_pair_backoff_grows_and_a_daily_ceiling_holds(session: Session) -> None:
    settings = Settings(login_max_failures_per_user=2, login_max_failures_per_user_day=8,
                        login_max_failures_per_client=1000, _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    _account(session)
    t, waits = T0, []
    while len(waits) < 4:
        try:
            auth.authenticate(session, "issuer.one", "not-the-password", client="203.0.113.1",
                              settings=settings, now=t)  # fmt: skip
        except TooManyAttempts as locked:
            waits.append(locked.retry_after_seconds)
            t += dt.timedelta(seconds=locked.retry_after_seconds)
        except Unauthenticated:
            pass
    assert waits == [31, 61, 121, 241]  # whole seconds, rounded up
    # the name's daily ceiling (8 failures from anywhere) stops a campaign over many addresses
    for i in range(3):
        with pytest.raises(Unauthenticated):
            auth.authenticate(session, "issuer.one", "not-the-password", client=f"192.0.2.{i}",
                              settings=settings, now=t)  # fmt: skip
    with pytest.raises(TooManyAttempts):
        auth.authenticate(session, "issuer.one", PW, client="198.51.100.7", settings=settings,
                          now=t)  # fmt: skip

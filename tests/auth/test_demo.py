"""Demo accounts: one per role around one commune; re-running refreshes their passwords."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from vaxlink.auth import service
from vaxlink.auth.demo import create_demo_accounts
from vaxlink.auth.roles import Role
from vaxlink.settings import Settings


def test_one_account_per_role_and_rerun(session: Session) -> None:
    accounts = create_demo_accounts(session, "00001", "F-01", now=dt.datetime.now(dt.UTC))
    assert {a.role for a in accounts} == set(Role)
    units = {a.role: str(a.unit) for a in accounts}
    assert units[Role.COMMUNE_POLICE] == "ward:00001"
    assert units[Role.DISTRICT_HEALTH] == "district:001"
    assert units[Role.PROVINCIAL_CDC] == "province:001"
    assert units[Role.NATIONAL_ISSUER] == "nation:VN"
    approver = next(a for a in accounts if a.role is Role.SITE_APPROVER)
    assert approver.facility_code == "F-01"
    again = create_demo_accounts(session, "00004", "F-02", now=dt.datetime.now(dt.UTC))  # another commune next time
    assert [a.username for a in again] == [a.username for a in accounts]
    assert str(again[0].unit) == "ward:00004"
    settings = Settings()
    first, second = accounts[0], again[0]
    assert first.password != second.password
    user = service.authenticate(session, first.username, second.password, client="t",
                                settings=settings, now=dt.datetime.now(dt.UTC))  # fmt: skip
    assert user.username == first.username
    assert service.principal_of(user).unit.code == "00004"
    assert user.facility_code == "F-02"


def test_issuer_and_admin_get_a_second_factor_to_print(session: Session) -> None:
    import pyotp

    from vaxlink.auth import totp

    accounts = create_demo_accounts(session, "00001", "F-01", now=dt.datetime.now(dt.UTC))
    enrolled = {a.role: a.totp_secret for a in accounts if a.totp_secret}
    assert set(enrolled) == {Role.NATIONAL_ISSUER, Role.ADMIN}
    issuer = next(a for a in accounts if a.role is Role.NATIONAL_ISSUER)
    user = service.get_user(session, issuer.username)
    assert not totp.needs_enrolment(user)
    now = dt.datetime.now(dt.UTC)
    code = pyotp.TOTP(enrolled[Role.NATIONAL_ISSUER]).at(now)
    assert totp.verify_login_code(user, code, now=now, key=totp.key_of(Settings()))

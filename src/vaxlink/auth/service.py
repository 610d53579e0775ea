"""Accounts, passwords (argon2id) and server-side sessions. Services flush; callers commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vaxlink.auth import audit, throttle
from vaxlink.auth.errors import AccountError, TooManyAttempts, Unauthenticated
from vaxlink.auth.models import AuthSession, User
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.errors import Conflict, NotFound
from vaxlink.geo.codes import Level, UnitKey, unit_key
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings

USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 256
#: Where each role's accounts may sit.
ROLE_LEVELS: Final[dict[Role, frozenset[Level]]] = {
    Role.HEALTH_STATION: frozenset({Level.WARD}),
    Role.COMMUNE_POLICE: frozenset({Level.WARD}),
    Role.COMMUNE_COMMITTEE: frozenset({Level.WARD}),
    Role.SITE_APPROVER: frozenset({Level.WARD, Level.DISTRICT, Level.PROVINCE}),
    Role.DISTRICT_HEALTH: frozenset({Level.DISTRICT}),
    Role.PROVINCIAL_CDC: frozenset({Level.PROVINCE}),
    Role.NATIONAL_ISSUER: frozenset({Level.NATION}),
    Role.ADMIN: frozenset(Level),
}
#: A session's last-seen time is written at most this often (keeps reads from becoming writes).
TOUCH_EVERY: Final = dt.timedelta(seconds=60)

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as known ones."""
    return _hasher.hash(secrets.token_urlsafe(16))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_username(raw: str) -> str:
    """Lower-case, trimmed; 3-64 of a-z 0-9 . _ - starting with a letter or digit."""
    name = raw.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "a user name has 3 to 64 characters: letters a-z, digits, '.', '_' or '-'"
        )
    return name


def check_password_rules(password: str, username: str) -> None:
    """Refuse passwords that are too short, too long or the user name itself."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")
    if username in password.lower():
        raise AccountError("the password must not contain the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_unit(role: Role, unit: UnitKey | str) -> UnitKey:
    try:
        key = unit_key(unit)
        UnitIndex.for_version().get(key)
    except GeoError as exc:
        raise AccountError(f"unknown administrative unit {unit!r}: {exc}") from exc
    if key.level not in ROLE_LEVELS[role]:
        allowed = ", ".join(sorted(str(lv) for lv in ROLE_LEVELS[role]))
        raise AccountError(f"a {role} account belongs to a {allowed}, not a {key.level}")
    return key


def principal_of(user: User) -> Principal:
    """The Principal an account acts as."""
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        unit=UnitKey(Level(user.unit_level), user.unit_code),
        facility_code=user.facility_code,
    )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    unit: UnitKey | str,
    facility_code: str | None = None,
    display_name: str | None = None,
    actor: Principal | None = None,
) -> User:
    """A new active account; audited as "user.create" (by `actor`, or the system at the CLI)."""
    name = normalise_username(username)
    try:
        the_role = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {role!r}; known roles: {known}") from None
    key = _check_unit(the_role, unit)
    if the_role is Role.SITE_APPROVER and not facility_code:
        raise AccountError("a site approver account needs the code of its vaccination site")
    check_password_rules(password, name)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"the user name {name!r} is taken")
    now = now_utc()
    user = User(
        username=name, password_hash=hash_password(password), role=the_role.value,
        unit_level=key.level.value, unit_code=key.code, facility_code=facility_code or None,
        display_name=(display_name or "").strip() or None, active=True,
        created_at=now, password_changed_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="user.create", object_type="user", object_id=user.id,
        unit=str(key), detail={"role": the_role.value},
    )  # fmt: skip
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no account named {username.strip().lower()!r}")
    return user


def set_password(
    session: Session, user: User, password: str, *, actor: Principal | None = None
) -> None:
    """Replace the password and end every session of the account."""
    check_password_rules(password, user.username)
    now = now_utc()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_all_sessions(session, user.id, now=now)
    audit.record(session, actor=actor, action="user.password_reset", object_type="user",
                 object_id=user.id, unit=f"{user.unit_level}:{user.unit_code}")  # fmt: skip


def set_active(
    session: Session, user: User, active: bool, *, actor: Principal | None = None
) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    user.active = active
    if not active:
        revoke_all_sessions(session, user.id, now=now_utc())
    audit.record(session, actor=actor, action="user.enable" if active else "user.disable",
                 object_type="user", object_id=user.id,
                 unit=f"{user.unit_level}:{user.unit_code}")  # fmt: skip


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str,
    settings: Settings,
    now: dt.datetime | None = None,
) -> User:
    """The active account these credentials open, or Unauthenticated (the same message and
    about the same time whether the name exists or not). Refuses with TooManyAttempts while
    the name or the client address is locked out; every outcome is counted in the store."""
    now = now or now_utc()
    name = username.strip().lower()
    wait = throttle.locked_for(session, name, client, settings=settings, now=now)
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        raise TooManyAttempts(
            f"too many failed logins; try again in {minutes} minute(s) or ask your administrator",
            wait,
        )
    user = session.scalar(select(User).where(User.username == name)) if name else None
    ok = _verify(user.password_hash if user else _dummy_hash(), password[:MAX_PASSWORD])
    if user is None or not ok or not user.active:
        throttle.note(session, name, client, succeeded=False, settings=settings, now=now)
        raise Unauthenticated("the user name or the password is wrong, or the account is disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.note(session, name, client, succeeded=True, settings=settings, now=now)
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def create_session(
    session: Session,
    user: User,
    *,
    settings: Settings,
    second_factor_pending: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """A new session for `user`; returns the cookie token (only its SHA-256 is stored)."""
    now = now or now_utc()
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_max_hours),
            second_factor_pending=second_factor_pending,
        )
    )  # fmt: skip
    session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Resolved:
    """A live session and its account."""

    row: AuthSession
    user: User

    @property
    def principal(self) -> Principal:
        return principal_of(self.user)


def resolve_session(
    session: Session, token: str | None, *, settings: Settings, now: dt.datetime | None = None
) -> Resolved | None:
    """The live session the token names (not revoked, within idle and absolute limits, account
    active), or None. Second-factor-pending sessions are returned: callers check the flag."""
    if not token or len(token) > 128:
        return None
    now = now or now_utc()
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Resolved(row, user)


def revoke_session(session: Session, token: str | None, *, now: dt.datetime | None = None) -> None:
    """End the session the token names (no error if there is none)."""
    if token:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash(token), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now or now_utc())
        )


def revoke_all_sessions(session: Session, user_id: int, *, now: dt.datetime) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))

"""auth's front door: accounts, passwords (argon2id), server-side sessions, principals, scope
checks and the audit log's appends. Services flush; callers commit.

Other domains import auth only from here (and, in their pages, `vaxlink.auth.deps`):
`append` / `append_many` / `append_after_transaction` write the hash-chained audit log,
`ensure_in_scope` refuses (and audits) things outside an account's unit, and the principal,
role, permission and error types are re-exported.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from vaxlink.auth import audit, throttle
from vaxlink.auth.audit import Entry as NewAuditEntry
from vaxlink.auth.audit import record_after_transaction as append_after_transaction
from vaxlink.auth.errors import (
    AccountError,
    AuthError,
    Forbidden,
    OutOfScope,
    TooManyAttempts,
    Unauthenticated,
)
from vaxlink.auth.models import AuditEntry, User
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import ON_BEHALF_OF, Permission, Role
from vaxlink.auth.sessions import (
    TOUCH_EVERY,
    Resolved,
    create_session,
    principal_of,
    resolve_session,
    revoke_all_sessions,
    revoke_other_sessions,
    revoke_session,
    token_hash,
)
from vaxlink.errors import Conflict, NotFound
from vaxlink.geo.codes import Level, UnitKey, unit_key
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings

USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD: Final = 12
#: Least zxcvbn score (0-4) a new password must reach: 3 is "safely unguessable" online.
MIN_PASSWORD_SCORE: Final = 3
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

__all__ = [
    "ON_BEHALF_OF",
    "TOUCH_EVERY",
    "AccountError",
    "AuditView",
    "AuthError",
    "Forbidden",
    "NewAuditEntry",
    "OutOfScope",
    "Permission",
    "Principal",
    "Resolved",
    "Role",
    "TooManyAttempts",
    "Unauthenticated",
    "append",
    "append_after_transaction",
    "append_many",
    "authenticate",
    "change_own_password",
    "check_audit_detail",
    "create_session",
    "create_user",
    "ensure_in_scope",
    "get_user",
    "latest_entries",
    "principal_of",
    "reset_second_factor",
    "resolve_session",
    "revoke_all_sessions",
    "revoke_other_sessions",
    "revoke_session",
    "set_active",
    "set_password",
    "temporary_password",
    "token_hash",
    "ward_of_site",
]

#: argon2id with OWASP's password-storage profile (m = 19 MiB, t = 2, p = 1): ~22 ms of one core per
#: login here, where RFC 9106's second profile (m = 64 MiB, t = 3, p = 4) took ~170 ms of both
#: cores and capped logins under load (benchmarks/refresh_contention_bench.py). Staff passwords
#: are also length- and list-checked, privileged roles add a second factor, and login attempts are
#: throttled per account and address. Hashes made with other parameters are re-made at login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as known ones."""
    return _hasher.hash(secrets.token_urlsafe(16))


def normalise_username(raw: str) -> str:
    """Lower-case, trimmed; 3-64 of a-z 0-9 . _ - starting with a letter or digit."""
    name = raw.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "a user name has 3 to 64 characters: letters a-z, digits, '.', '_' or '-'"
        )
    return name


def check_password_rules(password: str, username: str) -> None:
    """Refuse passwords that are too short or too long, contain the user name, or are easy to
    guess: common passwords, words and names from zxcvbn's packaged frequency lists, keyboard
    runs, repeats (`aaaaaaaaaaaa`), sequences and dates (a zxcvbn score below 3)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters").keyed(
            "auth.password.too_short", n=MIN_PASSWORD
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters").keyed(
            "auth.password.too_long", n=MAX_PASSWORD
        )
    if username in password.lower():
        raise AccountError("the password must not contain the user name").keyed(
            "auth.password.has_username"
        )
    # zxcvbn's cost grows with the length; past 100 characters a password is long enough.
    verdict = zxcvbn(password[:100], user_inputs=[username, "vaxlink"])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        feedback = verdict.get("feedback") or {}
        why = str(feedback.get("warning") or "it follows a pattern that is tried early").rstrip(".")
        raise AccountError(
            f"this password is too easy to guess ({why}); choose another, e.g. three or four "
            "unrelated words with digits or signs between them"
        ).keyed("auth.password.too_easy", why=why)


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
    now: dt.datetime,
) -> User:
    """A new active account, created `now`; audited as "user.create" (by `actor`, or the system
    at the CLI)."""
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
        unit=str(key), detail={"role": the_role.value}, at=now,
    )  # fmt: skip
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no account named {username.strip().lower()!r}")
    return user


def set_password(
    session: Session, user: User, password: str, *, actor: Principal | None = None,
    now: dt.datetime,
) -> None:  # fmt: skip
    """Replace the password and end every session of the account (at `now`)."""
    check_password_rules(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_all_sessions(session, user.id, now=now)
    audit.record(session, actor=actor, action="user.password_reset", object_type="user",
                 object_id=user.id, unit=f"{user.unit_level}:{user.unit_code}", at=now)  # fmt: skip


def change_own_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    repeat: str,
    keep_token: str | None,
    client: str,
    settings: Settings,
    now: dt.datetime,
) -> int:
    """The account holder replaces their own password: the current one must be right (wrong
    guesses count towards the login lockout), the new one typed twice and within the rules.
    Every other session of the account ends (the one `keep_token` names goes on); audited.
    Returns how many other sessions were ended."""
    wait = throttle.locked_for(session, user.username, client, settings=settings, now=now)
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        raise TooManyAttempts(
            f"too many wrong passwords; try again in {minutes} minute(s)", wait
        ).keyed("auth.login.locked", minutes=minutes)
    if not _verify(user.password_hash, current[:MAX_PASSWORD]):
        throttle.note(session, user.username, client, succeeded=False, settings=settings, now=now)
        raise AccountError("the current password is wrong").keyed("auth.password.wrong_current")
    if new != repeat:
        raise AccountError("the two new passwords differ; type the same one twice").keyed(
            "auth.password.differ"
        )
    if new == current:
        raise AccountError("the new password is the same as the current one").keyed(
            "auth.password.same"
        )
    check_password_rules(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    ended = revoke_other_sessions(session, user.id, keep_token, now=now)
    audit.record(session, actor=principal_of(user), action="user.password_change",
                 object_type="user", object_id=user.id, detail={"other_sessions_ended": ended},
                 unit=f"{user.unit_level}:{user.unit_code}", at=now)  # fmt: skip
    return ended


def set_active(
    session: Session, user: User, active: bool, *, actor: Principal | None = None,
    now: dt.datetime,
) -> None:  # fmt: skip
    """Enable or disable an account (at `now`); disabling ends its sessions at once."""
    user.active = active
    if not active:
        revoke_all_sessions(session, user.id, now=now)
    audit.record(session, actor=actor, action="user.enable" if active else "user.disable",
                 object_type="user", object_id=user.id,
                 unit=f"{user.unit_level}:{user.unit_code}", at=now)  # fmt: skip


def reset_second_factor(
    session: Session, user: User, *, actor: Principal | None = None, now: dt.datetime
) -> None:
    """Remove the account's TOTP secret (a lost phone) and end its sessions; it enrols again
    after its next login (issuer and admin accounts must)."""
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    revoke_all_sessions(session, user.id, now=now)
    audit.record(session, actor=actor, action="user.second_factor_reset", object_type="user",
                 object_id=user.id, unit=f"{user.unit_level}:{user.unit_code}", at=now)  # fmt: skip


def temporary_password() -> str:
    """A random password for a new or reset account (16 letters and digits, ~95 bits), shown
    once to the administrator, who hands it over in person."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str,
    settings: Settings,
    now: dt.datetime,
) -> User:
    """The active account these credentials open, or Unauthenticated (the same message and
    about the same time whether the name exists or not). Refuses with TooManyAttempts while
    the name or the client address is locked out; every outcome is counted in the store."""
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


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def ward_of_site(session: Session, facility_code: str) -> str | None:
    """The ward of the first active ward-level approver account of a vaccination site, if any
    (until sites have a table of their own, a site's station is taken from its approver)."""
    return session.scalar(
        select(User.unit_code)
        .where(User.facility_code == facility_code, User.unit_level == "ward",
               User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )  # fmt: skip


# ---- the audit log ----------------------------------------------------------------------------


def append(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: str | int,
    unit: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime,
) -> int:
    """Append one audit entry, stamped `at` (the caller's clock), in the caller's transaction;
    returns its seq. `actor` None is the
    system (or a citizen's own view); `detail` must not name personal data (ValueError)."""
    return audit.record(session, actor=actor, action=action, object_type=object_type,
                        object_id=object_id, unit=unit, detail=detail, at=at)  # fmt: skip


def append_many(session: Session, entries: Sequence[NewAuditEntry]) -> list[int]:
    """Append entries in order in the caller's transaction, under one lock of the chain."""
    return audit.append_many(session, entries)


def check_audit_detail(detail: Mapping[str, Any] | None) -> None:
    """Refuse (ValueError) a `detail` that names personal data, before anything is queued."""
    audit.canonical_detail(detail)


def _unit_of(province: str | None, district: str | None, ward: str | None) -> str | None:
    for level, code in ((Level.WARD, ward), (Level.DISTRICT, district), (Level.PROVINCE, province)):
        if code:
            return f"{level}:{code}"
    return None


def ensure_in_scope(
    session: Session,
    principal: Principal,
    *,
    province: str | None,
    district: str | None = None,
    ward: str | None = None,
    object_type: str,
    object_id: str | int,
    now: dt.datetime,
) -> None:
    """Raise OutOfScope (403) unless the thing at (province, district, ward) lies inside the
    account's unit. The refusal is audited ("access.denied") in a transaction of its own once
    the caller's transaction has ended, so it survives the request's rollback."""
    if principal.covers(province=province, district=district, ward=ward):
        return
    audit.record_after_transaction(
        session, actor=principal, action="access.denied", object_type=object_type,
        object_id=object_id, unit=_unit_of(province, district, ward),
        detail={"reason": "out_of_scope", "account_unit": str(principal.unit)}, at=now,
    )  # fmt: skip
    raise OutOfScope(
        f"this {object_type.replace('_', ' ')} lies outside your area ({principal.unit}); "
        "it is handled by the staff of its own commune, district or province"
    )


@dataclass(frozen=True, slots=True)
class AuditView:
    """One audit entry as a page shows it (the actor by username)."""

    seq: int
    at: dt.datetime
    actor: str | None
    action: str
    object_type: str
    object_id: str
    detail: Mapping[str, Any]


def latest_entries(
    session: Session,
    *,
    action_prefixes: Sequence[str],
    limit: int = 20,
    about: tuple[str, str] | None = None,
) -> list[AuditView]:
    """The newest audit entries whose action starts with one of `action_prefixes` (and, with
    `about`, whose object is that (type, id))."""
    conditions = [AuditEntry.action.startswith(p, autoescape=True) for p in action_prefixes]
    of_object = (
        (AuditEntry.object_type == about[0], AuditEntry.object_id == about[1]) if about else ()
    )
    stmt = (
        select(AuditEntry, User.username)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(or_(*conditions), *of_object)
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return [
        AuditView(e.seq, e.at, name, e.action, e.object_type, e.object_id, json.loads(e.detail))
        for e, name in session.execute(stmt)
    ]

"""Auth tables: staff accounts, server-side sessions, login attempts and the audit chain.

Accounts are disabled, never deleted, so every audit entry keeps naming a real account.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class User(Base):
    """A staff account: one role, one administrative unit, optionally one vaccination site."""

    __tablename__ = "auth_user"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    #: Lower-case login name, unique.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    unit_level: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(8))
    facility_code: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Base32 TOTP secret; `totp_confirmed_at` is set once the holder proved a code from it.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    #: Last accepted TOTP time step, so one code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class AuthSession(Base):
    """A login: only the SHA-256 of the cookie token is stored, so a leaked table opens nothing."""

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(_ID, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    #: True between a correct password and a correct second factor: not yet a login.
    second_factor_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """One link of the append-only audit chain; `hash` covers every column and `prev_hash`.

    `seq` is assigned by `vaxlink.auth.audit` (previous + 1 under a lock), never by a sequence,
    so a deleted entry leaves a visible gap."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id"),
        Index("ix_audit_entry_actor_id_seq", "actor_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(_ID)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str | None] = mapped_column(String(24), index=True)
    #: Canonical JSON text (sorted keys): hashed exactly as stored.
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's newest link (one row). Appenders update it first, which serialises them on
    both stores (row lock on PostgreSQL, the write lock on SQLite); `audit verify` compares it
    with the last entry, so cutting entries off the end is detected too."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_ID)
    hash: Mapped[str] = mapped_column(String(64))

"""Citizen portal tables: one-time-code challenges, citizen sessions, tickets.

Codes and session tokens are stored as hashes only (the lookup limits count in the shared
limiter's table, `vaxlink.ratelimit.models`); a ticket keeps its whole history as events, and
attachments live on disk under random names.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class OtpChallenge(Base):
    """One lookup: a row is written for every attempt, whether or not the person was found."""

    __tablename__ = "feedback_challenge"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    #: SHA-256 (hex) of the random handle kept in the browser's cookie.
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The person found, or None when the details matched nobody (the code then never verifies).
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    #: HMAC-SHA256 of salt and 6-digit code under the server's OTP key (hex; `otp.hash_code`).
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CitizenSession(Base):
    """A short-lived citizen login, separate from staff sessions; the token is kept hashed."""

    __tablename__ = "feedback_citizen_session"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Ticket(Base):
    """A citizen's report (phản ánh), routed to one health station, with a deadline."""

    __tablename__ = "feedback_ticket"
    __table_args__ = (
        Index("ix_feedback_ticket_ward_status", "ward_code", "status"),
        Index("ix_feedback_ticket_district_status", "district_code", "status"),
        Index("ix_feedback_ticket_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(12), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: A `TicketStatus` (24 characters: "awaiting_certificate" is the longest).
    status: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    #: The dose the report is about, when the citizen chose one.
    dose_id: Mapped[int | None] = mapped_column(ForeignKey("dose_record.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    assigned_to: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    #: What the station tells the citizen when it closes the ticket.
    answer: Mapped[str | None] = mapped_column(Text)
    province_code: Mapped[str] = mapped_column(String(3))
    district_code: Mapped[str | None] = mapped_column(String(3))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    #: The vaccination site when the citizen routed the report to the site's station.
    facility_code: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declared form


class TicketEvent(Base):
    """One step of a ticket's life: who moved it from which status to which, and why."""

    __tablename__ = "feedback_ticket_event"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("feedback_ticket.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    #: Staff user id; None for the citizen or the escalation job.
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A file a citizen attached; the bytes live under data_dir with a random name."""

    __tablename__ = "feedback_attachment"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("feedback_ticket.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


TABLES: Final = (
    OtpChallenge.__table__,
    CitizenSession.__table__,
    Ticket.__table__,
    TicketEvent.__table__,
    Attachment.__table__,
)

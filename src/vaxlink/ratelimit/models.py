"""The store limiter's table: attempts per hashed key in the current window, and any lockout.

The table keeps its first name (`feedback_rate_counter`, migration 0004): the citizen portal's
lookups were its first users; login failures count here too now.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime


class RateCounter(Base):
    """Attempts per key (an ID number, a phone, a user name, a client address, hashed) in the
    current window."""

    __tablename__ = "feedback_rate_counter"

    #: "<scope>:<hmac hex>", e.g. "id:3fa9…".
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

"""Tables of store linkage: one row per `vaxlink verify` run, one row per decision it wrote."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base

#: JSON text on SQLite, JSONB on PostgreSQL (so candidates can be queried there).
JsonType = JSON().with_variant(JSONB(), "postgresql")


class LinkRunRecord(Base):
    """One `vaxlink verify` run that wrote its decisions (runs with nothing pending leave none)."""

    __tablename__ = "link_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_by: Mapped[str | None] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the model JSON: two models of the same version are told apart.
    model_digest: Mapped[str] = mapped_column(String(64))
    registry_size: Mapped[int] = mapped_column(Integer, default=0)
    #: Pending doses the run linked; `doses_written` of them were still pending at write-back,
    #: `doses_skipped` had been decided or changed by someone else meanwhile and were left alone.
    doses_in: Mapped[int] = mapped_column(Integer, default=0)
    doses_written: Mapped[int] = mapped_column(Integer, default=0)
    doses_skipped: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[int] = mapped_column(Integer, default=0)
    auto_linked: Mapped[int] = mapped_column(Integer, default=0)
    review: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)


class DoseLink(Base):
    """The linkage's decision for one dose in one run, with its evidence (docs/formats.md §3 fields)."""

    __tablename__ = "dose_link"
    __table_args__ = (UniqueConstraint("dose_record_id", "run_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dose_record_id: Mapped[int] = mapped_column(ForeignKey("dose_record.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("link_run.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    citizen_id: Mapped[str | None] = mapped_column(String(12), index=True)
    match_probability: Mapped[float | None] = mapped_column(Float)
    #: The fields an automatic link corrects, e.g. `id_number;date_of_birth`.
    corrected_fields: Mapped[str | None] = mapped_column(String(128))
    #: At most 3, best first: [{"citizen_id": ..., "probability": ...}].
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(String(255))
    #: How the link was made: a deterministic rule's name, `model` or `cluster`.
    rule: Mapped[str | None] = mapped_column(String(128))
    #: Each candidate's per-field comparison level and match weight.
    explanation: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

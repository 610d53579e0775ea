"""Import batches and quarantined rows, shared by every kind of bulk input."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base


class BatchKind(StrEnum):
    """What a batch brought in."""

    REGISTRY = "registry"
    DOSES = "doses"


class ImportBatch(Base):
    """One file imported once: where it came from, what it held and what became of its rows."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_kind: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    imported_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class QuarantinedRow(Base):
    """A row that could not be imported, kept with its raw values and the reasons, never dropped."""

    __tablename__ = "quarantined_row"
    __table_args__ = (UniqueConstraint("kind", "row_hash"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int] = mapped_column(Integer)
    record_key: Mapped[str | None] = mapped_column(String(64), index=True)
    raw: Mapped[str] = mapped_column(Text)
    reason_codes: Mapped[str] = mapped_column(String(255))
    reasons: Mapped[str] = mapped_column(Text)
    row_hash: Mapped[str] = mapped_column(String(32))

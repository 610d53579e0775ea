"""The local mirror of the population registry snapshot (one row per citizen), and what vaxlink
writes back to the registry (export batches, their rows, the acknowledged watermark)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime


class Citizen(Base):
    """A citizen as the national population database knows them."""

    __tablename__ = "citizen"
    __table_args__ = (
        Index("ix_citizen_name_dob", "name_folded", "date_of_birth"),
        Index("ix_citizen_namekey_dob", "name_key", "date_of_birth"),
        Index("ix_citizen_dob", "date_of_birth"),
    )

    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(120))
    #: Folded family and given name only: finds a record whose middle name was dropped.
    name_key: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[str] = mapped_column(String(10))
    dob_precision: Mapped[str] = mapped_column(String(5))
    sex: Mapped[str] = mapped_column(String(1))
    province_code: Mapped[str] = mapped_column(String(3), index=True)
    district_code: Mapped[str | None] = mapped_column(String(3))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    old_id: Mapped[str | None] = mapped_column(String(9), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(15), index=True)
    row_hash: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    source_row: Mapped[int] = mapped_column(Integer)


class ExportBatch(Base):
    """One write-back batch: verified vaccination statuses sent to the population registry
    (docs/formats.md §6). Its rows are kept, so a batch re-sent carries the same content."""

    __tablename__ = "registry_export_batch"

    batch_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: `full` (every citizen with a status) or `incremental` (only changes since the last
    #: acknowledged batch).
    mode: Mapped[str] = mapped_column(String(12))
    #: The instant the statuses were read; every row of the batch says it.
    as_of: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(Integer)
    #: SHA-256 (hex) of the batch's rows as canonical CSV (the file drop's bytes in CSV form).
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: Rows per HTTP chunk, fixed when the batch is made so a re-send cuts the same chunks.
    chunk_rows: Mapped[int] = mapped_column(Integer)
    #: `pending` until the registry (or the file drop) has it, then `acknowledged`.
    state: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    #: Where it was acknowledged: `file` or `http`.
    target: Mapped[str | None] = mapped_column(String(8))


class ExportRow(Base):
    """One citizen's status as a batch sent it (docs/formats.md §6 columns)."""

    __tablename__ = "registry_export_row"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("registry_export_batch.batch_id"), primary_key=True
    )
    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    #: MD5 (hex) of the status columns (not `as_of`): what the watermark compares.
    content_hash: Mapped[str] = mapped_column(String(32))
    doses_verified: Mapped[int] = mapped_column(Integer)
    last_dose_date: Mapped[str | None] = mapped_column(String(10))
    vaccine_codes: Mapped[str | None] = mapped_column(String(255))
    fully_vaccinated: Mapped[str] = mapped_column(String(3))
    certificate_uvci: Mapped[str | None] = mapped_column(String(72))
    certificate_valid_from: Mapped[str | None] = mapped_column(String(20))
    certificate_valid_until: Mapped[str | None] = mapped_column(String(20))


class ExportState(Base):
    """The watermark: each citizen's status as the registry last acknowledged it."""

    __tablename__ = "registry_export_state"

    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(ForeignKey("registry_export_batch.batch_id"))

"""Dose records: the raw values exactly as the site sent them, beside the parsed values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    literal,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base
from vaxlink.records.lifecycle import DoseStatus


class DoseCategory(StrEnum):
    """Primary series, additional dose (mũi bổ sung) or booster (mũi nhắc lại)."""

    PRIMARY = "primary"
    ADDITIONAL = "additional"
    BOOSTER = "booster"


class DoseRecord(Base):
    """One dose as entered at a vaccination site; raw_* columns are never updated."""

    __tablename__ = "dose_record"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Not indexed: no query selects doses by batch, and batches are never deleted.
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    source_row: Mapped[int] = mapped_column(Integer)
    row_hash: Mapped[str] = mapped_column(String(32))

    raw_full_name: Mapped[str | None] = mapped_column(Text)
    raw_date_of_birth: Mapped[str | None] = mapped_column(String(64))
    raw_sex: Mapped[str | None] = mapped_column(String(32))
    raw_id_number: Mapped[str | None] = mapped_column(String(64))
    raw_phone: Mapped[str | None] = mapped_column(String(64))
    raw_province_code: Mapped[str | None] = mapped_column(String(32))
    raw_district_code: Mapped[str | None] = mapped_column(String(32))
    raw_ward_code: Mapped[str | None] = mapped_column(String(32))
    raw_vaccine: Mapped[str | None] = mapped_column(String(128))
    raw_lot_number: Mapped[str | None] = mapped_column(String(64))
    raw_vaccination_date: Mapped[str | None] = mapped_column(String(64))
    raw_dose_number: Mapped[str | None] = mapped_column(String(32))
    raw_facility_code: Mapped[str | None] = mapped_column(String(64))
    raw_extra: Mapped[str | None] = mapped_column(Text)

    full_name: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    dob_precision: Mapped[str | None] = mapped_column(String(5))
    sex: Mapped[str | None] = mapped_column(String(1))
    id_number: Mapped[str | None] = mapped_column(String(64))
    id_kind: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str | None] = mapped_column(String(15))
    province_code: Mapped[str | None] = mapped_column(String(3))
    district_code: Mapped[str | None] = mapped_column(String(3))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    vaccine_key: Mapped[str] = mapped_column(String(64))
    vaccine_mp: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str | None] = mapped_column(String(64))
    vaccination_date: Mapped[dt.date] = mapped_column(Date)
    dose_number: Mapped[int] = mapped_column(Integer)
    dose_category: Mapped[str] = mapped_column(String(12))
    dose_sequence: Mapped[int] = mapped_column(Integer)
    # Indexed for approval only (certificates.models): a site's approvable doses.
    facility_code: Mapped[str | None] = mapped_column(String(64))
    warnings: Mapped[str | None] = mapped_column(Text)

    # Written only by `records.lifecycle`, along its transition table.
    status: Mapped[str] = mapped_column(String(12), default=DoseStatus.PENDING, index=True)
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        # Only linked doses: every query selects doses by a citizen (= or IN, which both stores
        # know implies NOT NULL), and an import's new doses, linked to nobody yet, then cost the
        # index nothing, so a bulk load keeps it instead of rebuilding it.
        Index("ix_dose_record_citizen_id", "citizen_id",
              sqlite_where=text("citizen_id IS NOT NULL"),
              postgresql_where=text("citizen_id IS NOT NULL")),
    )  # fmt: skip

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declared form


__all__ = ["DoseCategory", "DoseRecord", "DoseStatus", "status_is"]


def status_is(statuses: Iterable[str]) -> ColumnElement[bool]:
    """`status = 'a' OR status = 'b' …` over `dose_record`, the values written inline.

    The form of every partial index over dose statuses and of the queries that use one. SQLite
    uses a partial index only when the query repeats the index's WHERE term, constants and all;
    and it tests an IN list through a temporary b-tree for each inserted row (2 s a million rows,
    measured), where ORs cost nothing.
    """
    column = DoseRecord.__table__.c.status
    return or_(*(column == literal(str(s), literal_execute=True) for s in statuses))


class PersonRef(Base):
    """The opaque reference of a citizen ID (`vaxlink.records.refs`): URLs, audit entries and
    partner APIs carry it instead of the ID number."""

    __tablename__ = "person_ref"

    ref: Mapped[str] = mapped_column(String(32), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(12), unique=True)

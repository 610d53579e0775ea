"""Corrections as versions: one row per changed field of a dose, who/when/why, old and new value.

The worklist's indexes over `dose_record` live here too: they serve the cleaning queries
(a commune's, district's or province's open doses in id order, the keyset of the worklist).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base
from vaxlink.records.service import DoseRecord, DoseStatus, status_is


class ChangeKind(StrEnum):
    """What produced a version: a field correction or one of the police decisions."""

    CORRECTION = "correction"
    CONFIRM = "confirm"
    IDENTITY = "identity"
    CANNOT_VERIFY = "cannot_verify"
    #: Another dose of the same person, decided with the decision on this one.
    PROPAGATED = "propagated"
    #: The online linkage re-linked the dose after an identity correction.
    RELINK = "relink"
    #: A police decision undone (and what it propagated): the values before it are back.
    UNDO = "undo"


class DoseCorrection(Base):
    """One field of one version of a dose's corrections; `dose_record.raw_*` stays as sent."""

    __tablename__ = "dose_correction"
    __table_args__ = (
        UniqueConstraint("dose_record_id", "version", "field"),
        Index("ix_dose_correction_source", "source_dose_id", "source_version"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dose_record_id: Mapped[int] = mapped_column(ForeignKey("dose_record.id"))
    #: 1, 2, … per dose: all fields changed by one save share a version.
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    #: The dose's row version the person saw when saving (what optimistic locking checked).
    base_version: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[int | None] = mapped_column(Integer)
    changed_by_username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    #: Set when the change was typed for another body (commune committee for the health station).
    on_behalf_of: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    #: The citizen report (feedback ticket) the correction answers, if any.
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: A propagated change: the dose and the correction version of the decision it came from
    #: (undoing that decision reverses exactly these).
    source_dose_id: Mapped[int | None] = mapped_column(Integer)
    source_version: Mapped[int | None] = mapped_column(Integer)
    #: An identity fix typed by the commune committee: the signed police list it rests on.
    verification_list_id: Mapped[int | None] = mapped_column(Integer)


class PoliceList(Base):
    """A numbered police verification list: the doses a commune police officer took out (the
    worklist's Excel export) to verify; once the police mark it verified (signed on paper,
    `paper_ref`), the commune committee may type the identity fixes of its doses."""

    __tablename__ = "police_verification_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The unit of the officer who made it ("ward:26734"), the list's scope.
    unit: Mapped[str] = mapped_column(String(32), index=True)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_by_username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    doses: Mapped[int] = mapped_column(Integer)
    verified_by: Mapped[int | None] = mapped_column(Integer)
    verified_by_username: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: The signed paper's reference (document number, date) the officer gave when verifying.
    paper_ref: Mapped[str | None] = mapped_column(String(200))


class PoliceListItem(Base):
    """One dose on a police verification list, at the version it was listed at."""

    __tablename__ = "police_verification_item"
    __table_args__ = (UniqueConstraint("list_id", "dose_record_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("police_verification_list.id"))
    dose_record_id: Mapped[int] = mapped_column(ForeignKey("dose_record.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)


_DOSE = DoseRecord.__table__.c
#: The statuses a worklist holds, in the order the partial indexes' predicate names them.
WORKLIST_STATUSES: Final = (DoseStatus.INVALID, DoseStatus.REVIEW, DoseStatus.UNMATCHED)


def in_worklist() -> ColumnElement[bool]:
    """The worklist's statuses as the district and province worklist indexes state them.

    PostgreSQL proves that a query's narrower status filter implies that predicate; SQLite uses
    the indexes only when the query repeats it (see `status_is`), so every worklist query
    carries this term as well.
    """
    return status_is(WORKLIST_STATUSES)


# Keyset of the worklist at each level of scope: equality on the unit and status, then id order.
# The ward index holds every dose: `propagate` finds a person's other doses still pending through
# it. The district and province ones serve the worklist alone, so they hold only its doses: about
# a tenth of all once linkage has run, and none of an import's new (pending) rows, so a bulk load
# keeps them as they are instead of dropping and rebuilding them.
Index("ix_dose_record_worklist_ward", _DOSE.ward_code, _DOSE.status, _DOSE.id)
Index("ix_dose_record_worklist_district", _DOSE.district_code, _DOSE.status, _DOSE.id,
      sqlite_where=in_worklist(), postgresql_where=in_worklist())  # fmt: skip
Index("ix_dose_record_worklist_province", _DOSE.province_code, _DOSE.status, _DOSE.id,
      sqlite_where=in_worklist(), postgresql_where=in_worklist())  # fmt: skip
# A site's doses in the worklist: the ageing of unfixed errors per site (reports.ageing) finds
# the doses of an area's sites wherever their people live (migration 0017).
Index("ix_dose_record_worklist_site", _DOSE.facility_code, _DOSE.id,
      sqlite_where=in_worklist(), postgresql_where=in_worklist())  # fmt: skip

"""Report tables: the daily figures per unit and site (an aggregate kept up to date by set-based
statements), and the daily report files generated from them.

A figures row is addressed by its geographic path: ('', '', '', '') is the nation, (P, '', '', '')
a province, (P, D, '', '') a district, (P, D, W, '') a ward, and (P, D, '', F) the part of site F's
work that concerns district D. An empty code below the row's own level means "not applicable";
an empty code AT the row's level means "not given" (doses whose ward is unknown form the row
(P, D, '', '') at level ward), so the rows of one level always add up to their parent.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base, UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")
_COUNT = BigInteger().with_variant(Integer, "sqlite")

#: The additive figures, in display order (each one a column of `report_daily_figures`).
COUNT_METRICS: Final = (
    "doses_recorded",
    "doses_pending",
    "doses_sent",
    "doses_verified",
    "doses_auto_linked",
    "doses_review",
    "doses_unmatched",
    "doses_invalid",
    "doses_identity_first_unverified",
    "people_verified",
    "people_not_verified",
    "people_without_chip",
    "doses_approved",
    "certificates_issued",
    "certificates_revoked",
    "certificates_expiring",
    "tickets_open",
    "tickets_overdue",
    "tickets_resolved",
)
#: Not additive: computed over each unit's own tickets at every level.
MEDIAN_METRIC: Final = "ticket_median_hours"


class DailyFigures(Base):
    """Figures of one unit (or one site within a district) as of the end of one day."""

    __tablename__ = "report_daily_figures"
    __table_args__ = (
        Index("ix_report_daily_figures_lookup", "level", "province_code", "district_code", "day"),
    )

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: nation, province, district, ward or site.
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: When the row was computed, and whether it is final (computed after its day had ended).
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    final: Mapped[bool] = mapped_column(Boolean)

    doses_recorded: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_pending: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_sent: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_verified: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_auto_linked: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_review: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_unmatched: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_invalid: Mapped[int] = mapped_column(_COUNT, default=0)
    people_verified: Mapped[int] = mapped_column(_COUNT, default=0)
    people_not_verified: Mapped[int] = mapped_column(_COUNT, default=0)
    #: Added in migration 0013 (the campaign's rules, issue #16).
    people_without_chip: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_identity_first_unverified: Mapped[int] = mapped_column(_COUNT, default=0)
    doses_approved: Mapped[int] = mapped_column(_COUNT, default=0)
    certificates_issued: Mapped[int] = mapped_column(_COUNT, default=0)
    certificates_revoked: Mapped[int] = mapped_column(_COUNT, default=0)
    certificates_expiring: Mapped[int] = mapped_column(_COUNT, default=0)
    tickets_open: Mapped[int] = mapped_column(_COUNT, default=0)
    tickets_overdue: Mapped[int] = mapped_column(_COUNT, default=0)
    tickets_resolved: Mapped[int] = mapped_column(_COUNT, default=0)
    ticket_median_hours: Mapped[float | None] = mapped_column(Float)


class DailyReport(Base):
    """One generated daily report of one unit for one day: its files and whether it was sent."""

    __tablename__ = "report_daily"
    __table_args__ = (UniqueConstraint("day", "level", "unit_code", name="uq_report_daily_unit"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    level: Mapped[str] = mapped_column(String(8))
    unit_code: Mapped[str] = mapped_column(String(8))
    province_code: Mapped[str] = mapped_column(String(8))
    district_code: Mapped[str] = mapped_column(String(8))
    ward_code: Mapped[str] = mapped_column(String(8))
    generated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    generated_by: Mapped[str] = mapped_column(String(64))
    #: Paths relative to the data directory.
    xlsx_path: Mapped[str] = mapped_column(String(255))
    pdf_path: Mapped[str] = mapped_column(String(255))
    xlsx_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    email_error: Mapped[str | None] = mapped_column(String(255))


class CampaignPhase(Base):
    """One phase of the campaign (a đợt with its deadline): what must hold by when, for a unit
    and every unit below it. The dashboard reads its progress from `report_daily_figures`."""

    __tablename__ = "campaign_phase"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The unit the phase is set for (nation, province, district or ward) and its place.
    unit_level: Mapped[str] = mapped_column(String(8))
    unit_code: Mapped[str] = mapped_column(String(8))
    province_code: Mapped[str] = mapped_column(String(3), default="")
    district_code: Mapped[str] = mapped_column(String(3), default="")
    ward_code: Mapped[str] = mapped_column(String(5), default="")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date] = mapped_column(Date)
    #: What is measured (`vaxlink.reports.phases.TARGETS`) and the share to reach, 0..1.
    target_kind: Mapped[str] = mapped_column(String(32))
    target_share: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


TABLES: Final = (DailyFigures.__table__, DailyReport.__table__)

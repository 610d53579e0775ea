"""reports tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COUNTS = (
    "doses_recorded",
    "doses_pending",
    "doses_sent",
    "doses_verified",
    "doses_auto_linked",
    "doses_review",
    "doses_unmatched",
    "doses_invalid",
    "people_verified",
    "people_not_verified",
    "doses_approved",
    "certificates_issued",
    "certificates_revoked",
    "certificates_expiring",
    "tickets_open",
    "tickets_overdue",
    "tickets_resolved",
)


def upgrade() -> None:
    op.create_table(
        "report_daily_figures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("ward_code", sa.String(length=8), nullable=False),
        sa.Column("site_code", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        *(sa.Column(name, _ID, nullable=False) for name in _COUNTS),
        sa.Column("ticket_median_hours", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "day",
            "level",
            "province_code",
            "district_code",
            "ward_code",
            "site_code",
            name=op.f("pk_report_daily_figures"),
        ),
    )
    op.create_index(
        "ix_report_daily_figures_lookup",
        "report_daily_figures",
        ["level", "province_code", "district_code", "day"],
        unique=False,
    )
    op.create_table(
        "report_daily",
        sa.Column("id", _ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("ward_code", sa.String(length=8), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.Column("xlsx_path", sa.String(length=255), nullable=False),
        sa.Column("pdf_path", sa.String(length=255), nullable=False),
        sa.Column("xlsx_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_daily")),
        sa.UniqueConstraint("day", "level", "unit_code", name="uq_report_daily_unit"),
    )
    op.create_index(op.f("ix_report_daily_day"), "report_daily", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_daily_day"), table_name="report_daily")
    op.drop_table("report_daily")
    op.drop_index("ix_report_daily_figures_lookup", table_name="report_daily_figures")
    op.drop_table("report_daily_figures")

"""facilities and reports: focal-point directory per unit, campaign phases with deadlines
(issue #16)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


#: The worklist's statuses in the form of the other worklist indexes (migration 0007).
_WORKLIST = sa.text("status = 'invalid' OR status = 'review' OR status = 'unmatched'")


def upgrade() -> None:
    op.create_index("ix_dose_record_worklist_site", "dose_record", ["facility_code", "id"],
                    sqlite_where=_WORKLIST, postgresql_where=_WORKLIST)  # fmt: skip
    op.create_table(
        "focal_point",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("unit_level", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=3), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("ward_code", sa.String(length=5), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("campaign_role", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_focal_point")),
    )
    op.create_index(
        "ix_focal_point_place", "focal_point", ["province_code", "district_code", "ward_code"]
    )
    op.create_table(
        "campaign_phase",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_level", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=3), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("ward_code", sa.String(length=5), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_share", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_phase")),
    )


def downgrade() -> None:
    op.drop_index("ix_dose_record_worklist_site", table_name="dose_record")
    op.drop_table("campaign_phase")
    op.drop_index("ix_focal_point_place", table_name="focal_point")
    op.drop_table("focal_point")

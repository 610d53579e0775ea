"""cleaning: numbered police verification lists (the police's worklist export, marked verified
once signed) and the list a commune committee's identity fix rests on

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "police_verification_list",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_username", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.Column("verified_by_username", sa.String(64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paper_ref", sa.String(200), nullable=True),
    )
    op.create_index("ix_police_verification_list_unit", "police_verification_list", ["unit"])
    op.create_table(
        "police_verification_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "list_id", sa.Integer(), sa.ForeignKey("police_verification_list.id"), nullable=False
        ),
        sa.Column(
            "dose_record_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("dose_record.id"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("list_id", "dose_record_id"),
    )
    op.create_index(
        "ix_police_verification_item_dose_record_id", "police_verification_item",
        ["dose_record_id"],
    )  # fmt: skip
    op.add_column("dose_correction", sa.Column("verification_list_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dose_correction") as batch:
        batch.drop_column("verification_list_id")
    op.drop_index("ix_police_verification_item_dose_record_id", "police_verification_item")
    op.drop_table("police_verification_item")
    op.drop_index("ix_police_verification_list_unit", "police_verification_list")
    op.drop_table("police_verification_list")

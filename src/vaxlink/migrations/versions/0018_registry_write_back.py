"""registry: write-back of verified vaccination statuses (batches, their rows, the watermark)
(issue #18)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_export_batch",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.String(length=20), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("chunk_rows", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_registry_export_batch")),
    )
    op.create_index(
        "ix_registry_export_batch_state", "registry_export_batch", ["state"], unique=False
    )
    op.create_table(
        "registry_export_row",
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("doses_verified", sa.Integer(), nullable=False),
        sa.Column("last_dose_date", sa.String(length=10), nullable=True),
        sa.Column("vaccine_codes", sa.String(length=255), nullable=True),
        sa.Column("fully_vaccinated", sa.String(length=3), nullable=False),
        sa.Column("certificate_uvci", sa.String(length=72), nullable=True),
        sa.Column("certificate_valid_from", sa.String(length=20), nullable=True),
        sa.Column("certificate_valid_until", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["registry_export_batch.batch_id"],
            name=op.f("fk_registry_export_row_batch_id_registry_export_batch"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "citizen_id", name=op.f("pk_registry_export_row")),
    )  # fmt: skip
    op.create_table(
        "registry_export_state",
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["registry_export_batch.batch_id"],
            name=op.f("fk_registry_export_state_batch_id_registry_export_batch"),
        ),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_registry_export_state")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("registry_export_state")
    op.drop_table("registry_export_row")
    op.drop_index("ix_registry_export_batch_state", table_name="registry_export_batch")
    op.drop_table("registry_export_batch")

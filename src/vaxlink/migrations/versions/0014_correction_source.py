"""cleaning: a propagated correction names the decision it came from (so undoing the decision
reverses exactly what it propagated)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dose_correction", sa.Column("source_dose_id", sa.Integer(), nullable=True))
    op.add_column("dose_correction", sa.Column("source_version", sa.Integer(), nullable=True))
    op.create_index(
        "ix_dose_correction_source", "dose_correction", ["source_dose_id", "source_version"]
    )


def downgrade() -> None:
    op.drop_index("ix_dose_correction_source", table_name="dose_correction")
    with op.batch_alter_table("dose_correction") as batch:
        batch.drop_column("source_version")
        batch.drop_column("source_dose_id")

"""person_ref: opaque references of citizen IDs for URLs, audit entries and partner APIs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_ref",
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_person_ref")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_person_ref_citizen_id")),
    )


def downgrade() -> None:
    op.drop_table("person_ref")

"""cleaning tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WORKLIST_INDEXES = {
    "ix_dose_record_worklist_ward": ["ward_code", "status", "id"],
    "ix_dose_record_worklist_district": ["district_code", "status", "id"],
    "ix_dose_record_worklist_province": ["province_code", "status", "id"],
}


def upgrade() -> None:
    op.create_table(
        "dose_correction",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dose_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_by_username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dose_record_id"], ["dose_record.id"],
            name=op.f("fk_dose_correction_dose_record_id_dose_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_correction")),
        sa.UniqueConstraint(
            "dose_record_id", "version", "field", name=op.f("uq_dose_correction_dose_record_id")
        ),
    )  # fmt: skip
    with op.batch_alter_table("dose_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dose_correction_ticket_id"), ["ticket_id"])
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        for name, columns in _WORKLIST_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        for name in _WORKLIST_INDEXES:
            batch_op.drop_index(name)
    with op.batch_alter_table("dose_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_correction_ticket_id"))
    op.drop_table("dose_correction")

"""feedback tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_challenge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("handle_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_challenge")),
        sa.UniqueConstraint("handle_hash", name=op.f("uq_feedback_challenge_handle_hash")),
    )
    op.create_table(
        "feedback_citizen_session",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_citizen_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feedback_citizen_session_token_hash")),
    )
    with op.batch_alter_table("feedback_citizen_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_citizen_session_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "feedback_rate_counter",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_feedback_rate_counter")),
    )
    op.create_table(
        "feedback_ticket",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("citizen_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dose_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.String(length=32), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("province_code", sa.String(length=3), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=True),
        sa.Column("ward_code", sa.String(length=5), nullable=True),
        sa.Column("facility_code", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dose_id"], ["dose_record.id"], name=op.f("fk_feedback_ticket_dose_id_dose_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_ticket")),
    )
    with op.batch_alter_table("feedback_ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_ticket_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            "ix_feedback_ticket_district_status", ["district_code", "status"], unique=False
        )
        batch_op.create_index("ix_feedback_ticket_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_feedback_ticket_ward_status", ["ward_code", "status"], unique=False
        )

    op.create_table(
        "feedback_attachment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["feedback_ticket.id"],
            name=op.f("fk_feedback_attachment_ticket_id_feedback_ticket"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_attachment")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_feedback_attachment_stored_name")),
    )
    with op.batch_alter_table("feedback_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_attachment_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "feedback_ticket_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["feedback_ticket.id"],
            name=op.f("fk_feedback_ticket_event_ticket_id_feedback_ticket"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_ticket_event")),
    )
    with op.batch_alter_table("feedback_ticket_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_ticket_event_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_ticket_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_ticket_event_ticket_id"))

    op.drop_table("feedback_ticket_event")
    with op.batch_alter_table("feedback_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_attachment_ticket_id"))

    op.drop_table("feedback_attachment")
    with op.batch_alter_table("feedback_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_ticket_ward_status")
        batch_op.drop_index("ix_feedback_ticket_status_due")
        batch_op.drop_index("ix_feedback_ticket_district_status")
        batch_op.drop_index(batch_op.f("ix_feedback_ticket_citizen_id"))

    op.drop_table("feedback_ticket")
    op.drop_table("feedback_rate_counter")
    with op.batch_alter_table("feedback_citizen_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_citizen_session_citizen_id"))

    op.drop_table("feedback_citizen_session")
    op.drop_table("feedback_challenge")

"""certificates: partner delivery — client scopes (fields, kinds), quota, expiry, rotation,
push state; the certificate change feed and its sequencer's head row (issue #18)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.db import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PENDING = sa.text("position IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("api_client") as t:
        t.add_column(sa.Column("fields", sa.String(16), nullable=False, server_default="full"))
        t.add_column(sa.Column("kinds", sa.String(16), nullable=False, server_default="v r"))
        t.add_column(sa.Column("per_minute", sa.Integer(), nullable=True))
        t.add_column(sa.Column("expires_at", UtcDateTime(), nullable=True))
        t.add_column(sa.Column("last_used_at", UtcDateTime(), nullable=True))
        t.add_column(sa.Column("rotated_at", UtcDateTime(), nullable=True))
        t.add_column(sa.Column("revoked_at", UtcDateTime(), nullable=True))
        t.add_column(sa.Column("revoked_by", sa.String(120), nullable=True))
        t.add_column(sa.Column("push_url", sa.String(500), nullable=True))
        t.add_column(sa.Column("push_cursor", _ID, nullable=False, server_default="0"))
        t.add_column(sa.Column("push_batch_end", _ID, nullable=True))
        t.add_column(sa.Column("push_attempts", sa.Integer(), nullable=False, server_default="0"))
        t.add_column(sa.Column("push_next_at", UtcDateTime(), nullable=True))
        t.add_column(sa.Column("push_last_error", sa.String(255), nullable=True))
        t.add_column(sa.Column("push_delivered_at", UtcDateTime(), nullable=True))
    op.create_table(
        "certificate_change",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("position", _ID, nullable=True),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("event", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"],
                                name=op.f("fk_certificate_change_certificate_id_certificate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_change")),
        sa.UniqueConstraint("position", name=op.f("uq_certificate_change_position")),
    )  # fmt: skip
    op.create_index("ix_certificate_change_pending", "certificate_change", ["id"],
                    sqlite_where=_PENDING, postgresql_where=_PENDING)  # fmt: skip
    op.create_table(
        "certificate_change_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", _ID, nullable=False),
        sa.Column("sequenced_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_change_head")),
    )
    op.execute("INSERT INTO certificate_change_head (id, position) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("certificate_change_head")
    op.drop_index("ix_certificate_change_pending", table_name="certificate_change")
    op.drop_table("certificate_change")
    with op.batch_alter_table("api_client") as t:
        for name in (
            "push_delivered_at",
            "push_last_error",
            "push_next_at",
            "push_attempts",
            "push_batch_end",
            "push_cursor",
            "push_url",
            "revoked_by",
            "revoked_at",
            "rotated_at",
            "last_used_at",
            "expires_at",
            "per_minute",
            "kinds",
            "fields",
        ):
            t.drop_column(name)  # fmt: skip

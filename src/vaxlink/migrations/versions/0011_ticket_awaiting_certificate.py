"""feedback: ticket statuses up to 24 characters (`awaiting_certificate`: the fix is made, the new
certificate waits for a vaccination site's signature)

Downgrading sends waiting tickets back to `in_progress` (the station's answer is kept) before the
columns narrow again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_ticket", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=12),
                              type_=sa.String(length=24), existing_nullable=False)  # fmt: skip
    with op.batch_alter_table("feedback_ticket_event", schema=None) as batch_op:
        batch_op.alter_column("from_status", existing_type=sa.String(length=12),
                              type_=sa.String(length=24), existing_nullable=True)  # fmt: skip
        batch_op.alter_column("to_status", existing_type=sa.String(length=12),
                              type_=sa.String(length=24), existing_nullable=False)  # fmt: skip


def downgrade() -> None:
    op.execute("UPDATE feedback_ticket SET status = 'in_progress' "
               "WHERE status = 'awaiting_certificate'")  # fmt: skip
    op.execute("UPDATE feedback_ticket_event SET to_status = 'awaiting' "
               "WHERE to_status = 'awaiting_certificate'")  # fmt: skip
    op.execute("UPDATE feedback_ticket_event SET from_status = 'awaiting' "
               "WHERE from_status = 'awaiting_certificate'")  # fmt: skip
    with op.batch_alter_table("feedback_ticket_event", schema=None) as batch_op:
        batch_op.alter_column("to_status", existing_type=sa.String(length=24),
                              type_=sa.String(length=12), existing_nullable=False)  # fmt: skip
        batch_op.alter_column("from_status", existing_type=sa.String(length=24),
                              type_=sa.String(length=12), existing_nullable=True)  # fmt: skip
    with op.batch_alter_table("feedback_ticket", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=24),
                              type_=sa.String(length=12), existing_nullable=False)  # fmt: skip

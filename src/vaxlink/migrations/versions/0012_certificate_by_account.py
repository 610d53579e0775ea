"""certificates: index (created_by, created_at) for per-account issuance volume and its daily cap

The daily cap (VAXLINK_ISSUANCE_CAP_PER_DAY) counts an account's certificates of the day before
each chunk a batch writes; without the index that count scans the certificate table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
# Renumbered on merge: 0011 is another branch's; this one follows whichever is newest then.
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_certificate_by_created", "certificate", ["created_by", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_certificate_by_created", table_name="certificate")

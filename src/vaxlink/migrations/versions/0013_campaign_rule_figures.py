"""reports: figures for the campaign's rules (vaccinated people without a chip card; doses since
the identity-first date whose identity is not verified)

Days already final keep 0 in both (a final day is never recomputed; `vaxlink report refresh
--date D` recomputes one), and their "people not verified" keeps the old count (every resident
without a linked dose); today's figures take the new definitions at the next refresh.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLUMNS = ("people_without_chip", "doses_identity_first_unverified")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column(
            "report_daily_figures", sa.Column(name, _COUNT, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("report_daily_figures") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)

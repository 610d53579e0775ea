"""lighter dose indexes: worklist (district, province), citizen and site indexes partial; no batch one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PARTIAL = {
    "ix_dose_record_worklist_district": ["district_code", "status", "id"],
    "ix_dose_record_worklist_province": ["province_code", "status", "id"],
}
# ORs, not IN: SQLite tests an IN list per inserted row through a temporary b-tree (slow).
_WHERE = sa.text("status = 'invalid' OR status = 'review' OR status = 'unmatched'")
_LINKED = sa.text("citizen_id IS NOT NULL")
_APPROVABLE = sa.text("status = 'verified' OR status = 'auto_linked'")


def upgrade() -> None:
    for name, columns in _PARTIAL.items():
        op.drop_index(name, table_name="dose_record")
        op.create_index(name, "dose_record", columns, sqlite_where=_WHERE, postgresql_where=_WHERE)
    # No query selects doses by batch and batches are never deleted: the index only cost writes.
    op.drop_index("ix_dose_record_batch_id", table_name="dose_record")
    # Only linked doses are looked up by citizen (= or IN, which implies NOT NULL).
    op.drop_index("ix_dose_record_citizen_id", table_name="dose_record")
    op.create_index("ix_dose_record_citizen_id", "dose_record", ["citizen_id"],
                    sqlite_where=_LINKED, postgresql_where=_LINKED)  # fmt: skip
    # A site's approvable doses in id order, for the approval queue and signing.
    op.drop_index("ix_dose_record_facility_code", table_name="dose_record")
    op.create_index("ix_dose_record_approvable", "dose_record", ["facility_code", "id"],
                    sqlite_where=_APPROVABLE, postgresql_where=_APPROVABLE)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_dose_record_approvable", table_name="dose_record")
    op.create_index("ix_dose_record_facility_code", "dose_record", ["facility_code"])
    op.drop_index("ix_dose_record_citizen_id", table_name="dose_record")
    op.create_index("ix_dose_record_citizen_id", "dose_record", ["citizen_id"])
    op.create_index("ix_dose_record_batch_id", "dose_record", ["batch_id"])
    for name, columns in _PARTIAL.items():
        op.drop_index(name, table_name="dose_record")
        op.create_index(name, "dose_record", columns)

"""certificates: the district health centre signs the list of its residents' verified records
(district approvals over the sites' approvals, HCMC DoH 2665/SYT-NVY)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "district_approval",
        sa.Column("id", _ID, nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("manifest_version", sa.String(length=40), nullable=False),
        sa.Column("manifest_digest", sa.String(length=64), nullable=False),
        sa.Column("entries_digest", sa.String(length=64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("signer_kid", sa.String(length=16), nullable=False),
        sa.Column("signer_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("signer_certificate", sa.LargeBinary(), nullable=False),
        sa.Column("approver", sa.String(length=120), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_approval")),
        sa.UniqueConstraint("manifest_digest", name=op.f("uq_district_approval_manifest_digest")),
    )
    op.create_index(
        op.f("ix_district_approval_district_code"), "district_approval", ["district_code"]
    )
    op.create_table(
        "district_approval_entry",
        sa.Column("approval_id", _ID, nullable=False),
        sa.Column("dose_id", _ID, nullable=False),
        sa.Column("dose_version", sa.Integer(), nullable=False),
        sa.Column("record_digest", sa.String(length=64), nullable=False),
        sa.Column("site_approval_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["district_approval.id"],
            name=op.f("fk_district_approval_entry_approval_id_district_approval"),
        ),
        sa.ForeignKeyConstraint(
            ["dose_id"], ["dose_record.id"],
            name=op.f("fk_district_approval_entry_dose_id_dose_record"),
        ),
        sa.ForeignKeyConstraint(
            ["site_approval_id"], ["facility_approval.id"],
            name=op.f("fk_district_approval_entry_site_approval_id_facility_approval"),
        ),
        sa.PrimaryKeyConstraint("approval_id", "dose_id", name=op.f("pk_district_approval_entry")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_district_approval_entry_dose_id"), "district_approval_entry", ["dose_id"]
    )
    # A district's residents in citizen-ID order: the keyset of the district's list.
    op.create_index("ix_citizen_district", "citizen", ["district_code", "citizen_id"])


def downgrade() -> None:
    op.drop_index("ix_citizen_district", table_name="citizen")
    op.drop_index(op.f("ix_district_approval_entry_dose_id"), table_name="district_approval_entry")
    op.drop_table("district_approval_entry")
    op.drop_index(op.f("ix_district_approval_district_code"), table_name="district_approval")
    op.drop_table("district_approval")

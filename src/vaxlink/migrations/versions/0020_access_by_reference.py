"""partner access log by person reference (no ID number kept), and the unused login-attempt
table dropped (logins are throttled by `vaxlink.ratelimit`, in its own table)

`certificate_access` kept the citizen ID of every partner fetch; it now keeps the person's opaque
reference (`vaxlink.records.refs`), as the audit log does. Existing rows are converted: their
references are taken from `person_ref`, and made there first for an ID that has none.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _refs_for_every_logged_id() -> None:
    """Make the reference of each logged citizen ID that has none (set-wise, in batches)."""
    from vaxlink.records.refs import new_ref

    bind = op.get_bind()
    missing = bind.execute(sa.text(
        "SELECT DISTINCT a.citizen_id FROM certificate_access a "
        "WHERE NOT EXISTS (SELECT 1 FROM person_ref r WHERE r.citizen_id = a.citizen_id)"
    )).scalars().all()  # fmt: skip
    insert = sa.text("INSERT INTO person_ref (ref, citizen_id) VALUES (:ref, :citizen_id)")
    for start in range(0, len(missing), 10_000):
        bind.execute(insert, [{"ref": new_ref(), "citizen_id": c}
                              for c in missing[start:start + 10_000]])  # fmt: skip


def upgrade() -> None:
    _refs_for_every_logged_id()
    with op.batch_alter_table("certificate_access") as t:
        t.add_column(sa.Column("person_ref", sa.String(32), nullable=True))
    op.execute(
        "UPDATE certificate_access SET person_ref = (SELECT r.ref FROM person_ref r "
        "WHERE r.citizen_id = certificate_access.citizen_id)"
    )
    with op.batch_alter_table("certificate_access") as t:
        t.drop_index("ix_certificate_access_citizen_id")
        t.drop_column("citizen_id")
        t.alter_column("person_ref", existing_type=sa.String(32), nullable=False)
        t.create_index("ix_certificate_access_person_ref", ["person_ref"], unique=False)
    op.drop_index("ix_auth_login_attempt_client_key_at", table_name="auth_login_attempt")
    op.drop_index("ix_auth_login_attempt_username_key_at", table_name="auth_login_attempt")
    op.drop_table("auth_login_attempt")


def downgrade() -> None:
    op.create_table(
        "auth_login_attempt",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_login_attempt")),
    )
    op.create_index("ix_auth_login_attempt_client_key_at", "auth_login_attempt",
                    ["client_key", "at"])  # fmt: skip
    op.create_index("ix_auth_login_attempt_username_key_at", "auth_login_attempt",
                    ["username_key", "at"])  # fmt: skip
    with op.batch_alter_table("certificate_access") as t:
        t.add_column(sa.Column("citizen_id", sa.String(12), nullable=True))
    op.execute(
        "UPDATE certificate_access SET citizen_id = (SELECT r.citizen_id FROM person_ref r "
        "WHERE r.ref = certificate_access.person_ref)"
    )
    with op.batch_alter_table("certificate_access") as t:
        t.drop_index("ix_certificate_access_person_ref")
        t.drop_column("person_ref")
        t.alter_column("citizen_id", existing_type=sa.String(12), nullable=False)
        t.create_index("ix_certificate_access_citizen_id", ["citizen_id"], unique=False)

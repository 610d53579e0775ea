"""auth: second-factor secrets encrypted at rest (AES-256-GCM, key VAXLINK_TOTP_KEY)

Existing secrets in clear are sealed with the key the settings give (`vaxlink.auth.totp.key_of`:
VAXLINK_TOTP_KEY, or the development key file in the data directory); the column keeps its
width (the sealed form of a 20-byte secret is 64 characters). Downgrading opens them again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ROWS = sa.text("SELECT id, totp_secret FROM auth_user WHERE totp_secret IS NOT NULL")
_SET = sa.text("UPDATE auth_user SET totp_secret = :s WHERE id = :id")


def _key() -> bytes:
    from vaxlink.auth.totp import key_of
    from vaxlink.settings import Settings

    return key_of(Settings())


def upgrade() -> None:
    from vaxlink.auth.totp import is_clear, seal_for

    bind = op.get_bind()
    clear = [(r.id, r.totp_secret) for r in bind.execute(_ROWS) if is_clear(r.totp_secret)]
    if not clear:
        return
    key = _key()
    for user_id, secret in clear:
        bind.execute(_SET, {"id": user_id, "s": seal_for(user_id, secret, key)})


def downgrade() -> None:
    from vaxlink.auth.totp import is_clear, open_for

    bind = op.get_bind()
    sealed = [(r.id, r.totp_secret) for r in bind.execute(_ROWS) if not is_clear(r.totp_secret)]
    if not sealed:
        return
    key = _key()
    for user_id, stored in sealed:
        bind.execute(_SET, {"id": user_id, "s": open_for(user_id, stored, key)})

"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy.engine import Engine

from vaxlink.db import alembic_config, upgrade


def test_models_and_migrations_agree(store: Engine) -> None:
    upgrade(store)  # idempotent on an up-to-date store
    command.check(alembic_config(store))  # raises if autogenerate would emit any operation

"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy.engine import Engine

from vaxlink.db import (
    alembic_config,
    alembic_head_revision,
    head_revision,
    stored_revision,
    upgrade,
)


def test_models_and_migrations_agree(store: Engine) -> None:
    upgrade(store)  # idempotent on an up-to-date store
    command.check(alembic_config(store))  # raises if autogenerate would emit any operation


def test_a_store_behind_the_head_is_brought_to_it(store: Engine) -> None:
    # upgrade() skips Alembic when the stored revision is the head, so it must tell them apart.
    upgrade(store)
    head = head_revision()
    assert head is not None
    assert stored_revision(store) == head
    command.downgrade(alembic_config(store), "-1")
    assert stored_revision(store) not in (None, head)
    upgrade(store)
    assert stored_revision(store) == head
    command.check(alembic_config(store))


def test_the_head_read_from_the_files_is_alembic_s() -> None:
    assert head_revision() == alembic_head_revision()
    assert head_revision() is not None

"""Alembic environment: uses the engine handed over in config.attributes (never reads a file)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

from vaxlink.models import load_all

target_metadata = load_all().metadata


def render_item(type_: str, obj: Any, _ctx: Any) -> str | Literal[False]:
    """Render custom column types as the SQL type they wrap, so migrations import nothing of ours."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_online() -> None:
    """Run migrations on the engine the caller provided."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""Alembic environment: uses the engine handed over in config.attributes (never reads a file)."""

from __future__ import annotations

from alembic import context

from vaxlink.models import load_all

target_metadata = load_all().metadata


def run_migrations_online() -> None:
    """Run migrations on the engine the caller provided."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

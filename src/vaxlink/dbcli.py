"""`vaxlink db`: schema migrations for the configured store."""

from __future__ import annotations

import typer
from rich.console import Console

from vaxlink.db import alembic_config, make_engine, upgrade
from vaxlink.settings import get_settings

app = typer.Typer(help="The transactional store: migrations and status.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply every pending migration (commands also do this on first use)."""
    engine = make_engine(get_settings().resolved_database_url())
    upgrade(engine)
    Console().print(f"schema up to date on {engine.url.render_as_string(hide_password=True)}")


@app.command("current")
def current_cmd() -> None:
    """Show the store's migration revision."""
    from alembic import command

    engine = make_engine(get_settings().resolved_database_url())
    command.current(alembic_config(engine), verbose=False)

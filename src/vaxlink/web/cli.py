"""`vaxlink serve`: run the web app with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def default_workers(database_url: str) -> int:
    """Worker processes when `--workers` is not given: one on SQLite (one writer; the process's
    writer queue is what keeps its latency flat), two on PostgreSQL (a worker spends most of a
    request in Python, so a second process uses the second core)."""
    from sqlalchemy.engine import make_url

    return 1 if make_url(database_url).get_backend_name() == "sqlite" else 2


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (PostgreSQL only; default 1 on SQLite, 2 on PostgreSQL)."
        ),
    ] = None,
) -> None:
    """Serve the web app and the REST API (OpenAPI at /docs)."""
    import uvicorn

    from vaxlink.settings import get_settings

    if workers is None:
        workers = default_workers(get_settings().resolved_database_url())
    typer.echo(f"vaxlink is serving at http://{host}:{port}/  (API docs: /docs)")
    # The access log is off: at the warning level its lines were dropped anyway, after being
    # formatted for every request.
    uvicorn.run(
        "vaxlink.web.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning", access_log=False,
    )  # fmt: skip

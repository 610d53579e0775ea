"""`vaxlink serve`: run the web app with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Serve the web app and the REST API (OpenAPI at /docs)."""
    import uvicorn

    typer.echo(f"vaxlink is serving at http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(
        "vaxlink.web.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level="warning",
    )  # fmt: skip

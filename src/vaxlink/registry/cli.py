"""`vaxlink registry`: load population-registry snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vaxlink import compose
from vaxlink.ingest.service import EXIT_QUARANTINED, print_report, stage_progress
from vaxlink.registry.importer import load_registry

app = typer.Typer(
    help="The population registry (its snapshot mirrored locally).", no_args_is_help=True
)


@app.command("load")
def load_cmd(
    file: Annotated[Path, typer.Argument(help="Registry snapshot: CSV (UTF-8), XLSX or Parquet.")],
) -> None:
    """Load a registry snapshot; refused rows are quarantined with reasons (exit status 5 if any)."""
    console = Console()
    with compose.running() as c:
        with stage_progress(console, f"Loading {file.name}") as on_stage:
            report = load_registry(c.engine, file, settings=c.settings, clock=c.clock,
                                   imported_by=c.operator(), on_stage=on_stage, sole_user=True)  # fmt: skip
        c.audit_cli_now("registry.load", "import_batch", report.batch_id, detail=report.counts())
    print_report(console, report, "Registry snapshot")
    if report.quarantined:
        raise typer.Exit(EXIT_QUARANTINED)


@app.command("serve")
def serve_cmd(
    snapshot: Annotated[
        Path | None, typer.Option(help="Load this snapshot first (CSV/XLSX/Parquet).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
) -> None:
    """Serve a reference population registry over HTTP (stands in for the national database)."""
    import uvicorn

    from vaxlink.registry.service_app import create_registry_app

    with compose.running() as c:
        if snapshot is not None:
            report = load_registry(c.engine, snapshot, settings=c.settings, clock=c.clock,
                                   imported_by=c.operator())
            c.audit_cli_now("registry.load", "import_batch", report.batch_id,
                            detail=report.counts())
            Console().print(f"loaded {report.imported + report.updated + report.unchanged:,} citizens")
        Console().print(f"reference registry at http://{host}:{port}/v1/candidates")
        uvicorn.run(create_registry_app(c.engine), host=host, port=port, log_level="warning")

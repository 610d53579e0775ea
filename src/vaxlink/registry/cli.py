"""`vaxlink registry`: load population-registry snapshots, serve the reference registry, and
write verified vaccination statuses back to the registry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vaxlink import compose
from vaxlink.ingest.service import EXIT_QUARANTINED, Lang, print_report, stage_progress
from vaxlink.registry.importer import load_registry

app = typer.Typer(
    help="The population registry (its snapshot mirrored locally).", no_args_is_help=True
)


@app.command("load")
def load_cmd(
    file: Annotated[Path, typer.Argument(help="Registry snapshot: CSV (UTF-8), XLSX or Parquet.")],
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of the reasons in the report (vi or en).")
    ] = Lang.vi,
) -> None:
    """Load a registry snapshot; refused rows are quarantined with reasons (exit status 5 if any)."""
    console = Console()
    with compose.running() as c:
        with stage_progress(console, f"Loading {file.name}") as on_stage:
            report = load_registry(c.engine, file, settings=c.settings, clock=c.clock,
                                   imported_by=c.operator(), on_stage=on_stage, sole_user=True,
                                  lang=lang.value)  # fmt: skip
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
            report = load_registry(
                c.engine, snapshot, settings=c.settings, clock=c.clock, imported_by=c.operator()
            )
            c.audit_cli_now(
                "registry.load", "import_batch", report.batch_id, detail=report.counts()
            )
            Console().print(
                f"loaded {report.imported + report.updated + report.unchanged:,} citizens"
            )
        Console().print(f"reference registry at http://{host}:{port}/v1/candidates")
        token = c.settings.registry_write_back_token
        app = create_registry_app(
            c.engine, write_back_token=token.get_secret_value() if token else None
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")


@app.command("write-back")
def write_back_cmd(
    full: Annotated[
        bool, typer.Option("--full", help="Every citizen with a status, not only the changes.")
    ] = False,
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder of the file drop the registry collects.")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="The registry service's base URL (HTTP).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="File drop format: parquet or csv.")
    ] = "parquet",
    batch: Annotated[
        str | None, typer.Option("--batch", help="Send this recorded batch again, as it was.")
    ] = None,
    every: Annotated[
        float | None,
        typer.Option("--every", min=1.0, help="Run again every this many minutes, until stopped."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Operator name kept on the audit.")] = None,
) -> None:
    """Send verified vaccination statuses to the population registry (docs/formats.md §6).

    Incremental by default: only the citizens whose status changed since the last acknowledged
    batch. A batch left pending by a failure is sent first, with the same content and keys."""
    from vaxlink.periodic import Periodic
    from vaxlink.registry.service import (
        FileDrop,
        HttpStatusSink,
        Mode,
        StatusSink,
        WriteBackReport,
        resend,
        write_back,
    )

    if (to is None) == (url is None):
        raise typer.BadParameter("give exactly one of --to DIR (file drop) or --url URL (HTTP)")
    console = Console()
    with compose.running() as c:
        token = c.settings.registry_write_back_token
        sink: StatusSink = (
            FileDrop(to, fmt=fmt)
            if to is not None
            else HttpStatusSink(str(url), token=token.get_secret_value() if token else None)
        )

        def audit(session: Any, action: str, batch_id: str, detail: dict[str, Any]) -> None:
            c.audit_cli(session, action, "registry_export_batch", batch_id, by=by, detail=detail)

        def run() -> WriteBackReport:
            if batch is not None:
                return WriteBackReport(sent=[resend(c.engine, sink, batch, clock=c.clock,
                                                    audit=audit, settings=c.settings)])  # fmt: skip
            report = write_back(c.engine, sink, mode=Mode.FULL if full else Mode.INCREMENTAL,
                                clock=c.clock, by=c.operator(by), audit=audit,
                                settings=c.settings)  # fmt: skip
            if not report.sent:
                c.audit_cli_now("registry.write_back_nothing", "registry_export_batch", "-",
                                by=by, detail={"mode": "full" if full else "incremental",
                                               "unchanged": report.unchanged})  # fmt: skip
            _print_write_back(console, report)
            return report

        if every is None or batch is not None:
            report = run()
            if batch is not None:
                _print_write_back(console, report)
            return
        job = Periodic(run, every * 60, name="registry-write-back").start()
        console.print(f"write-back every {every:g} min; Ctrl+C stops it")
        try:
            while job.alive:
                time.sleep(1)
        except KeyboardInterrupt:
            job.stop()


def _print_write_back(console: Console, report: Any) -> None:
    if not report.sent:
        console.print(f"nothing changed: {report.unchanged:,} citizens as the registry has them")
    for sent in report.sent:
        b = sent.batch
        again = " (sent again)" if sent.resumed else ""
        console.print(f"batch {b.batch_id}{again}: {b.row_count:,} citizens, {b.mode}, "
                      f"as of {b.as_of}, SHA-256 {b.content_sha256[:16]}…")  # fmt: skip
    pruned = getattr(report, "pruned", None)
    if pruned is not None and pruned.batch_ids:
        console.print(f"retention: removed the rows of {len(pruned.batch_ids):,} old acknowledged "
                      f"batch(es), {pruned.rows:,} rows (headers kept)")  # fmt: skip

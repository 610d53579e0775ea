"""`vaxlink records`: import dose-record files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vaxlink import compose
from vaxlink.ingest.service import EXIT_QUARANTINED, Lang, print_report, stage_progress
from vaxlink.records.importer import import_doses

app = typer.Typer(help="Dose records entered by vaccination sites.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8), XLSX or Parquet file of dose records.")
    ],
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of the reasons in the report (vi or en).")
    ] = Lang.vi,
) -> None:
    """Import dose records; bad rows are quarantined with reasons (exit status 5 if any)."""
    console = Console()
    with compose.running() as c:
        with stage_progress(console, f"Importing {file.name}") as on_stage:
            report = import_doses(c.engine, file, settings=c.settings, clock=c.clock,
                                  imported_by=c.operator(), on_stage=on_stage, sole_user=True,
                                  lang=lang.value)  # fmt: skip
        c.audit_cli_now("records.import", "import_batch", report.batch_id, detail=report.counts())
    print_report(console, report, "Dose records")
    if report.quarantined:
        raise typer.Exit(EXIT_QUARANTINED)

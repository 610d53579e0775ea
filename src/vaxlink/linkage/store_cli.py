"""`vaxlink verify`: link the store's pending doses to its registry (a thin command over
`verify_store`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.store import DECIDED, VERIFY_STAGES, VerifyReport, verify_store


def summary_table(report: VerifyReport) -> Table:
    """The statuses the run wrote, with their shares."""
    table = Table(title=f"vaxlink verify: run {report.run_id}")
    table.add_column("status")
    table.add_column("doses", justify="right")
    table.add_column("share", justify="right")
    total = report.written or 1
    for status in DECIDED:
        n = report.statuses.get(status, 0)
        table.add_row(status, f"{n:,}", f"{n / total:.2%}")
    return table


def _info(report: VerifyReport) -> Table:
    info = Table(show_header=False, box=None)
    info.add_row("pending doses linked", f"{report.doses_in:,}")
    info.add_row("decisions written", f"{report.written:,}")
    info.add_row("left alone (decided meanwhile)", f"{report.skipped:,}")
    info.add_row("citizens in registry", f"{report.registry_size:,}")
    info.add_row("model", f"v{report.model_version}")
    info.add_row("seconds", ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    return info


def verify(
    model: Annotated[
        Path | None, typer.Option("--model", help="Model JSON (default: the configured model).")
    ] = None,
    explain: Annotated[
        bool,
        typer.Option("--explain/--no-explain", help="Keep each candidate's per-field evidence."),
    ] = True,
    today: Annotated[
        str | None, typer.Option("--today", help="Date for plausibility checks (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Verify the imported dose records against the stored registry; only pending doses are
    linked, decisions already made are never changed, and a failed run writes nothing."""
    from vaxlink import compose

    day = dt.date.fromisoformat(today) if today else None
    err = Console(stderr=True)
    with compose.running() as c, Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), console=err,
                  transient=True) as progress:  # fmt: skip
        task = progress.add_task("Verifying doses", total=len(VERIFY_STAGES), stage="")

        def on_stage(name: str) -> None:
            done = VERIFY_STAGES.index(name) if name in VERIFY_STAGES else 0
            progress.update(task, completed=done, stage=name)

        c.engine  # noqa: B018  (the schema is brought up to date first)
        loaded = LinkModel.load(model) if model else c.link_model
        report = verify_store(
            c.settings.resolved_database_url(), c.settings, loaded, on_stage, clock=c.clock,
            today=day, explain=explain, started_by=c.operator(),
        )  # fmt: skip
        progress.update(task, completed=len(VERIFY_STAGES), stage="done")
        if report.run_id is not None:
            c.audit_cli_now("linkage.verify", "link_run", report.run_id,
                            detail={"written": report.written, "doses": report.doses_in,
                                    "model_version": report.model_version})  # fmt: skip
    console = Console()
    if report.run_id is None:
        console.print("No pending doses: nothing to verify.")
        return
    console.print(summary_table(report))
    console.print(_info(report))

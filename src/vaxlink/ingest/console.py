"""Terminal presentation of imports: a stage progress bar and the end-of-import summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from vaxlink.ingest.pipeline import STAGES, ImportReport

#: Exit status of an import that finished but quarantined rows (the rows are kept, not lost).
EXIT_QUARANTINED = 5


@contextmanager
def stage_progress(console: Console, label: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over the import stages; yields the `on_stage` callback."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=len(STAGES), stage="")

        def on_stage(name: str) -> None:
            progress.update(task, completed=STAGES.index(name), stage=name)

        yield on_stage
        progress.update(task, completed=len(STAGES), stage="done")


def print_report(console: Console, report: ImportReport, what: str, *, show: int = 10) -> None:
    """The summary table, the reasons, the first problem rows and where the full report is."""
    table = Table(title=f"{what}: {report.file_name} (batch {report.batch_id})", show_header=False)
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("imported (new)", f"{report.imported:,}")
    if report.updated:
        table.add_row("updated", f"{report.updated:,}")
    table.add_row("already present, unchanged", f"{report.unchanged:,}")
    style = "bold red" if report.quarantined else "green"
    table.add_row("quarantined", f"[{style}]{report.quarantined:,}[/]")
    for flag, n in report.flags.items():
        table.add_row(f"stored with flag {flag}", f"[yellow]{n:,}[/]")
    console.print(table)
    if report.previous_batches:
        prev = ", ".join(str(b) for b in report.previous_batches)
        console.print(
            f"This same file was imported before (batch {prev}); nothing was added twice."
        )
    if report.reason_counts:
        reasons = Table(title="quarantined rows by reason", show_header=False, box=None)
        for code, n in report.reason_counts.items():
            # the reason in the report's language (catalogue), its code for a search
            label = escape(report.reason_labels.get(code, code))
            reasons.add_row(f"  {label} [dim]({escape(code)})[/]", f"{n:,}")
        console.print(reasons)
    for p in report.problems[:show]:
        key = f" ({p.record_key})" if p.record_key else ""
        console.print(f"  row {p.row}{key}: {p.texts or p.reasons}", highlight=False, markup=False)
    shown = min(show, len(report.problems))
    if report.quarantined > shown:
        console.print(f"  … and {report.quarantined - shown:,} more rows.")
    if report.report_path:
        console.print(f"Per-row report of every quarantined row: {report.report_path}")

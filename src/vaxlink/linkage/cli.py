"""`vaxlink link`, `vaxlink link-train` and `vaxlink eval`: thin commands over the linkage."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from vaxlink import compose
from vaxlink.linkage.errors import LinkageInputError
from vaxlink.linkage.evaluate import (
    MIN_COMBINATION_RECORDS,
    ErrorTypeStats,
    EvalReport,
    evaluate,
)
from vaxlink.linkage.files import FILE_STAGES, LinkRun, link_files
from vaxlink.linkage.model import DEFAULT_MODEL_FILE, LinkModel
from vaxlink.linkage.pipeline import OnStage

app = typer.Typer(help="Link dose records to the population registry.", no_args_is_help=True)
STATUSES = ("verified", "auto_linked", "review", "unmatched", "invalid")
PACKAGED_MODEL = Path(__file__).parent / "models" / DEFAULT_MODEL_FILE


@contextmanager
def _progress(console: Console, label: str, stages: tuple[str, ...]) -> Iterator[OnStage]:
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:  # fmt: skip
        task = progress.add_task(label, total=len(stages), stage="")

        def on_stage(name: str) -> None:
            done = stages.index(name) if name in stages else 0
            progress.update(task, completed=done, stage=name)

        yield on_stage
        progress.update(task, completed=len(stages), stage="done")


def _summary(console: Console, run: LinkRun) -> None:
    stats = run.stats
    total = sum(stats.statuses.values()) or 1
    table = Table(title=f"vaxlink link: {run.result.name}")
    table.add_column("status")
    table.add_column("records", justify="right")
    table.add_column("share", justify="right")
    for status in STATUSES:
        n = stats.statuses.get(status, 0)
        table.add_row(status, f"{n:,}", f"{n / total:.2%}")
    console.print(table)
    info = Table(show_header=False, box=None)
    info.add_row("citizens in registry", f"{stats.registry_rows:,}")
    info.add_row("left for the model", f"{stats.residual_rows:,} ({stats.candidate_pairs:,} pairs)")
    info.add_row("model", f"v{run.model.version} "
                 f"({'retrained on these files' if 'retrained_on' in run.model.trained else 'packaged'})")  # fmt: skip
    info.add_row("seconds", ", ".join(f"{k} {v:.1f}" for k, v in stats.seconds.items()))
    info.add_row("result", str(run.result))
    if run.explain:
        info.add_row("explanations", str(run.explain))
    console.print(info)


def link(
    registry: Annotated[
        Path,
        typer.Option(
            "--registry", help="Registry snapshot (docs/formats.md §1): CSV, XLSX or Parquet."
        ),
    ],
    doses: Annotated[
        Path,
        typer.Option("--doses", help="Dose records (docs/formats.md §2): CSV, XLSX or Parquet."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Result file (docs/formats.md §3), .csv or .parquet.")
    ],
    engine: Annotated[
        str,
        typer.Option("--engine", help="duckdb, or spark (local Spark session; needs Java 17+)."),
    ] = "duckdb",
    model: Annotated[
        Path | None, typer.Option("--model", help="Model JSON (default: the packaged model).")
    ] = None,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Fit the model on these files first.")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain/--no-explain", help="Write RESULT.explain.jsonl.")
    ] = True,
    today: Annotated[
        str | None, typer.Option("--today", help="Date for plausibility checks (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Verify dose records against the population registry: one result row per dose row."""
    if engine not in ("duckdb", "spark"):
        raise LinkageInputError(f"engine '{engine}' is not available; use duckdb or spark")
    console = Console(stderr=True)
    c = compose.build()  # the configured linkage model and the clock (the default --today)
    loaded = LinkModel.load(model) if model else c.link_model
    day = dt.date.fromisoformat(today) if today else c.clock.today()
    with _progress(console, f"Linking {doses.name}", FILE_STAGES) as on_stage:
        run = link_files(registry, doses, out, model=loaded, retrain=retrain, explain=explain,
                         today=day, on_stage=on_stage, engine_name=engine)  # fmt: skip
    _summary(Console(), run)


def link_train(
    registry: Annotated[
        Path | None, typer.Option("--registry", help="Registry snapshot to train on.")
    ] = None,
    doses: Annotated[Path | None, typer.Option("--doses", help="Dose records to train on.")] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the model JSON.")
    ] = PACKAGED_MODEL,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Ground truth: choose the thresholds on it.")
    ] = None,
    synthetic: Annotated[
        int | None,
        typer.Option(
            "--synthetic",
            help="Train on N synthetic citizens instead of files (the packaged model's recipe: 500000).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the random pairs for u (and of --synthetic).")
    ] = 11,
    today: Annotated[
        str, typer.Option("--today", help="Date for plausibility checks.")
    ] = "2025-01-01",
) -> None:
    """Train the linkage model (u by random pairs, m by EM) and write it as versioned JSON."""
    from vaxlink.linkage.train import train_files, train_synthetic

    console = Console(stderr=True)
    day = dt.date.fromisoformat(today)
    with console.status("Training the linkage model…"):
        if synthetic:
            trained, tuning = train_synthetic(synthetic, seed, today=day)
        elif registry and doses:
            trained, tuning = train_files(registry, doses, truth=truth, seed=seed, today=day)
        else:
            raise LinkageInputError("give --registry and --doses, or --synthetic N")
    trained.save(out)
    table = Table(title=f"linkage model v{trained.version} → {out}", show_header=False)
    for key, value in trained.trained.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict | list) else str(value))
    for key, value in trained.thresholds.__dict__.items():
        table.add_row(f"threshold {key}", str(value))
    if tuning:
        table.add_row("tuning trials", str(len(tuning["trials"])))
    Console().print(table)


def _eval_table(report: EvalReport) -> Table:
    table = Table(title="linkage evaluation")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("records", f"{report.records:,}"),
        ("automatic links (verified + auto_linked)", f"{report.auto_links:,}"),
        ("wrong automatic links", f"{report.wrong_auto_links:,}"),
        ("precision of automatic links", f"{report.precision:.6f}"),
        ("share of all records linked automatically", f"{report.auto_share_all:.2%}"),
        ("share of dirty registered records linked automatically", f"{report.auto_share_dirty:.2%}"),
        ("recall@3 (records of registered people)", f"{report.recall_at_3:.4%}"),
        ("recall@3 (all records)", f"{report.recall_at_3_all:.4%}"),
        ("people absent from the registry", f"{report.absent_people:,}"),
        ("… linked to someone", f"{report.absent_people_linked:,} ({report.absent_link_rate:.5%})"),
        ("invalid rows expected / flagged / both", f"{report.invalid_expected:,} / "
         f"{report.invalid_found:,} / {report.invalid_correct:,}"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    return table


def _errors_table(stats: dict[str, ErrorTypeStats], title: str) -> Table:
    table = Table(title=title)
    table.add_column("error", no_wrap=True)
    for col in ("records", "auto (right)", "wrong", "review", "unmatched", "invalid", "recall@3"):
        table.add_column(col, justify="right")
    for name, s in stats.items():
        table.add_row(name, f"{s.records:,}", f"{s.auto_share:.2%}", f"{s.wrong_links:,}",
                      f"{s.review_share:.2%}", f"{s.unmatched_share:.2%}", f"{s.invalid_share:.2%}",
                      f"{s.recall_at_3:.2%}")  # fmt: skip
    return table


def eval_command(
    truth: Annotated[Path, typer.Option("--truth", help="truth.csv written by `vaxlink synth`.")],
    result: Annotated[Path, typer.Option("--result", help="Result file of `vaxlink link`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Measure a linkage result against the ground truth of synthetic data."""
    report = evaluate(truth, result)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console = Console()
    if not console.is_terminal:  # a file or a pipe: wide enough for the error names
        console = Console(width=max(console.width, 120))
    console.print(_eval_table(report))
    console.print(
        _errors_table(report.by_error, "by error type (each record under each of its types)")
    )
    if report.by_combination:
        console.print(_errors_table(report.by_combination,
                                    f"by combination of slips ({MIN_COMBINATION_RECORDS}+ records)"))  # fmt: skip


#: `vaxlink eval` when mounted as a top-level command by its function name.
eval = eval_command

app.command("link")(link)
app.command("link-train")(link_train)
app.command("eval")(eval_command)

"""`vaxlink demo`: the main job end to end on the embedded store with synthetic data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.db import engine_from_settings
from vaxlink.ingest.console import print_report, stage_progress
from vaxlink.records.importer import import_doses
from vaxlink.registry.importer import load_registry
from vaxlink.settings import get_settings
from vaxlink.synth.generate import generate
from vaxlink.synth.output import write


def demo(
    citizens: Annotated[
        int, typer.Option("--citizens", min=100, help="People in the synthetic registry.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 2021,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web app when done.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port for the web app.")] = 8000,
) -> None:
    """Synthesise a population and its dirty dose records, import them, and say what happened."""
    settings = get_settings()
    console = Console()
    folder: Path = settings.data_dir / "demo" / f"seed-{seed}-{citizens}"
    start = time.perf_counter()
    with console.status(f"Synthesising {citizens:,} citizens and their doses…"):
        paths = write(generate(citizens, seed), folder)
    console.print(f"Synthetic files in {folder}")
    engine = engine_from_settings(settings)
    console.print(f"Store: {engine.url.render_as_string(hide_password=True)}")
    with stage_progress(console, "Loading the registry snapshot") as on_stage:
        registry = load_registry(engine, paths["registry"], settings=settings, on_stage=on_stage)
    print_report(console, registry, "Registry snapshot")
    with stage_progress(console, "Importing dose records") as on_stage:
        doses = import_doses(engine, paths["doses"], settings=settings, on_stage=on_stage)
    print_report(console, doses, "Dose records")
    table = Table(title="vaxlink demo", show_header=False)
    table.add_row(
        "citizens in the registry", f"{registry.imported + registry.unchanged + registry.updated:,}"
    )
    table.add_row("dose records read", f"{doses.rows_read:,}")
    table.add_row("dose records imported", f"{doses.imported + doses.unchanged:,}")
    table.add_row("dose records quarantined (kept with reasons)", f"{doses.quarantined:,}")
    table.add_row("seconds", f"{time.perf_counter() - start:.1f}")
    console.print(table)
    if serve:
        from vaxlink.web.cli import serve as serve_web

        serve_web(host="127.0.0.1", port=port, workers=1)

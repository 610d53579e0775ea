"""`vaxlink synth`: write a synthetic registry, dirty dose records and their ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.synth.generate import generate
from vaxlink.synth.output import DoseFormat, write


def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder for the files (created if missing).")],
    citizens: Annotated[
        int, typer.Option("--citizens", min=10, help="People in the registry snapshot.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 0,
    dose_format: Annotated[
        DoseFormat, typer.Option("--dose-format", help="File format of the dose records.")
    ] = DoseFormat.csv,
) -> None:
    """Generate a synthetic population registry, dirty dose records and their ground truth."""
    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status(f"Generating {citizens:,} citizens (seed {seed})…"):
        result = generate(citizens, seed)
    with console.status(f"Writing to {out}…"):
        paths = write(result, out, dose_format=dose_format)
    summary = result.summary()
    table = Table(title="vaxlink synth", show_header=False)
    table.add_row("citizens in registry", f"{int(summary['citizens']):,}")
    table.add_row("dose records", f"{int(summary['dose_records']):,}")
    table.add_row("vaccinated people", f"{int(summary['vaccinated_people']):,}")
    table.add_row("dirty records", f"{summary['dirty_share']:.1%}")
    table.add_row("vaccinated, not in registry", f"{summary['not_in_registry_people_share']:.2%}")
    for name, path in paths.items():
        table.add_row(f"{name} file", str(path))
    table.add_row("seconds", f"{time.perf_counter() - start:.1f}")
    Console().print(table)

"""`vaxlink audit verify`: walk the hash chain and report the first broken or missing entry."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from vaxlink.auth.audit import verify_chain
from vaxlink.db import transaction

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

#: Exit code when the chain is broken (distinct from usage and store errors).
TAMPERED = 9


@app.callback()
def _group() -> None:
    """The hash-chained audit log."""


@app.command("verify")
def verify(
    chunk: Annotated[int, typer.Option(min=100, help="Entries read per query.")] = 5000,
) -> None:
    """Check every entry: contiguous numbers, each linked to the one before, each hash matching
    its content, and the head naming the last entry. Exit code 9 when anything is wrong."""
    from vaxlink.db import engine_from_settings
    from vaxlink.settings import get_settings

    console = Console()
    start = time.perf_counter()
    engine = engine_from_settings(get_settings())
    try:
        with transaction(engine) as s:
            report = verify_chain(s, chunk=chunk)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - start
    if report.intact:
        console.print(f"audit chain intact: {report.checked:,} entries checked in {seconds:.1f} s",
                      highlight=False)  # fmt: skip
        return
    Console(stderr=True).print(
        f"[bold red]audit chain BROKEN[/] at entry {report.first_bad_seq}: {report.problem} "
        f"({report.checked:,} entries before it are intact)", highlight=False,
    )  # fmt: skip
    raise typer.Exit(TAMPERED)

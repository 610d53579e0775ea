"""`vaxlink certificates check-approvals`: re-verify every stored facility approval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

KeyDir = Annotated[
    Path | None,
    typer.Option(
        "--key-dir",
        help="Key directory whose CSCAs approvals must chain to (default: <data_dir>/keys).",
        show_default=False,
    ),
]


def check_approvals_command(key_dir: KeyDir = None) -> None:
    """Re-verify every stored approval: its manifest, signature, site certificate and chain to the
    CSCA. Exits 1 naming each approval that fails (certificates resting on it are not issued)."""
    from vaxlink import compose
    from vaxlink.certificates.approval.check import check_all_approvals
    from vaxlink.db import transaction

    console = Console()
    with compose.running(key_dir=key_dir) as c:
        anchors = c.trust_anchors
        if not anchors:
            console.print(
                "[yellow]No CSCA certificate in the key directory: the chain of each site "
                "certificate is not checked.[/yellow]"
            )
        checked, failed = 0, []
        with transaction(c.engine) as session:
            for result in check_all_approvals(session, anchors):
                checked += 1
                if result.problems:
                    failed.append(result)
    if not failed:
        console.print(f"All {checked:,} approval(s) verify.")
        return
    table = Table(title=f"{len(failed):,} of {checked:,} approval(s) do not verify")
    for column in ("approval", "site", "records", "why"):
        table.add_column(column)
    for r in failed:
        table.add_row(f"#{r.approval_id}", r.facility_code, f"{r.record_count:,}",
                      "; ".join(r.problems))  # fmt: skip
    console.print(table)
    raise typer.Exit(1)

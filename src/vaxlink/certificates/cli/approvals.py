"""`vaxlink certificates check-approvals`: re-verify every stored site and district approval."""

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
    """Re-verify every stored approval, the sites' and the districts': its manifest (a district's
    entries rehashed), signature, certificate and chain to the CSCA. Exits 1 naming each approval
    that fails (certificates resting on it are not issued)."""
    from vaxlink import compose
    from vaxlink.certificates.approval.check import check_all_approvals
    from vaxlink.certificates.approval.district import check_all_district_approvals
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
                    failed.append(("site", result.approval_id, result.facility_code,
                                   result.record_count, result.problems))  # fmt: skip
            for district in check_all_district_approvals(session, anchors):
                checked += 1
                if district.problems:
                    failed.append(("district", district.approval_id, district.district_code,
                                   district.entry_count, district.problems))  # fmt: skip
    if not failed:
        console.print(f"All {checked:,} approval(s) verify (sites and districts).")
        return
    table = Table(title=f"{len(failed):,} of {checked:,} approval(s) do not verify")
    for column in ("approval", "site / district", "records", "why"):
        table.add_column(column)
    for kind, approval_id, unit, records, problems in failed:
        table.add_row(f"{kind} #{approval_id}", unit, f"{records:,}", "; ".join(problems))
    console.print(table)
    raise typer.Exit(1)

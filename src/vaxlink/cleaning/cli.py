"""`vaxlink worklist export|import`: the Excel round-trip from the command line.

The command acts as a staff account (its role and unit decide what it may see and change,
exactly as on the web) and asks for that account's password: a hidden prompt, or standard
input with `--password-stdin` for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink import compose
from vaxlink.auth import service as auth
from vaxlink.auth.service import Principal
from vaxlink.cleaning import excel, vaccination_excel
from vaxlink.compose import Container

app = typer.Typer(help="Worklists of doses to verify: Excel export and import.",
                  no_args_is_help=True)  # fmt: skip
console = Console()

User = Annotated[str, typer.Option("--user", "-u", help="The staff account acting.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
Sheet = Annotated[
    str,
    typer.Option("--sheet", help="identity: the police's worklist (default); vaccination: the "
                                 "station's vaccination-fact fixes."),
]  # fmt: skip
SHEETS = ("identity", "vaccination")
#: Exit status when some rows of an import were refused.
EXIT_REFUSED = 5


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True)
    return value


def _login(c: Container, username: str, from_stdin: bool) -> Principal:
    """The staff account the command acts as (its password checked, the attempt counted)."""
    password = _password(from_stdin)
    with c.transaction() as s:
        user = auth.authenticate(s, username, password, client="cli", settings=c.settings,
                                 now=c.clock.now())  # fmt: skip
        return auth.principal_of(user)


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Argument(help="The .xlsx file to write.")],
    user: User,
    password_stdin: PasswordStdin = False,
    sheet: Sheet = "identity",
) -> None:
    """Write the account's worklist (its unit's open doses) as an Excel file for offline work;
    `--sheet vaccination`: the doses whose vaccination facts need fixing. A police export is a
    numbered police verification list."""
    if sheet not in SHEETS:
        raise typer.BadParameter(f"--sheet must be one of {', '.join(SHEETS)}")
    with compose.running() as c:
        principal = _login(c, user, password_stdin)
        with c.transaction() as s:
            if sheet == "vaccination":
                data = vaccination_excel.export_vaccination(s, principal, now=c.clock.now())
            else:
                data = excel.export_worklist(s, principal, c.registry, now=c.clock.now())
    out.write_bytes(data)
    console.print(f"Wrote {out} ({len(data):,} bytes) for {principal.unit}.")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A filled-in worklist file (.xlsx).")],
    user: User,
    password_stdin: PasswordStdin = False,
    sheet: Sheet = "identity",
) -> None:
    """Apply the decisions of a filled-in worklist file (`--sheet vaccination`: the corrections
    of a vaccination-fact file); prints every row's outcome (exit status 5 when some rows were
    refused). Importing the same file again changes nothing. Every change is audited as the
    account's, like on the web."""
    if sheet not in SHEETS:
        raise typer.BadParameter(f"--sheet must be one of {', '.join(SHEETS)}")
    with compose.running() as c:
        principal = _login(c, user, password_stdin)
        with c.transaction() as s:
            if sheet == "vaccination":
                result = vaccination_excel.import_vaccination(
                    s, principal, file.read_bytes(), c.registry, c.link_model, clock=c.clock
                )
            else:
                result = excel.import_worklist(s, principal, file.read_bytes(), c.registry,
                                               c.link_model, clock=c.clock)  # fmt: skip
    table = Table("Row", "Record", "Outcome", "Details")
    for r in result.rows:
        table.add_row(str(r.row), r.record_id or "", r.outcome, r.message)
    console.print(table)
    console.print(
        " · ".join(
            f"{o}: {result.count(o)}" for o in ("applied", "unchanged", "refused", "skipped")
        )
    )
    if result.count("refused"):
        raise typer.Exit(EXIT_REFUSED)

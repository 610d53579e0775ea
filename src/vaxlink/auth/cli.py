"""`vaxlink users ...`: create, list, disable, enable and reset the password of staff accounts.

Passwords come from a hidden prompt (asked twice) or, for scripts, from standard input with
`--password-stdin`; they are never taken as an argument, never echoed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from vaxlink import compose
from vaxlink.auth import service
from vaxlink.auth.roles import Role
from vaxlink.compose import Container

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
console = Console()

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
]


@contextmanager
def _unit_of_work() -> Iterator[tuple[Container, Session]]:
    """The composition root and one transaction for a command."""
    with compose.running() as c, c.transaction() as s:
        yield c, s


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name (a-z, 0-9, '.', '_', '-').")],
    role: Annotated[Role, typer.Option("--role", help="The account's role.")],
    unit: Annotated[
        str,
        typer.Option(
            "--unit", help='Its unit: "ward:00001", "district:001", "province:001", "VN".'
        ),
    ],
    facility: Annotated[
        str | None, typer.Option("--facility", help="Vaccination site code (approvers).")
    ] = None,
    display_name: Annotated[str | None, typer.Option("--name", help="Name shown in pages.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an active account."""
    password = _password(password_stdin)
    with _unit_of_work() as (c, s):
        user = service.create_user(
            s, username=username, password=password, role=role, unit=unit,
            facility_code=facility, display_name=display_name, now=c.clock.now(),
        )  # fmt: skip
        name, key = user.username, f"{user.unit_level}:{user.unit_code}"
        c.audit_cli(s, "users.create", "user", user.id, unit=key, detail={"role": role.value})
    console.print(f"created [bold]{name}[/] ({role.value}, {key})", highlight=False)


@app.command("list")
def list_users() -> None:
    """Every account: name, role, unit, site, active, second factor."""
    with _unit_of_work() as (_c, s):
        users = service.list_users(s)
        table = Table("user", "role", "unit", "site", "active", "2FA", "created")
        for u in users:
            table.add_row(
                u.username, u.role, f"{u.unit_level}:{u.unit_code}", u.facility_code or "",
                "yes" if u.active else "no", "yes" if u.totp_confirmed_at else "no",
                u.created_at.strftime("%Y-%m-%d"),
            )  # fmt: skip
    console.print(table)


@app.command("disable")
def disable(username: str) -> None:
    """Disable an account and end its sessions (accounts are never deleted)."""
    with _unit_of_work() as (c, s):
        user = service.get_user(s, username)
        service.set_active(s, user, False, now=c.clock.now())
        c.audit_cli(s, "users.disable", "user", user.id)
    console.print(f"disabled {username.strip().lower()}", highlight=False)


@app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled account."""
    with _unit_of_work() as (c, s):
        user = service.get_user(s, username)
        service.set_active(s, user, True, now=c.clock.now())
        c.audit_cli(s, "users.enable", "user", user.id)
    console.print(f"enabled {username.strip().lower()}", highlight=False)


@app.command("reset-password")
def reset_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password and end the account's sessions."""
    password = _password(password_stdin)
    with _unit_of_work() as (c, s):
        user = service.get_user(s, username)
        service.set_password(s, user, password, now=c.clock.now())
        c.audit_cli(s, "users.reset_password", "user", user.id)
    console.print(f"new password set for {username.strip().lower()}", highlight=False)


@app.command("reset-second-factor")
def reset_second_factor(username: str) -> None:
    """Remove an account's TOTP secret (lost phone); it enrols again after logging in."""
    with _unit_of_work() as (c, s):
        user = service.get_user(s, username)
        service.reset_second_factor(s, user, now=c.clock.now())
        c.audit_cli(s, "users.reset_second_factor", "user", user.id,
                    unit=f"{user.unit_level}:{user.unit_code}")  # fmt: skip
    console.print(f"second factor removed for {username.strip().lower()}", highlight=False)

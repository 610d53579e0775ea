"""The `vaxlink` command: mounts each domain's Typer app and maps errors to exit codes."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from vaxlink.errors import VaxlinkError

app = typer.Typer(
    name="vaxlink",
    help="Verified, signed vaccine passports from dirty dose records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Verified, signed vaccine passports from dirty dose records."""
    # A callback keeps Typer in group mode when only one command is mounted (see `_mount`).


# (sub-command name, module holding `app`): a domain appears here once its cli.py exists.
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("registry", "vaxlink.registry.cli"),
    ("records", "vaxlink.records.cli"),
    ("synth", "vaxlink.synth.cli"),
    ("geo", "vaxlink.geo.cli"),
    ("facilities", "vaxlink.facilities.cli"),
    ("db", "vaxlink.dbcli"),
    ("keys", "vaxlink.certificates.cli.keys"),
    ("certificates", "vaxlink.certificates.cli.app"),
    ("users", "vaxlink.auth.cli"),
    ("audit", "vaxlink.auth.audit_cli"),
    ("worklist", "vaxlink.cleaning.cli"),
    ("feedback", "vaxlink.feedback.cli"),
    ("report", "vaxlink.reports.cli"),
)
# Top-level commands (`vaxlink demo`, `vaxlink link`, ...): (module, function, command name).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("vaxlink.demo", "demo", "demo"),
    ("vaxlink.web.cli", "serve", "serve"),
    ("vaxlink.linkage.cli", "link", "link"),
    ("vaxlink.linkage.cli", "link_train", "link-train"),
    ("vaxlink.linkage.cli", "eval_command", "eval"),
    ("vaxlink.linkage.store_cli", "verify", "verify"),
)


def _wanted(argv: list[str]) -> str | None:
    """The sub-command named on the command line, if it is one of ours (else None: mount all)."""
    names = {n for n, _m in SUBCOMMANDS} | {c for _m, _f, c in COMMANDS}
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in names else None


def _mount(only: str | None = None) -> None:
    """Mount the domains' commands; with `only`, just that one (each domain costs its imports)."""
    for name, module in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that domain is not part of this build
            raise
        if name == "synth" and hasattr(mod, "synth"):
            app.command(name="synth")(mod.synth)
        else:
            app.add_typer(mod.app, name=name)
    for module, func, command in COMMANDS:
        if only is not None and command != only:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that domain is not part of this build
            raise
        app.command(name=command)(getattr(mod, func))


def main() -> None:
    """Entry point: run the CLI, turning domain errors into a clear message and exit code."""
    # Importing every domain costs over a second; a command needs only its own.
    _mount(_wanted(sys.argv[1:]))
    try:
        rv = app(standalone_mode=False)
    except VaxlinkError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:
        # Usage errors (typer bundles its own click) carry `show()` and an exit code.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if type(exc).__name__ == "Exit" and isinstance(code, int):
            sys.exit(code)
        raise
    if isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":
    main()

"""The `vaxlink` command: mounts each domain's Typer app and maps errors to exit codes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

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
    ("i18n", "vaxlink.web.i18n_cli"),
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


#: Commands of optional domains, by the domain's name in `VAXLINK_DISABLED_DOMAINS`.
DOMAIN_OF: dict[str, str] = {
    "synth": "synth",
    "keys": "certificates",
    "certificates": "certificates",
    "worklist": "cleaning",
    "feedback": "feedback",
    "report": "reports",
    "link": "linkage",
    "link-train": "linkage",
    "eval": "linkage",
    "verify": "linkage",
}


def _wanted(argv: list[str]) -> str | None:
    """The sub-command named on the command line, if it is one of ours (else None: mount all)."""
    names = {n for n, _m in SUBCOMMANDS} | {c for _m, _f, c in COMMANDS}
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in names else None


def _mount(only: str | None = None, disabled: frozenset[str] = frozenset()) -> None:
    """Mount the domains' commands, but those of `disabled` domains; with `only`, just that one
    (each domain costs its imports). A listed module that cannot be imported is an error."""

    def wanted(command: str) -> bool:
        return (only is None or command == only) and DOMAIN_OF.get(command) not in disabled

    for name, module in SUBCOMMANDS:
        if not wanted(name):
            continue
        mod = importlib.import_module(module)
        if name == "synth" and hasattr(mod, "synth"):
            app.command(name="synth")(mod.synth)
        else:
            app.add_typer(mod.app, name=name)
    for module, func, command in COMMANDS:
        if wanted(command):
            app.command(name=command)(getattr(importlib.import_module(module), func))


def _disabled() -> frozenset[str]:
    """The optional domains the settings leave out (invalid settings: a message, exit 2)."""
    from pydantic import ValidationError

    from vaxlink.settings import get_settings

    try:
        return get_settings().disabled_domains
    except ValidationError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] invalid settings: {exc}", highlight=False)
        sys.exit(2)


def _use_installed_translations(folder: Path) -> None:
    """The deployment's installed translations for what a command writes (reports, SMS, PDF);
    read only when there are some (reading them loads every domain's strings)."""
    from vaxlink.catalogue import LANGUAGES

    if any((folder / f"{lang}.po").is_file() for lang in LANGUAGES):
        from vaxlink.web import po

        po.use_installed(folder)


def main() -> None:
    """Entry point: run the CLI, turning domain errors into a clear message and exit code."""
    from vaxlink.compose import private_process

    private_process()
    # Importing every domain costs over a second; a command needs only its own.
    _mount(_wanted(sys.argv[1:]), _disabled())
    try:
        from vaxlink.compose import check_deployment
        from vaxlink.settings import get_settings

        check_deployment(get_settings())  # production: no development defaults; else warn once
        _use_installed_translations(get_settings().resolved_locale_dir())
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

"""Signing passphrases at the CLI: typed at a hidden prompt, or read from a private file."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated

import typer

from vaxlink.certificates.errors import KeyManagementError

PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the approver's signing passphrase from this file (mode 0600, for scripts) "
        "instead of a hidden prompt.",
        show_default=False,
    ),
]


def from_file(path: Path) -> str:
    """The passphrase in `path` (its first line), refusing a file others may read or write."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyManagementError(f"cannot read {path}: {exc.strerror}") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyManagementError(
            f"{path} is readable by others: a passphrase file must be mode 0600 "
            f"(`chmod 600 {path}`)"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise KeyManagementError(f"{path} holds no passphrase on its first line")
    return lines[0]


def read(path: Path | None, prompt: str, *, new: bool = False) -> str:
    """A passphrase from `path` when given, else typed at a hidden prompt (twice when `new`)."""
    if path is not None:
        return from_file(path)
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=new)
    return value

"""Private files: everything vaxlink writes under its data directory is for its own account only.

The store (and SQLite's WAL/SHM beside it), import and quarantine reports, the QR cache, key
files, daily reports and exports hold personal data or secrets, so they are created 0600 (files)
and 0700 (folders) whatever the process umask is. Two layers:

- `restrict_umask()`, called once at process start by the CLI and the web server entry
  (`vaxlink.compose.private_process`), so anything a library (DuckDB, SQLite, WeasyPrint) creates
  is private too;
- `private_dir` / `write_private` / `make_private`, used at the known sensitive paths, so using
  vaxlink as a library (tests, notebooks) with a permissive umask is still safe.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700
UMASK: Final = 0o077


def restrict_umask() -> int:
    """Make files this process creates private by default; returns the previous umask."""
    return os.umask(UMASK)


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` (and missing parents) as 0700 folders; an existing folder is left as it is
    unless `tighten` (vaxlink's own folders: never a user's home or /tmp)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for made in missing:
        with contextlib.suppress(OSError):
            made.chmod(DIR_MODE)
    if tighten:
        with contextlib.suppress(OSError):
            path.chmod(DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Tighten an existing file to 0600 (nothing when it does not exist)."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new or existing file created 0600 (an existing one is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(data)


def touch_private(path: Path) -> None:
    """Create `path` empty and 0600 if missing, or tighten it (e.g. an SQLite store before its
    first connection: SQLite gives the WAL and SHM files the mode of the database file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)

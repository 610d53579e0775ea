"""Errors raised while reading an input file as a whole (single bad rows are quarantined instead)."""

from __future__ import annotations

from vaxlink.errors import InvalidInput


class FileRejected(InvalidInput):
    """The file cannot be read as the table it claims to be; nothing was imported."""

    code = "file_rejected"

"""Errors raised while reading an input file as a whole (single bad rows are quarantined instead)."""

from __future__ import annotations

from vaxlink.errors import InvalidInput


class FileRejected(InvalidInput):
    """The file cannot be read as the table it claims to be; nothing was imported."""

    code = "file_rejected"


class WorkbookTooLarge(FileRejected):
    """A workbook refused before it is parsed: it would unpack or expand beyond the reader's limits."""

    code = "workbook_too_large"


class SheetNotFound(FileRejected):
    """The workbook has no sheet of the name asked for."""

    code = "sheet_not_found"

    def __init__(self, message: str, sheets: list[str]) -> None:
        super().__init__(message)
        self.sheets = sheets

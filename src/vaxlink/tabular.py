"""Spreadsheet and CSV output that a spreadsheet program can never run (issue #13 point 4).

Every XLSX or CSV file vaxlink writes goes through here: a text value that starts like a formula
(`=`, `+`, `-`, `@`, tab, carriage return, or their fullwidth forms `＝＋－＠`, which Excel also
accepts) is written as inert text. In XLSX it is an explicit string cell with Excel's quote prefix
(the value itself stays exact, so a worklist's round trip reads back what was written); in CSV it
gets a leading `'` (the OWASP CSV-injection rule). Numbers, negative ones included, stay numbers:
only text is ever neutralised. `tests/security/test_formula_injection.py` checks every export and
that no module writes a workbook or CSV around these helpers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any, Final

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.worksheet.worksheet import Worksheet

#: First characters that make a spreadsheet program read a cell as a formula (or a DDE call).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet program would evaluate."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def inert(value: Any) -> Any:
    """`value` as it may appear in a CSV cell: formula-like text prefixed with `'`, anything else
    (numbers, dates, None, other text) unchanged."""
    return "'" + value if is_formula_like(value) else value


def sql_inert(expr: str) -> str:
    """The SQL twin of `inert` for a text column of a bulk CSV write (DuckDB, SQLite, PostgreSQL):
    a CASE on the first character, so a million rows never pass through Python."""
    starts = ", ".join("'" + s + "'" for s in FORMULA_STARTS)
    return f"CASE WHEN substr({expr}, 1, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def new_workbook() -> Workbook:
    """A new workbook; its cells must be written with `put` / `set_value`."""
    return Workbook()


def set_value(cell: Cell | MergedCell, value: Any) -> Cell | MergedCell:
    """Write `value` into `cell`; formula-like text becomes an explicit, quote-prefixed string."""
    cell.value = value
    if is_formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell | MergedCell:
    """`ws.cell(row, column, value)` that never makes a formula."""
    return set_value(ws.cell(row=row, column=column), value)


class InertWriter:
    """`csv.writer` whose every text cell is passed through `inert`."""

    def __init__(self, out: IO[str], **fmt: Any) -> None:
        self._writer = csv.writer(out, **fmt)

    def writerow(self, row: Iterable[Any]) -> None:
        """One row, neutralised."""
        self._writer.writerow([inert(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Many rows, neutralised."""
        for row in rows:
            self.writerow(row)


def csv_writer(out: IO[str], **fmt: Any) -> InertWriter:
    """The one CSV writer of vaxlink's outputs (same options as `csv.writer`)."""
    return InertWriter(out, **fmt)

"""Read the first sheet of an .xlsx workbook as text columns, refusing formulas and merged cells."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from defusedxml.ElementTree import iterparse
from python_calamine import CalamineWorkbook

from vaxlink.ingest.errors import FileRejected

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAX_UNCOMPRESSED = 2 << 30  # refuse zip bombs: 2 GiB of XML is far beyond any real worklist


def _first_sheet_member(zf: zipfile.ZipFile) -> str:
    with zf.open("xl/workbook.xml") as fh:
        for _ev, el in iterparse(fh):
            if el.tag == f"{_NS}sheet":
                rid = el.get(f"{_REL_NS}id")
                break
        else:
            raise FileRejected("the workbook has no sheets")
    with zf.open("xl/_rels/workbook.xml.rels") as fh:
        for _ev, el in iterparse(fh):
            if el.tag == f"{_PKG_REL_NS}Relationship" and el.get("Id") == rid:
                target = el.get("Target", "")
                return (
                    target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
                )
    raise FileRejected("the workbook's first sheet cannot be found")


#: Start of a formula (`<f>`) or merged-cell (`<mergeCell ...>`) element, with any prefix.
_SUSPECT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s/>]")
_CHUNK = 1 << 20


def _may_have_formulas_or_merges(zf: zipfile.ZipFile, member: str) -> bool:
    """A fast byte scan of the sheet's XML: False means it certainly has neither."""
    tail = b""
    with zf.open(member) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            if _SUSPECT_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]  # a tag cut by the chunk boundary is found in the next window
    return False


def check_structure(path: Path) -> None:
    """Refuse workbooks whose first sheet has formulas or merged cells (their values are unreliable).

    The sheet's XML is scanned as bytes first; only a sheet that may hold such a cell is parsed
    (row by row, each row released after it is read) to find and name the first one.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNCOMPRESSED:
                raise FileRejected(f"{path.name} is too large once unpacked")
            member = _first_sheet_member(zf)
            if not _may_have_formulas_or_merges(zf, member):
                return
            with zf.open(member) as fh:
                cell = None
                for ev, el in iterparse(fh, events=("start", "end")):
                    if ev == "end":
                        if el.tag == f"{_NS}row":
                            el.clear()
                        continue
                    if el.tag == f"{_NS}c":
                        cell = el.get("r")
                    elif el.tag == f"{_NS}f":
                        raise FileRejected(
                            f"{path.name}: cell {cell} contains a formula; copy the sheet and "
                            "paste it as values only (Paste Special → Values), then send it again"
                        )
                    elif el.tag == f"{_NS}mergeCell":
                        raise FileRejected(
                            f"{path.name}: cells {el.get('ref')} are merged; unmerge them so that "
                            "each column has one header in row 1 and each cell one value"
                        )
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FileRejected(f"{path.name} is damaged or not a real .xlsx workbook") from exc


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_first_sheet(path: Path) -> pa.Table:
    """The first sheet as an Arrow table of strings plus `_row` (the Excel row number)."""
    check_structure(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheet = wb.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own untyped errors for damaged files
        raise FileRejected(f"{path.name} cannot be read as a workbook: {exc}") from exc
    if not rows:
        raise FileRejected(f"{path.name}: the first sheet is empty")
    start_row = (getattr(sheet, "start", None) or (0, 0))[0]
    header = [(_text(h) or f"column_{i + 1}") for i, h in enumerate(rows[0])]
    doubled = sorted({h for h in header if header.count(h) > 1})
    if doubled:
        raise FileRejected(f"{path.name}: column '{doubled[0]}' appears twice in row 1; keep one")
    columns: list[list[str | None]] = [[] for _ in header]
    row_numbers: list[int] = []
    for i, row in enumerate(rows[1:], start=start_row + 2):
        texts = [_text(v) for v in row]
        if not any(texts):
            continue  # fully empty rows are layout, not data
        row_numbers.append(i)
        for j in range(len(header)):
            columns[j].append(texts[j] if j < len(texts) else None)
    data = {h: pa.array(c, pa.string()) for h, c in zip(header, columns, strict=True)}
    data["_row"] = pa.array(row_numbers, pa.int64())
    return pa.table(data)

"""Read a sheet of an .xlsx workbook as text columns, bounded before and while it is read.

Before the parser sees a byte, `check_limits` measures the workbook from its ZIP directory and a
streaming scan of its XML (what the parser would allocate: the sheet's used area, its cells,
the shared strings and the text they expand to); the parse itself runs in a child process with a
hard memory limit (`bounded.py`). `read_first_sheet` also refuses formulas and merged cells.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
from defusedxml.ElementTree import iterparse

from vaxlink.ingest import bounded
from vaxlink.ingest.errors import FileRejected, SheetNotFound, WorkbookTooLarge
from vaxlink.ingest.headers import refuse_doubled

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CHUNK = 1 << 20
#: What reading a damaged ZIP container can raise (CRC, inflate, encrypted or unknown parts).
_DAMAGED = (zipfile.BadZipFile, KeyError, EOFError, NotImplementedError, RuntimeError, OSError,
            zlib.error)  # fmt: skip


@dataclass(frozen=True)
class SheetLimits:
    """What a workbook may ask of the reader; far beyond a real worklist, far below a bomb."""

    #: Last column of the used area (a worklist has fewer than 100 columns; Excel allows 16,384).
    max_columns: int = 200
    #: Last row (Excel's own limit).
    max_rows: int = 1_048_576
    #: Cells of the used area, counted from A1 (the parser allocates every one of them).
    max_cells: int = 20_000_000
    #: Files inside the ZIP container.
    max_entries: int = 1_000
    #: Unpacked bytes of the whole workbook.
    max_unpacked_bytes: int = 1 << 30
    #: Unpacked ÷ packed size of one member; a sheet of real data packs 5–30 times.
    max_ratio: int = 200
    #: Members smaller than this are not held to `max_ratio`.
    ratio_floor: int = 1 << 20
    #: Unpacked size of the shared-strings part.
    max_shared_strings_bytes: int = 96 << 20
    #: Entries of the shared-strings table.
    max_shared_strings: int = 4_000_000
    #: One shared string (Excel itself stops a cell at 32,767 characters).
    max_string_bytes: int = 256 << 10
    #: Text the cells expand to once every shared string is copied to each cell that uses it.
    max_text_bytes: int = 256 << 20
    #: Memory the parsing child may map.
    memory_bytes: int = bounded.MEMORY_BYTES


LIMITS = SheetLimits()


@dataclass(frozen=True)
class SheetSize:
    """What the checks measured: used area from A1, cells, shared strings and expanded text."""

    rows: int
    columns: int
    cells: int
    shared_strings: int
    text_bytes: int


def _advice(name: str, what: str) -> WorkbookTooLarge:
    return WorkbookTooLarge(
        f"{name} was refused before reading: {what}. This is not a normal worklist (it may be "
        "damaged or built to overload the server). Copy only the rows and columns of the list "
        "into a new workbook (Paste Special → Values), save it as .xlsx and send that file"
    )


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _open_zip(source: Path | bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def _sheet_member(zf: zipfile.ZipFile, sheet: str | None) -> str:
    """The ZIP member of the sheet named `sheet`, or of the first sheet."""
    names: list[tuple[str, str | None]] = []
    with zf.open("xl/workbook.xml") as fh:
        for _ev, el in iterparse(fh):
            if el.tag == f"{_NS}sheet":
                names.append((el.get("name", ""), el.get(f"{_REL_NS}id")))
    if not names:
        raise FileRejected("the workbook has no sheets")
    if sheet is None:
        rid = names[0][1]
    else:
        found = [r for n, r in names if n == sheet]
        if not found:
            raise SheetNotFound(f"the workbook has no sheet «{sheet}»", [n for n, _ in names])
        rid = found[0]
    with zf.open("xl/_rels/workbook.xml.rels") as fh:
        for _ev, el in iterparse(fh):
            if el.tag == f"{_PKG_REL_NS}Relationship" and el.get("Id") == rid:
                target = el.get("Target", "")
                return (
                    target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
                )
    raise FileRejected("the workbook's sheet cannot be found")


def _check_directory(zf: zipfile.ZipFile, name: str, limits: SheetLimits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _advice(name, f"it holds {len(infos):,} files inside (a workbook has a few dozen)")
    total = 0
    for info in infos:
        total += info.file_size
        packed = max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * packed:
            raise _advice(
                name,
                f"its part {info.filename} unpacks {info.file_size // packed:,} times "
                f"({packed:,} bytes to {info.file_size:,}; real data packs at most "
                f"{limits.max_ratio} times)",
            )
    if total > limits.max_unpacked_bytes:
        raise _advice(
            name, f"it unpacks to {total >> 20:,} MB (at most {limits.max_unpacked_bytes >> 20:,})"
        )


def _chunks(fh: IO[bytes], cut: tuple[bytes, ...], max_carry: int) -> Iterator[bytes]:
    """The member's bytes in pieces of about 1 MB, each cut before the last tag start in `cut`
    (else before the last `<`), so that no element of interest is split between two pieces."""
    carry = b""
    for chunk in iter(lambda: fh.read(_CHUNK), b""):
        data = carry + chunk
        at = max(data.rfind(tag) for tag in cut)
        if at <= 0:
            at = data.rfind(b"<")
        if at <= 0:
            at = len(data)
        yield data[:at]
        carry = data[at:]
        if len(carry) > max_carry:
            yield carry
            carry = b""
    if carry:
        yield carry


_SST_HEAD = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*>")
_COUNT_ATTR = re.compile(rb"\b(?:uniqueCount|count)=\"\s*([0-9]+)")
_SI = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?si>)", re.S)


def _shared_string_sizes(zf: zipfile.ZipFile, name: str, limits: SheetLimits) -> array[int]:
    """Byte length of each shared string, in order (empty when the workbook has none)."""
    sizes: array[int] = array("Q")
    member = next((i for i in zf.infolist() if i.filename.lower() == "xl/sharedstrings.xml"), None)
    if member is None:
        return sizes
    if member.file_size > limits.max_shared_strings_bytes:
        raise _advice(
            name, f"its shared text table is {member.file_size >> 20:,} MB "
            f"(at most {limits.max_shared_strings_bytes >> 20:,})",
        )  # fmt: skip
    with zf.open(member) as fh:
        head_seen = False
        for piece in _chunks(fh, (b"<si",), limits.max_string_bytes + _CHUNK):
            if not head_seen and (head := _SST_HEAD.search(piece)):
                head_seen = True
                declared = max((int(v) for v in _COUNT_ATTR.findall(head.group(0))), default=0)
                if declared > limits.max_shared_strings:
                    raise _advice(name, f"it declares {declared:,} shared texts")
            for m in _SI.finditer(piece):
                body = m.group(1)
                size = len(body) if body else 0
                if size > limits.max_string_bytes:
                    raise _advice(name, "one of its cells holds more text than Excel allows")
                sizes.append(size)
            if len(sizes) > limits.max_shared_strings:
                raise _advice(name, f"it has more than {limits.max_shared_strings:,} shared texts")
    return sizes


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\bref=\"([^\"]*)\"")
_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData[\s/>]")
#: A cell's address: in sheet XML only cells carry an `r` attribute made of letters and digits.
_CELL_REF = re.compile(rb" r=\"([A-Z]{1,3})([0-9]{1,7})\"")


def _beyond(col: int) -> re.Pattern[bytes]:
    """Addresses whose column is past `col` (a sheet of real data has millions of addresses, so
    only the few that would widen the used area are matched; past Z, every wider one)."""
    if col < 26:
        return re.compile(rb' r="([%c-Z]|[A-Z]{2,3})[0-9]' % (65 + col))
    return re.compile(rb' r="([A-Z]{2,3})[0-9]')


#: A shared-string cell's index, as Excel, LibreOffice, openpyxl and xlsxwriter write it...
_SHARED_FAST = re.compile(rb"t=\"s\"><v>([0-9]{1,10})</v>")
#: ... and in any other attribute order or spacing.
_SHARED_ANY = re.compile(rb"\bt=\"s\"[^>]*>\s*<(?:[\w.-]+:)?v>\s*([0-9]{1,10})\s*<")
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def _area(name: str, rows: int, cols: int, limits: SheetLimits, where: str) -> None:
    if cols > limits.max_columns:
        raise _advice(
            name, f"{where} reaches column {_col_letters(cols)} ({cols:,} columns; at most "
            f"{limits.max_columns})",
        )  # fmt: skip
    if rows > limits.max_rows:
        raise _advice(name, f"{where} reaches row {rows:,} (at most {limits.max_rows:,})")
    if rows * cols > limits.max_cells:
        raise _advice(
            name, f"{where} spans {rows:,} rows × {cols:,} columns = {rows * cols:,} cells "
            f"(at most {limits.max_cells:,})",
        )  # fmt: skip


def _check_dimension(piece: bytes, name: str, limits: SheetLimits) -> None:
    m = _DIMENSION.search(piece)
    if not m:
        return  # a missing dimension is fine: the cells themselves are measured
    last = m.group(1).decode("ascii", "replace").split(":")[-1]
    ref = _REF.match(last)
    if ref:
        cols, rows = _col_number(ref.group(1).upper().encode()), int(ref.group(2))
        _area(name, rows, cols, limits, f"its declared used area (…{last})")


def _shared_text(piece: bytes, sizes: array[int]) -> int:
    """Bytes of shared text the piece's cells copy (an index past the table counts nothing)."""
    used = _SHARED_FAST.findall(piece)
    if len(used) != piece.count(b't="s"'):
        used = _SHARED_ANY.findall(piece)
    try:
        return sum(map(sizes.__getitem__, map(int, used)))
    except IndexError:
        n = len(sizes)
        return sum(sizes[i] if i < n else 0 for i in map(int, used))


def _scan_sheet(
    zf: zipfile.ZipFile, member: str, name: str, sizes: array[int], limits: SheetLimits
) -> SheetSize:
    max_col = max_row = cells = refs = upper = 0
    longest = max(sizes, default=0)
    safe = max(1, min(limits.max_rows, limits.max_cells // max(limits.max_columns, 1)))
    far_ref = re.compile(rb' r="[A-Z]{1,3}([0-9]{%d,7})"' % len(str(safe)))
    opens: tuple[bytes, ...] = (b"<c ", b"<c>", b"<c/>")
    first = True
    with zf.open(member) as fh:
        for piece in _chunks(fh, (b"<c ", b"<c>", b"<row"), limits.max_string_bytes + _CHUNK):
            if first:
                _check_dimension(piece, name, limits)
                data = _SHEET_DATA.search(piece)
                if data and data.group(1):  # a namespace prefix on every element
                    prefix = data.group(1)
                    opens = (b"<" + prefix + b"c ", b"<" + prefix + b"c>", b"<" + prefix + b"c/>")
                first = False
            cells += sum(piece.count(tag) for tag in opens)
            refs += piece.count(b' r="') - piece.count(b'<row r="')
            wider = _beyond(max_col).findall(piece)
            if wider:
                max_col = max(max_col, max(map(_col_number, set(wider))))
            if max_col:
                # Rows below `safe` cannot break the limits once the column limit holds, so
                # only addresses with as many digits as `safe` are matched and read.
                far = far_ref.findall(piece)
                if far:
                    max_row = max(max_row, max(map(int, far)))
                tail = list(_CELL_REF.finditer(piece, max(0, len(piece) - 512)))
                if tail:
                    max_row = max(max_row, int(tail[-1].group(2)))
            upper += piece.count(b't="s"') * longest
            _area(name, max_row, max_col, limits, "its used area")
            if cells > limits.max_cells:
                raise _advice(name, f"it has more than {limits.max_cells:,} cells")
    if cells != refs:  # some cells give no address: count positions the way the parser does
        max_row, max_col = _positions(zf, member, name, limits)
    # Every shared-text cell as long as the longest text is an upper bound; only a sheet above
    # the limit by that bound is read again to add up each cell's own text.
    expanded = (
        upper if upper <= limits.max_text_bytes else _expanded(zf, member, name, sizes, limits)
    )
    return SheetSize(max_row, max_col, cells, len(sizes), expanded)


def _expanded(
    zf: zipfile.ZipFile, member: str, name: str, sizes: array[int], limits: SheetLimits
) -> int:
    """Bytes of text the sheet's cells copy out of the shared-strings table."""
    total = 0
    with zf.open(member) as fh:
        for piece in _chunks(fh, (b"<c ", b"<c>", b"<row"), limits.max_string_bytes + _CHUNK):
            total += _shared_text(piece, sizes)
            if total > limits.max_text_bytes:
                raise _advice(
                    name, f"its cells repeat shared texts to more than "
                    f"{limits.max_text_bytes >> 20:,} MB of text",
                )  # fmt: skip
    return total


def _positions(zf: zipfile.ZipFile, member: str, name: str, limits: SheetLimits) -> tuple[int, int]:
    """Last row and column when cells or rows omit `r` (each then follows the previous one)."""
    max_row = max_col = row = col = 0
    with zf.open(member) as fh:
        for ev, el in iterparse(fh, events=("start", "end")):
            if ev == "end":
                if el.tag == f"{_NS}row":
                    el.clear()
                continue
            if el.tag == f"{_NS}row":
                r = el.get("r")
                row = int(r) if r and r.isdigit() else row + 1
                col = 0
            elif el.tag == f"{_NS}c":
                ref = _REF.match(el.get("r") or "")
                col = _col_number(ref.group(1).upper().encode()) if ref else col + 1
                if ref:
                    row = max(row, int(ref.group(2)))
                max_row, max_col = max(max_row, row), max(max_col, col)
                _area(name, max_row, max_col, limits, "its used area")
    return max_row, max_col


def check_limits(
    source: Path | bytes, *, name: str, sheet: str | None = None, limits: SheetLimits = LIMITS
) -> SheetSize:
    """Measure a workbook before it is parsed; WorkbookTooLarge (with advice) beyond `limits`.

    The sizes come from the ZIP directory (a part that unpacks to more than declared fails its
    CRC check here, so the parser never meets it unmeasured) and from a streaming scan of the
    sheet's XML: its `<dimension>` and every cell address, since the first can lie or be missing.
    """
    try:
        with _open_zip(source) as zf:
            _check_directory(zf, name, limits)
            member = _sheet_member(zf, sheet)
            sizes = _shared_string_sizes(zf, name, limits)
            return _scan_sheet(zf, member, name, sizes, limits)
    except _DAMAGED as exc:
        raise FileRejected(f"{name} is damaged or not a real .xlsx workbook") from exc
    except (SyntaxError, ValueError) as exc:  # XML errors, and defusedxml's refusals
        raise FileRejected(f"{name} is damaged or not a real .xlsx workbook ({exc})") from exc


#: Start of a formula (`<f>`) or merged-cell (`<mergeCell ...>`) element, with any prefix.
_SUSPECT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s/>]")


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
    (row by row, each row released after it is read) to find and name the first one. Call it
    after `check_limits`, which bounds what it reads.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            member = _sheet_member(zf, None)
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
    except _DAMAGED as exc:
        raise FileRejected(f"{path.name} is damaged or not a real .xlsx workbook") from exc
    except (SyntaxError, ValueError) as exc:  # XML errors, and defusedxml's refusals
        raise FileRejected(f"{path.name} is damaged or not a real .xlsx workbook ({exc})") from exc


def read_sheet_rows(
    source: Path | bytes,
    *,
    name: str,
    sheet: str | None = None,
    date_format: str | None = None,
    max_rows: int | None = None,
    limits: SheetLimits = LIMITS,
) -> list[list[str | None]]:
    """A sheet's rows from row 1 as text (see `bounded.read_sheet`), measured first, parsed in a
    memory-capped child; FileRejected (SheetNotFound, WorkbookTooLarge) when it cannot be."""
    check_limits(source, name=name, sheet=sheet, limits=limits)
    return bounded.read_sheet(
        source, name=name, sheet=sheet, date_format=date_format, max_rows=max_rows,
        memory_bytes=limits.memory_bytes,
    ).rows  # fmt: skip


def read_first_sheet(path: Path, *, limits: SheetLimits = LIMITS) -> pa.Table:
    """The first sheet as an Arrow table of strings plus `_row` (the Excel row number)."""
    check_limits(path, name=path.name, limits=limits)
    check_structure(path)
    rows = bounded.read_sheet(path, name=path.name, memory_bytes=limits.memory_bytes).rows
    if not rows:
        raise FileRejected(f"{path.name}: the first sheet is empty")
    header = [(h or f"column_{i + 1}") for i, h in enumerate(rows[0])]
    refuse_doubled(path.name, header)
    columns: list[list[str | None]] = [[] for _ in header]
    row_numbers: list[int] = []
    width = len(header)
    for i, texts in enumerate(rows[1:], start=2):
        if not any(texts):
            continue  # fully empty rows are layout, not data
        row_numbers.append(i)
        if len(texts) < width:
            texts = texts + [None] * (width - len(texts))
        for j in range(width):
            columns[j].append(texts[j])
    data = {h: pa.array(c, pa.string()) for h, c in zip(header, columns, strict=True)}
    data["_row"] = pa.array(row_numbers, pa.int64())
    return pa.table(data)

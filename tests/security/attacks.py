"""Attack inputs built in the test run (nothing binary is committed): XLSX bombs and broken CSVs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def _workbook(sheet: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


WB_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def workbook(
    sheet_xml: bytes | Iterable[bytes],
    shared: bytes | Iterable[bytes] | None = None,
    *,
    sheet: str = "Sheet1",
) -> bytes:
    """An .xlsx whose sheet (and shared strings) are the given XML, streamed into the ZIP."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", _workbook(sheet))
        zf.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        for member, body in (("xl/worksheets/sheet1.xml", sheet_xml),
                             ("xl/sharedStrings.xml", shared)):  # fmt: skip
            if body is None:
                continue
            with zf.open(member, "w", force_zip64=True) as fh:
                for part in [body] if isinstance(body, bytes) else body:
                    fh.write(part)
    return out.getvalue()


def sheet(rows: Iterable[bytes], dimension: str | None = None) -> Iterator[bytes]:
    """A worksheet part around the given `<row>` elements."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'.encode()
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def inline_row(n: int, values: Iterable[str], first_col: int = 1) -> bytes:
    cells = []
    for i, v in enumerate(values):
        ref = f"{col_letters(first_col + i)}{n}"
        cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'.encode()


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def far_cell(sheet_name: str = "Sheet1") -> bytes:
    """2 KB: one header cell and one cell at XFD1048576 (the parser allocates the area between)."""
    rows = [inline_row(1, ["record_id"]), b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']
    return workbook(sheet(rows), sheet=sheet_name)


def lying_dimension() -> bytes:
    """A small real sheet whose `<dimension>` claims the whole grid."""
    return workbook(sheet([inline_row(1, ["a", "b"]), inline_row(2, ["1", "2"])],
                          dimension="A1:XFD1048576"))  # fmt: skip


def hidden_far_cell() -> bytes:
    """The dimension says A1:B2, but one cell (with no other sign) sits at ZZ900000."""
    rows = [
        inline_row(1, ["a", "b"]),
        inline_row(2, ["1", "2"]),
        b'<row r="900000"><c r="ZZ900000" t="inlineStr"><is><t>x</t></is></c></row>',
    ]
    return workbook(sheet(rows, dimension="A1:B2"))  # fmt: skip


def shared_strings_bomb(
    cells: int = 100_000, text_kb: int = 64, sheet_name: str = "Sheet1"
) -> bytes:
    """A few hundred KB: one long shared string used by every cell (gigabytes once copied)."""
    shared = [
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="{cells}" '
        'uniqueCount="1"><si><t>'.encode(),
        b"A" * (text_kb << 10),
        b"</t></si></sst>",
    ]

    def rows() -> Iterator[bytes]:
        per_row = 20
        for r in range(1, cells // per_row + 1):
            yield (f'<row r="{r}">'.encode()
                   + b"".join(f'<c r="{col_letters(c)}{r}" t="s"><v>0</v></c>'.encode()
                              for c in range(1, per_row + 1)) + b"</row>")  # fmt: skip

    return workbook(sheet(rows()), shared, sheet=sheet_name)


def ratio_bomb(megabytes: int = 64) -> bytes:
    """Deep-ratio zip bomb: a sheet whose padding (XML whitespace) unpacks ~1000 times."""

    def body() -> Iterator[bytes]:
        yield inline_row(1, ["a"])
        pad = b" " * (1 << 20)
        for _ in range(megabytes):
            yield pad

    return workbook(sheet(body()))


def doubled_columns(name: str = "full_name") -> bytes:
    return workbook(sheet([inline_row(1, ["record_id", name, name]),
                           inline_row(2, ["R1", "An", "Bình"])]))  # fmt: skip

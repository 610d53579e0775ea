"""Bounded fuzzing of the XLSX and CSV readers on mutated real files: whatever the bytes, the
answer is a table or a typed refusal (`VaxlinkError`), never another exception or a crash."""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
import zipfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from tests.records.test_import import BAD, GOOD, HEADER
from vaxlink.errors import VaxlinkError
from vaxlink.ingest import reader, xlsx
from vaxlink.records.columns import DOSE_COLUMNS

FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _real_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for row in [*GOOD, *(r for r, _c in BAD)]:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _real_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows([*GOOD, *(r for r, _c in BAD)])
    return out.getvalue().encode("utf-8-sig")


XLSX = _real_xlsx()
CSV = _real_csv()
with zipfile.ZipFile(io.BytesIO(XLSX)) as _zf:
    PARTS = {i.filename: _zf.read(i) for i in _zf.infolist()}

#: Fragments an attacker (or a damaged copy) puts into the XML or the text.
NASTY = [b'r="XFD1048576"', b'<c r="ZZ9"><v>1</v></c>', b'<dimension ref="A1:XFD1048576"/>',
         b't="s"', b"<v>99999999</v>", b"<f>1+1</f>", b"\x00", b'"', b"\r", b"\n", b",,,,",
         b"\xff\xfe\x00\x00", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"<row>", b"</row>",
         b'uniqueCount="4294967295"', b"\xc3\x28", b"A" * 2000]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few edits: bytes flipped, a slice cut, a nasty fragment put in, truncated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del out[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            out[at:at] = draw(st.sampled_from(NASTY))
        else:
            del out[at:]
    return bytes(out)


@st.composite
def mutated_xlsx(draw: st.DrawFn) -> bytes:
    """A real workbook with one part's XML mutated (then zipped again), or its ZIP bytes mutated."""
    if draw(st.booleans()):
        return draw(mutated(XLSX))
    name = draw(st.sampled_from(sorted(PARTS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, body in PARTS.items():
            zf.writestr(part, draw(mutated(body)) if part == name else body)
    return out.getvalue()


@FUZZ
@given(mutated_xlsx())
def test_xlsx_reader_only_refuses_with_typed_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.xlsx"
        path.write_bytes(data)
        with contextlib.suppress(VaxlinkError):
            xlsx.read_first_sheet(path)


@FUZZ
@given(mutated(CSV))
def test_csv_reader_only_refuses_with_typed_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_bytes(data)
        con = duckdb.connect()
        try:
            loaded = reader.load(con, path, DOSE_COLUMNS)
            kept = con.sql("SELECT count(*) FROM src").fetchall()[0][0]
            assert kept + loaded.rows_rejected == loaded.rows_read
        except VaxlinkError:
            pass
        finally:
            con.close()

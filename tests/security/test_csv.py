"""CSV surprises (issue #13 point 9): a bad line is quarantined with its line number and reason,
never the whole file; every row read is accounted for; NUL bytes, doubled columns and wide
encodings are refused with what to do."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.records.test_import import GOOD, HEADER, TODAY
from tests.security import attacks
from tests.security.support import store_env, vaxlink
from vaxlink.clock import SystemClock
from vaxlink.ingest.errors import FileRejected
from vaxlink.ingest.pipeline import ImportReport
from vaxlink.records.importer import import_doses
from vaxlink.settings import Settings

SECONDS = 30.0  # generous: the SQLite import starts a child process; the machine may be busy


def _line(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def _rows(n: int) -> list[list[str]]:
    """`n` valid dose rows with distinct ids (GOOD's rows over and over)."""
    return [[f"R{i}", *GOOD[i % len(GOOD)][1:]] for i in range(n)]


def _open_quote(line: str) -> str:
    """The line with a quote opened at the start of its second cell and never closed."""
    return line.replace(",", ',"', 1)


def _import(store: Engine, tmp_path: Path, body: str | bytes, name: str = "d.csv") -> ImportReport:
    path = tmp_path / name
    data = body.encode() if isinstance(body, str) else body
    path.write_bytes(_line(HEADER).encode() + data)
    start = time.perf_counter()
    report = import_doses(store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())
    assert time.perf_counter() - start < SECONDS
    assert report.imported + report.unchanged + report.quarantined == report.rows_read
    return report


def _problems(report: ImportReport) -> dict[int, str]:
    return {p.row: p.reasons for p in report.problems}


def _source_rows(store: Engine) -> dict[str, int]:
    with store.connect() as conn:
        return dict(conn.execute(text("SELECT record_id, source_row FROM dose_record")).all())  # type: ignore[arg-type]


def test_unbalanced_quote_mid_file_quarantines_its_line_only(store: Engine, tmp_path: Path) -> None:
    # Line 5 opens a quote that never closes: DuckDB would read the rest of the file as one
    # cell. Only line 5 is quarantined; the 200 rows after it are imported with their lines.
    rows = _rows(203)
    lines = [_line(r) for r in rows]
    lines[3] = _open_quote(lines[3])
    report = _import(store, tmp_path, "".join(lines))
    assert report.rows_read == 203
    assert report.quarantined == 1
    assert "never closed" in _problems(report)[5]
    got = _source_rows(store)
    assert got["R4"] == 6
    assert got["R202"] == 204
    assert "R3" not in got


def test_quote_closed_lines_later_does_not_swallow_rows(store: Engine, tmp_path: Path) -> None:
    # A stray quote that closes three lines later would make one "valid" record of four lines.
    rows = _rows(8)
    lines = [_line(r) for r in rows]
    lines[1] = _open_quote(lines[1])
    cells = lines[4].split(",")
    lines[4] = ",".join([cells[0], cells[1] + '"', *cells[2:]])  # closes it, cells still match
    report = _import(store, tmp_path, "".join(lines))
    assert report.rows_read == 8
    assert set(_problems(report)) == {3}
    assert "never closed" in _problems(report)[3]
    # Line 6 is read alone; like any quote inside an unquoted cell, its quote is kept as text.
    assert set(_source_rows(store)) == {f"R{i}" for i in (0, 2, 3, 4, 5, 6, 7)}


def test_a_cell_with_line_breaks_is_still_one_row(store: Engine, tmp_path: Path) -> None:
    rows = _rows(4)
    rows[1][-1] = "F001"
    body = "".join([_line(rows[0]), _line(rows[1][:1]).rstrip("\n") + ',"Nguyễn\nVăn An",'
                    + ",".join(rows[1][2:]) + "\n", _line(rows[2]), _line(rows[3])])  # fmt: skip
    report = _import(store, tmp_path, body)
    assert (report.rows_read, report.quarantined) == (4, 0)
    got = _source_rows(store)
    assert got == {"R0": 2, "R1": 3, "R2": 5, "R3": 6}  # each row keeps its first line's number


def test_a_one_megabyte_cell_is_quarantined_with_its_line(store: Engine, tmp_path: Path) -> None:
    rows = _rows(5)
    rows[2][1] = "A" * (1 << 20)
    report = _import(store, tmp_path, "".join(_line(r) for r in rows))
    assert (report.rows_read, report.imported, report.quarantined) == (5, 4, 1)
    assert "longer than 1 MB" in _problems(report)[4]


def test_wrong_field_counts_are_quarantined_one_by_one(store: Engine, tmp_path: Path) -> None:
    rows = _rows(5)
    body = (
        "".join(_line(r) for r in rows[:2]) + "R9,x\n" + _line(rows[2]) + _line([*rows[3], "extra"])
    )
    report = _import(store, tmp_path, body + _line(rows[4]))
    assert report.rows_read == 6
    assert report.quarantined == 2
    assert _problems(report) == {4: "the row has fewer cells than the header",
                                 6: "the row has more cells than the header"}  # fmt: skip


def test_nul_byte_after_the_first_megabyte_is_refused_with_its_line(
    store: Engine, tmp_path: Path
) -> None:
    rows = _rows(20_000)  # well over 1 MB
    lines = [_line(r) for r in rows]
    assert sum(map(len, lines[:-10])) > 1 << 20
    lines[-5] = lines[-5].replace("Nguy", "Ng\x00uy", 1)
    with pytest.raises(FileRejected, match=r"line 19,997 contains a NUL byte"):
        _import(store, tmp_path, "".join(lines))
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar() == 0


@pytest.mark.parametrize(
    ("codec", "bom", "named"),
    [
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
        ("utf-16-le", b"\xff\xfe", "UTF-16 (little-endian)"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 (big-endian)"),
        ("utf-32-le", b"", "UTF-32 (little-endian)"),
        ("utf-16-le", b"", "UTF-16 (little-endian)"),
    ],
)
def test_wide_encodings_are_named_with_advice(
    store: Engine, tmp_path: Path, codec: str, bom: bytes, named: str
) -> None:
    path = tmp_path / "wide.csv"
    content = _line(HEADER) + "".join(_line(r) for r in _rows(3))
    path.write_bytes(bom + content.encode(codec))
    with pytest.raises(
        FileRejected, match=r"saved as " + named.replace("(", r"\(").replace(")", r"\)")
    ) as info:
        import_doses(store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())
    assert "CSV UTF-8" in str(info.value)


DOUBLED = "column 'full_name' appears twice in the header row"


def test_doubled_column_is_refused_on_every_path(store: Engine, tmp_path: Path) -> None:
    header = [*HEADER, "full_name"]
    rows = [[*r, r[1]] for r in _rows(2)]
    csv_path = tmp_path / "twice.csv"
    csv_path.write_text(_line(header) + "".join(_line(r) for r in rows), encoding="utf-8")
    xlsx_path = tmp_path / "twice.xlsx"
    xlsx_path.write_bytes(attacks.workbook(attacks.sheet(
        [attacks.inline_row(1, header), *(attacks.inline_row(i + 2, r) for i, r in enumerate(rows))]
    )))  # fmt: skip
    pq_path = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(c) for c in zip(*rows, strict=True)],
                                        names=header), pq_path)  # fmt: skip
    for path in (csv_path, xlsx_path, pq_path):
        with pytest.raises(FileRejected, match=DOUBLED):
            import_doses(store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())


def test_cli_quarantines_the_bad_line_and_says_so(tmp_path: Path) -> None:
    rows = _rows(50)
    lines = [_line(r) for r in rows]
    lines[10] = lines[10].replace(",Ng", ',"Ng', 1)
    path = tmp_path / "d.csv"
    path.write_text(_line(HEADER) + "".join(lines), encoding="utf-8")
    run = vaxlink(["records", "import", str(path)], store_env(tmp_path))
    assert run.returncode == 5, run.output  # finished, a row quarantined
    assert "Traceback" not in run.output
    assert "sniffing" not in run.output
    assert "dấu ngoặc kép" in " ".join(run.output.split())  # the reason, in Vietnamese
    problems = next((tmp_path / "data" / "import-reports").glob("batch-*-problems.csv"))
    assert "never closed" in problems.read_text(encoding="utf-8")  # and its detail, kept
    assert run.peak_mb < 1024


def test_cli_refuses_a_nul_byte_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(_line(HEADER).encode() + b"".join(_line(r).encode() for r in _rows(3))
                     + b"R9,\x00\n")  # fmt: skip
    run = vaxlink(["records", "import", str(path)], store_env(tmp_path))
    assert run.returncode == FileRejected.exit_code, run.output
    assert "Traceback" not in run.output
    assert "NUL byte" in run.output

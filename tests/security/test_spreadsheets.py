"""Spreadsheet bombs (issue #13 point 3): each is refused before the parser allocates, with advice;
an unforeseen one dies in the memory-capped child, never in the importing or web process."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from tests.records.test_import import GOOD, HEADER, TODAY
from tests.security import attacks
from tests.security.support import store_env, vaxlink
from vaxlink.cleaning import excel
from vaxlink.cleaning.errors import InvalidCorrection
from vaxlink.clock import SystemClock
from vaxlink.ingest import bounded, xlsx
from vaxlink.ingest.errors import FileRejected, WorkbookTooLarge
from vaxlink.records.importer import import_doses
from vaxlink.settings import Settings

#: (attack, what the refusal must say): every input is generated here, nothing binary is committed.
BOMBS: list[tuple[str, Callable[[], bytes], str]] = [
    ("far_cell", attacks.far_cell, "reaches column XFD"),
    ("lying_dimension", attacks.lying_dimension, "declared used area"),
    ("hidden_far_cell", attacks.hidden_far_cell, "reaches column ZZ"),
    ("shared_strings_bomb", attacks.shared_strings_bomb, "repeat shared texts"),
    ("ratio_bomb", attacks.ratio_bomb, "unpacks 1,0"),
]
#: Generous: the checks take milliseconds on these inputs; only the machine's load adds to it.
SECONDS = 10.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("label", "make", "reason"), BOMBS, ids=[b[0] for b in BOMBS])
def test_a_bomb_is_refused_before_reading_with_advice(
    tmp_path: Path, label: str, make: Callable[[], bytes], reason: str
) -> None:
    path = tmp_path / f"{label}.xlsx"
    path.write_bytes(make())
    before = _peak_mb()
    start = time.perf_counter()
    with pytest.raises(WorkbookTooLarge, match=reason) as info:
        xlsx.read_first_sheet(path)
    assert time.perf_counter() - start < SECONDS
    assert _peak_mb() - before < 100  # nothing of the bomb was unpacked in this process
    assert "Paste Special → Values" in str(info.value)


def test_a_bomb_missed_by_the_checks_dies_in_the_child(tmp_path: Path) -> None:
    # The checks bypassed: the parser in the child asks for ~512 GB (or whatever the cell at
    # XFD1048576 costs), is refused by RLIMIT_AS and the caller gets a typed refusal.
    path = tmp_path / "far.xlsx"
    path.write_bytes(attacks.far_cell())
    before = _peak_mb()
    with pytest.raises(WorkbookTooLarge, match="needs more than 256 MB of memory"):
        bounded.read_sheet(path, name=path.name, memory_bytes=256 << 20)
    assert _peak_mb() - before < 100
    data = attacks.shared_strings_bomb(cells=20_000, text_kb=64)  # 1.3 GB once copied
    with pytest.raises(WorkbookTooLarge):
        bounded.read_sheet(data, name="bomb.xlsx", memory_bytes=256 << 20)
    assert _peak_mb() - before < 100


def test_a_child_over_its_cpu_time_is_a_typed_refusal(tmp_path: Path) -> None:
    rows = (attacks.inline_row(r, ["x"] * 20) for r in range(1, 20_001))
    path = tmp_path / "slow.xlsx"
    path.write_bytes(attacks.workbook(attacks.sheet(rows)))
    with pytest.raises(WorkbookTooLarge, match="more processing than the reader allows"):
        bounded.read_sheet(path, name=path.name, cpu_seconds=0)


def test_the_child_reads_a_real_sheet_and_reports_its_peak(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for row in GOOD:
        ws.append(row)
    path = tmp_path / "ok.xlsx"
    wb.save(path)
    size = xlsx.check_limits(path, name=path.name)
    assert (size.rows, size.columns) == (len(GOOD) + 1, len(HEADER))
    read = bounded.read_sheet(path, name=path.name)
    assert read.rows[0] == HEADER
    assert 0 < read.peak_kib < bounded.MEMORY_BYTES // 1024
    table = xlsx.read_first_sheet(path)
    assert table.num_rows == len(GOOD)


def test_limits_are_parameters(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    path.write_bytes(attacks.workbook(attacks.sheet([attacks.inline_row(1, ["a"] * 30)])))
    assert xlsx.check_limits(path, name="wide.xlsx").columns == 30
    with pytest.raises(
        WorkbookTooLarge, match=r"reaches column A[A-D] \(\d+ columns; at most 20\)"
    ):
        xlsx.check_limits(path, name="wide.xlsx", limits=xlsx.SheetLimits(max_columns=20))


def test_cells_without_addresses_are_placed_as_the_parser_places_them(tmp_path: Path) -> None:
    # No `r` on the row or its cells: each follows the previous one, so 300 cells in one row
    # run past column GS (the 201st) even though no address says so.
    row = b"<row>" + b"<c><v>1</v></c>" * 300 + b"</row>"
    path = tmp_path / "noref.xlsx"
    path.write_bytes(attacks.workbook(attacks.sheet([row])))
    with pytest.raises(WorkbookTooLarge, match=r"reaches column GS \(201 columns"):
        xlsx.check_limits(path, name="noref.xlsx")


@pytest.mark.parametrize(("label", "make", "reason"), BOMBS[:4:3], ids=["far_cell", "sst_bomb"])
def test_cli_import_of_a_bomb_is_a_typed_refusal(
    tmp_path: Path, label: str, make: Callable[[], bytes], reason: str
) -> None:
    path = tmp_path / f"{label}.xlsx"
    path.write_bytes(make())
    run = vaxlink(["records", "import", str(path)], store_env(tmp_path))
    assert run.returncode == FileRejected.exit_code, run.output
    assert reason in " ".join(run.output.split()), run.output
    assert "Traceback" not in run.output
    assert run.seconds < 60  # start-up of the command included
    assert run.peak_mb < 1024


def test_a_bomb_through_the_import_pipeline_writes_nothing(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(attacks.far_cell())
    with pytest.raises(WorkbookTooLarge):
        import_doses(store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())


def test_police_worklist_upload_of_a_bomb_is_refused_without_growing_the_server() -> None:
    # The web path reads the uploaded bytes: measured, then parsed in the capped child.
    for make, reason in ((attacks.far_cell, "reaches column XFD"),
                         (attacks.shared_strings_bomb, "repeat shared texts")):  # fmt: skip
        data = make(sheet_name=excel.SHEET)  # type: ignore[call-arg]
        before = _peak_mb()
        with pytest.raises(InvalidCorrection, match=reason):
            excel.read_rows(data)
        assert _peak_mb() - before < 100
    wrong_sheet = attacks.workbook(attacks.sheet([attacks.inline_row(1, ["a"])]), sheet="Other")
    with pytest.raises(InvalidCorrection, match="no sheet"):
        excel.read_rows(wrong_sheet)


def test_doubled_xlsx_column_is_refused_with_the_shared_message(tmp_path: Path) -> None:
    path = tmp_path / "twice.xlsx"
    path.write_bytes(attacks.doubled_columns())
    with pytest.raises(FileRejected, match="column 'full_name' appears twice in the header row"):
        xlsx.read_first_sheet(path)

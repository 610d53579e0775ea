"""Formula injection (issue #13 point 4): a value such as `=HYPERLINK("http://x","y")` typed into a
facility code, a name or a lot number must reach every XLSX and CSV vaxlink writes as inert text
(explicit string cells in XLSX, a leading `'` in CSV), while numbers, negative ones included,
stay numbers. The last tests check that no module writes a workbook or a CSV around
`vaxlink.tabular`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.engine import Engine

from tests.cleaning.world import PHUC_XA, principal, registry_of
from tests.cleaning.world import build as build_world
from tests.records.test_import import GOOD, HEADER
from vaxlink.auth.roles import Role
from vaxlink.cleaning import excel
from vaxlink.clock import SystemClock
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.geo.codes import NATION
from vaxlink.linkage.files import link_files
from vaxlink.linkage.model import LinkModel
from vaxlink.records.importer import import_doses
from vaxlink.records.models import DoseRecord
from vaxlink.reports import service as reports
from vaxlink.settings import Settings
from vaxlink.tabular import FORMULA_STARTS, inert, is_formula_like, sql_inert

DIRTY = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+1", "-1+1", "＝1"]
#: Every first character the rule covers, each as a value.
STARTS = [*DIRTY, "\tx", "\r=1", "＋1", "－1", "＠A1"]
TODAY = dt.date(2022, 6, 1)
SRC = Path(__file__).resolve().parents[2] / "src" / "vaxlink"


# --- the rule itself -------------------------------------------------------------------------


@pytest.mark.parametrize("value", STARTS)
def test_formula_like_text_is_prefixed(value: str) -> None:
    assert inert(value) == "'" + value


@pytest.mark.parametrize("value", [-5, -1.5, 0, 3, 2.25, None, dt.date(2021, 1, 2), "F001", "'x"])
def test_numbers_and_plain_text_stay_as_they_are(value: object) -> None:
    assert inert(value) == value


@pytest.mark.parametrize("value", [*STARTS, "F001", "", "a=b"])
def test_the_sql_twin_agrees_on_duckdb_and_sqlite(value: str) -> None:
    expected = inert(value)
    duck = duckdb.connect().execute(f"SELECT {sql_inert('v')} FROM (SELECT $v AS v)", {"v": value})
    assert duck.fetchone() == (expected,)
    lite = sqlite3.connect(":memory:").execute(f"SELECT {sql_inert('v')} FROM (SELECT ? AS v)",
                                               (value,))  # fmt: skip
    assert lite.fetchone() == (expected,)


# --- helpers for the exports -----------------------------------------------------------------


def _xlsx_offences(data: bytes) -> list[str]:
    """Cells of a workbook that a spreadsheet program would evaluate: formulas, and text that
    starts like one without being an explicit string cell carrying Excel's quote prefix (the
    marker that keeps it text even when someone edits the cell)."""
    wb = load_workbook(io.BytesIO(data))
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                text = cell.data_type == "s" and cell.quotePrefix
                if cell.data_type == "f" or (is_formula_like(v) and not text):
                    bad.append(f"{ws.title}!{cell.coordinate}={v!r} ({cell.data_type})")
    return bad


def _xlsx_values(data: bytes) -> set[object]:
    wb = load_workbook(io.BytesIO(data))
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


def _csv_offences(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    return [f"row {i}: {cell!r}" for i, row in enumerate(rows, start=1) for cell in row
            if cell.startswith(FORMULA_STARTS)]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _dose_file(tmp_path: Path) -> Path:
    """Good doses whose facility codes, names and lot numbers are formulas, and bad rows (no
    name) whose record ids are formulas, so the problems CSV carries them too."""
    col = {name: i for i, name in enumerate(HEADER)}
    rows = []
    for i, value in enumerate(DIRTY):
        good = list(GOOD[i % len(GOOD)])
        good[col["record_id"]] = f"R{i}"
        good[col["facility_code"]] = value
        good[col["lot_number"]] = value
        rows.append(good)
        bad = list(GOOD[0])
        bad[col["record_id"]] = value
        bad[col["full_name"]] = ""
        rows.append(bad)
        named = list(GOOD[0])
        named[col["record_id"]] = f"N{i}"
        named[col["full_name"]] = value
        rows.append(named)
    path = tmp_path / "doses.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


# --- every export ----------------------------------------------------------------------------


def test_the_problems_csv_of_an_import_is_inert(store: Engine, tmp_path: Path) -> None:
    report = import_doses(store, _dose_file(tmp_path), settings=Settings(data_dir=tmp_path),
                          today=TODAY, clock=SystemClock())  # fmt: skip
    assert report.quarantined >= len(DIRTY)
    assert report.report_path is not None
    text = report.report_path.read_text(encoding="utf-8")
    assert _csv_offences(text) == []
    keys = {r[1] for r in csv.reader(io.StringIO(text))}
    assert {"'" + v for v in DIRTY} <= keys  # kept, readable, and inert
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert all(r[0].isdigit() for r in rows)  # row numbers stay numbers


def test_the_dashboard_and_daily_report_workbooks_are_inert(store: Engine, tmp_path: Path) -> None:
    import_doses(store, _dose_file(tmp_path), settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock())
    now = dt.datetime.now(dt.UTC)
    day = reports.local_day(now)
    with transaction(store) as s:
        reports.refresh_day(s, day, now=now)
        site_rows = reports.sites(s, day, NATION)
        assert {r.label for r in site_rows} >= set(DIRTY)  # the site codes reach the table
        sites_xlsx = reports.table_xlsx("nation VN", site_rows, None, sites=True)
        below_xlsx = reports.table_xlsx("nation VN", reports.children(s, day, NATION),
                                        reports.unit_figures(s, day, NATION), sites=False)  # fmt: skip
        daily_xlsx = reports.render(s, NATION, day).xlsx
    for data in (sites_xlsx, below_xlsx, daily_xlsx):
        assert _xlsx_offences(data) == []
    assert set(DIRTY) <= _xlsx_values(sites_xlsx)  # the value itself, exact, as text
    assert set(DIRTY) <= _xlsx_values(daily_xlsx)
    counts = [v for v in _xlsx_values(sites_xlsx) if isinstance(v, int)]
    assert max(counts, default=0) >= 1  # the figures are still numbers


def test_the_worklist_workbook_is_inert_and_round_trips(store: Engine) -> None:
    with transaction(store) as s:
        ids = build_world(s).doses
        first = next(iter(ids.values()))
        s.execute(update(DoseRecord).where(DoseRecord.id == first).values(
            full_name=DIRTY[0], raw_full_name=DIRTY[0], facility_code=DIRTY[1],
            record_id=DIRTY[2], vaccine_key=DIRTY[4]))  # fmt: skip
        data = excel.export_worklist(s, principal(Role.COMMUNE_POLICE, PHUC_XA), registry_of(s), now=dt.datetime.now(dt.UTC))
    assert _xlsx_offences(data) == []
    values = _xlsx_values(data)
    assert {DIRTY[0], DIRTY[1], DIRTY[2]} <= values
    read = {row["record_id"] for _n, row in excel.read_rows(data)}
    assert DIRTY[2] in read  # an officer's upload is matched by the exact record id


def test_the_linkage_result_csv_is_inert(tmp_path: Path) -> None:
    (tmp_path / "registry.csv").write_text(
        "citizen_id,full_name,date_of_birth,sex,province_code\n"
        "001085012345,Nguyễn Văn An,1985-03-04,M,001\n",
        encoding="utf-8",
    )
    lines = ["record_id,full_name,date_of_birth,sex,id_number,vaccine,vaccination_date,dose_number"]
    lines += [f'"{v.replace(chr(34), chr(34) * 2)}",Nguyễn Văn An,04/03/1985,Nam,001085012345,'
              f"Pfizer,2021-09-0{i + 1},{i + 1}" for i, v in enumerate(DIRTY)]  # fmt: skip
    (tmp_path / "doses.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = link_files(tmp_path / "registry.csv", tmp_path / "doses.csv", tmp_path / "out.csv",
                     explain=False, today=dt.date.today(), model=LinkModel.load())  # fmt: skip
    text = run.result.read_text(encoding="utf-8")
    assert _csv_offences(text) == []
    assert {"'" + v for v in DIRTY} <= {r[0] for r in csv.reader(io.StringIO(text))}


# --- no export around the helper -------------------------------------------------------------

#: Writing a spreadsheet or CSV file directly.
WRITERS = re.compile(
    r"\bWorkbook\(|csv\.writer\(|csv\.DictWriter\(|CSVWriter\(|write_csv\(|\.to_csv\(|"
    r"import xlsxwriter|COPY\s*\(.*?\)\s*TO\b",
    re.S,
)
#: Modules allowed to, and why. A bulk writer must neutralise its text in SQL (`sql_inert`).
EXCEPTIONS = {
    "tabular.py": "the helper itself",
    "synth/output.py": "writes synthetic INPUT files for tests and demos, read back by the "
    "importers; escaping would change the data under test, and no official opens them",
    "registry/dropfile.py": "the write-back file for the registry's collector (docs/formats.md "
    "§6): every value is vaxlink's own (ID digits, dates, counts, catalogue product codes, "
    "UVCIs), none typed by a person, and the contract fixes the values byte for byte",
}
BULK = {
    "ingest/pipeline.py": "the per-row problems CSV (DuckDB COPY) uses sql_inert",
    "linkage/files.py": "the result CSV (pyarrow) selects its text through sql_inert",
}


def offenders(root: Path) -> list[str]:
    """Modules under `root` that write XLSX/CSV around vaxlink.tabular."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        if rel in EXCEPTIONS or not WRITERS.search(source):
            continue
        if rel in BULK and "sql_inert(" in source:
            continue
        out.append(rel)
    return out


def test_no_module_writes_a_spreadsheet_or_csv_around_the_helper() -> None:
    assert offenders(SRC) == []


def test_the_checker_finds_a_planted_writer(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from openpyxl import Workbook\nwb = Workbook()\n")
    (tmp_path / "b.py").write_text("import csv\nw = csv.writer(fh)\n")
    (tmp_path / "c.py").write_text("con.execute(\"COPY (SELECT 1) TO 'x.csv'\")\n")
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "pipeline.py").write_text("con.execute(\"COPY (SELECT x) TO 'y'\")\n")
    (tmp_path / "d.py").write_text(
        "from vaxlink.tabular import new_workbook\nwb = new_workbook()\n"
    )
    assert offenders(tmp_path) == ["a.py", "b.py", "c.py", "ingest/pipeline.py"]

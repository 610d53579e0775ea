"""Dose import end to end on SQLite and PostgreSQL: nothing lost, reasons right, re-import idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from vaxlink.clock import SystemClock
from vaxlink.db import make_engine
from vaxlink.ingest.errors import FileRejected
from vaxlink.records.importer import import_doses
from vaxlink.settings import Settings

TODAY = dt.date(2022, 6, 1)
HEADER = ["record_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "province_code",
          "vaccine", "lot_number", "vaccination_date", "dose_number", "facility_code"]  # fmt: skip

GOOD = [
    ["G1", "Nguyễn Văn An", "14/03/1985", "Nam", "001085012345", "0912345678", "1",
     "AstraZeneca", "A1", "2021-08-01", "1", "F001"],
    ["G2", "nguyen  van AN", "1985-03-14", "m", "001 085 012 345", "", "01",
     "Astra Zeneca", "A2", "01/10/2021", "2", "F001"],
    ["G3", "Trần Thị Bích", "1990", "Nữ", "", "", "079", "Vero Cell", "V1", "5/9/2021", "1", "F079"],
    ["G4", "Le Thi Hoa", "7/4/1970", "", "12345678", "+84 912 000 111", "", "pfizer", "P1",
     "2021-12-01", "3", "F001"],
    ["G5", "Phạm Minh", "1970-04", "X", "1085012345", "", "", "Moderna", "M1", "2022-01-02", "1", ""],
]  # fmt: skip
# (row, expected reason codes): every bad row must come back with exactly its reasons.
BAD = [
    (["", "Vũ Văn Bình", "1990", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""],
     {"record_id_missing"}),
    (["B2", "Lê Thị Cúc", "31/02/1990", "F", "", "", "", "Pfizer", "", "2021-09-01", "1", ""],
     {"dob_invalid"}),
    (["B3", "Lê Văn Dũng", "1990", "M", "00108501234567", "", "", "Pfizer", "", "2021-09-01", "1",
      ""], {"id_too_long"}),
    (["B4", "Lê Văn Em", "1990", "M", "", "", "", "Sinopharmx", "", "2021-09-01", "1", ""],
     {"vaccine_unknown"}),
    (["B5", "Lê Văn Phú", "1990", "M", "", "", "", "Pfizer", "", "2023-01-01", "1", ""],
     {"vaccination_date_out_of_range"}),
    (["B6", "", "1990", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""], {"name_missing"}),
    (["B7", "Lê Văn Giang", "ngày 5", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""],
     {"dob_invalid"}),
    (["B8", "Lê Văn Hải", "1990", "M", "", "", "", "Pfizer", "", "2021-09-01", "hai", ""],
     {"dose_number_invalid"}),
    (["B9", "Lê Văn Ích", "2021-10-01", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""],
     {"dob_after_vaccination"}),
    (["DUP", "Lê Văn Khoa", "1990", "M", "", "", "", "Pfizer", "", "2021-09-01", "1", ""],
     {"record_id_duplicate"}),
    (["DUP", "Lê Văn Khoa", "1990", "M", "", "", "", "Pfizer", "", "2021-09-02", "2", ""],
     {"record_id_duplicate"}),
    (["B10", "Lê Văn Lâm", "1990", "M", "", "", "", "Pfizer", "", "31/13/2021", "1", ""],
     {"vaccination_date_invalid"}),
]  # fmt: skip


def _write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _codes_by_record(store: Engine) -> dict[str, set[str]]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT raw, reason_codes FROM quarantined_row")).all()
    out: dict[str, set[str]] = {}
    for raw_text, codes in rows:
        raw = json.loads(raw_text)
        key = raw.get("record_id") or raw.get("full_name") or raw.get("line")
        if key == "DUP":
            key = f"DUP:{raw['vaccination_date']}"
        out[key] = set(codes.split(";"))
    return out


def _count(store: Engine, table: str) -> int:
    with store.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _expected_codes() -> dict[str, set[str]]:
    out = {}
    for row, codes in BAD:
        key = row[0] or row[1]
        out[key if key != "DUP" else f"DUP:{row[9]}"] = codes
    return out


def test_broken_csv_nothing_lost_and_reimport_changes_nothing(
    store: Engine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    rows = GOOD + [r for r, _c in BAD]
    path = _write_csv(tmp_path / "doses.csv", [*rows, ["R-extra", "x"]])  # a short, ragged row
    report = import_doses(store, path, settings=settings, today=TODAY, clock=SystemClock())

    assert report.rows_read == len(rows) + 1
    assert report.imported + report.quarantined == report.rows_read
    assert report.imported == len(GOOD)
    assert report.quarantined == len(BAD) + 1
    expected = _expected_codes() | {"R-extra,x": {"unreadable_row"}}
    assert _codes_by_record(store) == expected
    assert report.report_path is not None
    assert report.report_path.is_file()
    first_problem = report.problems[0]
    assert first_problem.row == len(GOOD) + 2  # Excel numbering: header is row 1
    assert "record id is empty" in first_problem.reasons

    doses, quarantined = _count(store, "dose_record"), _count(store, "quarantined_row")
    again = import_doses(store, path, settings=settings, today=TODAY, clock=SystemClock())
    assert again.imported == 0
    assert again.unchanged == len(GOOD)
    assert again.previous_batches == [report.batch_id]
    assert (_count(store, "dose_record"), _count(store, "quarantined_row")) == (doses, quarantined)


def test_parsed_values_beside_raw(store: Engine, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", GOOD)
    report = import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    )
    # G4 (1/12/2021) and G5 (2/1/2022) came after the identity-first rule, from a file
    assert report.flags == {"identity_first_unverified": 2}
    with store.connect() as conn:
        rows = {
            r.record_id: r
            for r in conn.execute(text("SELECT * FROM dose_record ORDER BY record_id")).all()
        }
    g2 = rows["G2"]
    assert (g2.raw_full_name, g2.full_name, g2.name_folded) == (
        "nguyen  van AN",
        "Nguyen Van An",
        "nguyen van an",
    )
    assert (g2.raw_id_number, g2.id_number, g2.id_kind) == (
        "001 085 012 345",
        "001085012345",
        "cccd12",
    )
    assert g2.province_code == "001"
    assert g2.vaccine_key == "Vaxzevria"
    assert str(g2.vaccination_date) == "2021-10-01"
    g3 = rows["G3"]
    assert (g3.date_of_birth, g3.dob_precision, g3.sex) == ("1990", "year", "F")
    assert g3.vaccine_mp == "BBIBP-CorV"
    assert str(g3.vaccination_date) == "2021-09-05"
    g4 = rows["G4"]
    assert (g4.id_kind, g4.phone, g4.sex) == ("cmnd9_lost_zeros", "0912000111", None)
    assert (g4.dose_category, g4.dose_sequence) == ("booster", 1)
    g5 = rows["G5"]
    assert (g5.date_of_birth, g5.dob_precision) == ("1970-04", "month")
    assert g5.id_kind == "cccd12_lost_zeros"
    assert "sex 'X' not recognised" in g5.warnings
    assert rows["G1"].dose_category == "primary"
    assert rows["G1"].dose_sequence == 1
    flagged = {k for k, r in rows.items() if "identity_first_unverified" in (r.warnings or "")}
    assert flagged == {"G4", "G5"}


def test_identity_first_rule_starts_on_20_october_2021(store: Engine, tmp_path: Path) -> None:
    """The day before the rule is not flagged, the day itself is; a flagged row is stored."""
    rows = [[f"I{d}", "Lê Văn Minh", "1990", "M", "", "", "", "Pfizer", "", day, "1", ""]
            for d, day in ((19, "19/10/2021"), (20, "20/10/2021"))]  # fmt: skip
    path = _write_csv(tmp_path / "d.csv", rows)
    report = import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    )
    assert (report.imported, report.quarantined) == (2, 0)
    assert report.flags == {"identity_first_unverified": 1}
    with store.connect() as conn:
        warned = dict(conn.execute(text("SELECT record_id, warnings FROM dose_record")).all())
    assert warned["I19"] is None
    assert warned["I20"].startswith("identity_first_unverified: vaccinated on or after 20/10/2021")


def test_changed_resend_is_quarantined_not_overwritten(store: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    import_doses(
        store,
        _write_csv(tmp_path / "a.csv", GOOD[:1]),
        settings=settings,
        today=TODAY,
        clock=SystemClock(),
    )
    changed = [[*GOOD[0][:1], "Nguyễn Văn Ân", *GOOD[0][2:]]]
    report = import_doses(store, _write_csv(tmp_path / "b.csv", changed), settings=settings,
                          today=TODAY, clock=SystemClock())  # fmt: skip
    assert (report.imported, report.quarantined) == (0, 1)
    assert "already imported" in report.problems[0].reasons
    with store.connect() as conn:
        assert (
            conn.execute(text("SELECT full_name FROM dose_record")).scalar_one() == "Nguyễn Văn An"
        )


def test_vietnamese_headers_semicolons_and_nfd(store: Engine, tmp_path: Path) -> None:
    header = ["Mã mũi tiêm", "HỌ VÀ TÊN", "ngay sinh", "Giới tính", "Số CCCD/CMND", "Tên vắc xin",
              "Số lô", "Ngày tiêm", "Mũi số", "Ghi chú"]  # fmt: skip
    nfd = "Nguyễn Thị Thuỷ"
    import unicodedata

    path = tmp_path / "vn.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(header)
        w.writerow(["V1", unicodedata.normalize("NFD", nfd), "01/02/1991", "Nữ", "", "Pfizer", "L",
                    "02/09/2021", "1", "ghi chú"])  # fmt: skip
    report = import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    )
    assert (report.imported, report.quarantined) == (1, 0)
    with store.connect() as conn:
        name, extra = conn.execute(text("SELECT full_name, raw_extra FROM dose_record")).one()
    assert name == "Nguyễn Thị Thủy"  # NFC, and the tone mark in its canonical (old-style) place
    assert json.loads(extra) == {"Ghi chú": "ghi chú"}


def test_parquet_import(store: Engine, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({h: [r[i] or None for r in GOOD] for i, h in enumerate(HEADER)})
    pq.write_table(table, tmp_path / "d.parquet")
    report = import_doses(store, tmp_path / "d.parquet", settings=Settings(data_dir=tmp_path),
                          today=TODAY, clock=SystemClock())  # fmt: skip
    assert (report.rows_read, report.imported) == (len(GOOD), len(GOOD))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("junk.csv", bytes(range(256)) * 4, "binary data"),
        ("latin.csv", "record_id,full_name\nR1,Lê Hà\n".encode("cp1258"), "not UTF-8"),
        ("utf16.csv", "record_id,full_name\n".encode("utf-16"), "UTF-16"),
        ("header_only.csv", (",".join(HEADER) + "\n").encode(), "no data rows"),
        ("missing.csv", b"record_id,full_name\nR1,An\n", "required column(s) missing"),
        ("twice.csv", ("record_id,Mã mũi tiêm," + ",".join(HEADER[1:]) + "\n").encode(),
         "both mean 'record_id'"),
        ("xls.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old .xls"),
        ("zip.csv", b"PK\x03\x04" + b"\0" * 100, "rename it to .xlsx"),
        ("notes.docx", b"hello", "unsupported file type"),
    ],
)  # fmt: skip
def test_files_that_are_not_what_they_claim(
    store: Engine, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_doses(
            store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
        )
    assert _count(store, "import_batch") == 0


def test_row_numbers_count_unreadable_lines(store: Engine, tmp_path: Path) -> None:
    # A ragged line in the middle: rows after it keep their own line numbers in the report.
    rows = [GOOD[0], ["R-mid", "x"], GOOD[1], BAD[1][0], GOOD[2]]
    path = _write_csv(tmp_path / "d.csv", rows)
    report = import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    )
    assert {(p.row, p.record_key) for p in report.problems} == {(3, None), (5, "B2")}
    with store.connect() as conn:
        got = dict(conn.execute(text("SELECT record_id, source_row FROM dose_record")).all())
    assert got == {"G1": 2, "G2": 4, "G3": 6}


def test_bulk_load_keeps_every_index_and_constraint(store: Engine, tmp_path: Path) -> None:
    # The first, large load drops the secondary indexes (and on PostgreSQL the unique and foreign
    # key constraints) and builds them again afterwards; partial indexes stay as they are.
    def shown(item: dict[str, Any]) -> str:
        # A partial index's predicate is reflected as a clause, and PostgreSQL prints a rebuilt
        # one with other casts: compare the values it names.
        options = {
            k: re.findall(r"'(\w+)'", str(v)) for k, v in item.pop("dialect_options", {}).items()
        }
        return repr((sorted(item.items()), options))

    def schema() -> tuple[set[str], set[str]]:
        found = inspect(store)
        indexes = {shown(dict(ix)) for ix in found.get_indexes("dose_record")}
        keys = {shown(dict(fk)) for fk in found.get_foreign_keys("dose_record")}
        keys |= {shown(dict(uq)) for uq in found.get_unique_constraints("dose_record")}
        return indexes, keys

    before = schema()
    assert len(before[0]) >= 4
    assert len(before[1]) == 2  # the batch's foreign key, the record id's unique constraint
    # worklist by district, province and site, citizen, approvable by site
    assert sum("_where" in ix for ix in before[0]) == 5
    path = _write_csv(tmp_path / "d.csv", GOOD)
    assert import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    ).imported
    assert schema() == before


def test_the_command_imports_in_its_own_process_and_a_second_run_adds_nothing(
    store_url: str, tmp_path: Path
) -> None:
    # `vaxlink records import` imports in its own process (no child) after closing its
    # connections; on SQLite that path must write, commit and leave a sound store.
    rows = [*GOOD, *(r for r, _codes in BAD if r[0] in ("B2", "DUP"))]
    path = _write_csv(tmp_path / "d.csv", rows)
    env = {**os.environ, "VAXLINK_DATABASE_URL": store_url, "COLUMNS": "200",
           "VAXLINK_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    command = [str(Path(sys.executable).with_name("vaxlink")), "records", "import", str(path)]
    runs = [subprocess.run(command + lang, env=env, capture_output=True, text=True, timeout=300,
                           check=False) for lang in ([], ["--lang", "en"])]  # fmt: skip
    for run in runs:
        assert run.returncode == 5, run.stdout + run.stderr  # finished, rows quarantined
    # the reasons in Vietnamese unless asked for English
    assert "ngày sinh '31/02/1990' không phải là ngày hợp lệ" in runs[0].stdout
    assert "date of birth '31/02/1990' is not a valid date" in runs[1].stdout
    assert "nothing was added twice" in runs[1].stdout
    engine = make_engine(store_url)
    try:
        assert _count(engine, "dose_record") == len(GOOD)
        assert _count(engine, "quarantined_row") == 3
        assert _count(engine, "import_batch") == 2
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()


def test_two_digit_birth_year_is_read_and_warned(store: Engine, tmp_path: Path) -> None:
    """DD/MM/YY: 20YY when not after the import's year, else 19YY; stored with a warning that
    names what was read; an impossible date is still refused with its reason."""
    rows = [[rid, "Lê Văn Minh", dob, "M", "", "", "", "Pfizer", "", "01/09/2021", "1", ""]
            for rid, dob in (("Y1", "15/10/64"), ("Y2", "06/05/10"), ("Y3", "31/02/64"),
                             ("Y4", "15/10/1964"))]  # fmt: skip
    path = _write_csv(tmp_path / "d.csv", rows)
    report = import_doses(
        store, path, settings=Settings(data_dir=tmp_path), today=TODAY, clock=SystemClock()
    )
    assert (report.imported, report.quarantined) == (3, 1)
    with store.connect() as conn:
        got = {r: (d, w) for r, d, w in conn.execute(
            text("SELECT record_id, date_of_birth, warnings FROM dose_record"))}  # fmt: skip
    assert got["Y1"][0] == "1964-10-15"
    assert got["Y2"][0] == "2010-05-06"
    assert got["Y1"][1] == (
        "dob_two_digit_year: date of birth '15/10/64' has a two-digit year, read as 1964-10-15"
    )
    assert "2010-05-06" in got["Y2"][1]
    assert got["Y4"] == ("1964-10-15", None)

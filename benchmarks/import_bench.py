"""Import benchmark: rows/s and peak memory of `vaxlink records import`.

Cases: a 1M-row dose CSV into SQLite and into PostgreSQL, a 100k-row XLSX into SQLite, and the
idempotent re-import of the CSV. Data come from `vaxlink synth` (realistic, ~27% dirty rows).
Writes benchmarks/results/import.json and prints a table. Target: >= 100,000 rows/s for CSV
into either store, peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import duckdb
import xlsxwriter
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured, write_result

VAXLINK = str(Path(sys.executable).with_name("vaxlink"))


def make_inputs(tmp: Path, rows: int, xlsx_rows: int) -> tuple[Path, Path]:
    """A CSV of exactly `rows` dose records and an XLSX of `xlsx_rows`, from synthetic data."""
    citizens = rows // 2 + 50_000  # about two doses per person
    gen = run_measured([VAXLINK, "synth", "--citizens", str(citizens), "--out", str(tmp / "synth"),
                        "--seed", "7"])  # fmt: skip
    if gen.returncode != 0:
        raise SystemExit(f"synth failed:\n{gen.stdout}")
    con = duckdb.connect()
    src = str(tmp / "synth" / "doses.csv")
    csv_path = tmp / "doses_1m.csv"
    con.execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true) LIMIT {rows}) "
        f"TO '{csv_path}' (HEADER)"
    )
    n = con.sql(f"SELECT count(*) FROM read_csv('{csv_path}', all_varchar=true)").fetchall()[0][0]
    if n != rows:
        raise SystemExit(f"only {n} dose rows generated, wanted {rows}")
    xlsx_path = tmp / "doses_100k.xlsx"
    rel = con.sql(f"SELECT * FROM read_csv('{src}', all_varchar=true) LIMIT {xlsx_rows}")
    wb = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, rel.columns)
    for i, row in enumerate(rel.fetchall(), start=1):
        ws.write_row(i, 0, ["" if v is None else v for v in row])
    wb.close()
    return csv_path, xlsx_path


def run_case(name: str, file: Path, rows: int, env: dict[str, str]) -> dict[str, object]:
    """Run one import as a separate process and measure it."""
    m = run_measured([VAXLINK, "records", "import", str(file)], env=env)
    if m.returncode not in (0, 5):  # 5: finished, some rows quarantined
        raise SystemExit(f"{name} failed ({m.returncode}):\n{m.stdout}")
    return {"case": name, "rows": rows, "seconds": round(m.seconds, 2),
            "rows_per_second": round(rows / m.seconds), "peak_rss_mb": round(m.peak_rss_bytes / 2**20)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="vaxlink-bench-") as d:
        tmp = Path(d)
        csv_path, xlsx_path = make_inputs(tmp, args.rows, args.xlsx_rows)
        sqlite_env = {"VAXLINK_DATA_DIR": str(tmp / "sqlite")}
        results.append(run_case("CSV → SQLite", csv_path, args.rows, sqlite_env))
        results.append(
            run_case("CSV → SQLite, re-import (no change)", csv_path, args.rows, sqlite_env)
        )
        xlsx_env = {"VAXLINK_DATA_DIR": str(tmp / "sqlite-xlsx")}
        results.append(run_case("XLSX → SQLite", xlsx_path, args.xlsx_rows, xlsx_env))
        db = f"vaxlink_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{db}"'))
        try:
            pg_url = args.pg_url.rsplit("/", 1)[0] + f"/{db}"
            pg_env = {"VAXLINK_DATA_DIR": str(tmp / "pg"), "VAXLINK_DATABASE_URL": pg_url}
            results.append(run_case("CSV → PostgreSQL", csv_path, args.rows, pg_env))
            results.append(
                run_case("CSV → PostgreSQL, re-import (no change)", csv_path, args.rows, pg_env)
            )
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    table = Table(title="vaxlink records import")
    for col in ("case", "rows", "seconds", "rows/s", "peak RSS (MB)"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for r in results:
        table.add_row(str(r["case"]), f"{r['rows']:,}", f"{r['seconds']}", f"{r['rows_per_second']:,}",
                      f"{r['peak_rss_mb']}")  # fmt: skip
    Console().print(table)
    path = write_result("import", {"target": {"rows_per_second": 100_000, "peak_rss_mb": 1024},
                                   "results": results})  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()

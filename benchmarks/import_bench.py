"""Import benchmark: rows/s, CPU time and peak memory of `vaxlink records import`.

Cases: a 1M-row dose CSV into SQLite and into PostgreSQL, a 100k-row XLSX into SQLite, and the
idempotent re-import of the CSV into each store. Data come from `vaxlink synth` (realistic, ~27%
dirty rows). Each import runs as a separate `vaxlink` process into a new store that `vaxlink db
upgrade` migrated beforehand (creating the schema is a one-time cost of a store, not of an
import), so the time includes starting Python, the command's own migration check and everything
the import does; memory is the peak PSS summed over the whole process tree, sampled every 0.1 s.
Every measured run starts from a quiet disk (`sync`; `CHECKPOINT` on PostgreSQL), so one run's
writes are not flushed during the next. Each case runs `--repeat` times and the best run counts
(the machine may be shared); every run is kept in the JSON with the load average around it.
Writes benchmarks/results/import.json and prints a table. Target: >= 100,000 rows/s for CSV into
either store, peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import xlsxwriter
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from _measure import Measured, run_measured, write_result

VAXLINK = str(Path(sys.executable).with_name("vaxlink"))
ONLY = ""  # --only


def make_inputs(tmp: Path, rows: int, xlsx_rows: int) -> tuple[Path, Path]:
    """A CSV of exactly `rows` dose records and an XLSX of `xlsx_rows` (kept in `tmp` for reuse)."""
    csv_path, xlsx_path = tmp / f"doses_{rows}.csv", tmp / f"doses_{xlsx_rows}.xlsx"
    if csv_path.exists() and xlsx_path.exists():
        return csv_path, xlsx_path
    citizens = rows // 2 + 50_000  # about two doses per person
    gen = run_measured([VAXLINK, "synth", "--citizens", str(citizens), "--out", str(tmp / "synth"),
                        "--seed", "7"])  # fmt: skip
    if gen.returncode != 0:
        raise SystemExit(f"synth failed:\n{gen.stdout}")
    con = duckdb.connect()
    src = str(tmp / "synth" / "doses.csv")
    con.execute(
        f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true) LIMIT {rows}) "
        f"TO '{csv_path}' (HEADER)"
    )
    n = con.sql(f"SELECT count(*) FROM read_csv('{csv_path}', all_varchar=true)").fetchall()[0][0]
    if n != rows:
        raise SystemExit(f"only {n} dose rows generated, wanted {rows}")
    rel = con.sql(f"SELECT * FROM read_csv('{src}', all_varchar=true) LIMIT {xlsx_rows}")
    wb = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, rel.columns)
    for i, row in enumerate(rel.fetchall(), start=1):
        ws.write_row(i, 0, ["" if v is None else v for v in row])
    wb.close()
    shutil.rmtree(tmp / "synth")
    return csv_path, xlsx_path


def _run(file: Path, env: dict[str, str]) -> Measured:
    m = run_measured([VAXLINK, "records", "import", str(file)], env=env, interval=0.1)
    if m.returncode not in (0, 5):  # 5: finished, some rows quarantined
        raise SystemExit(f"import of {file.name} failed ({m.returncode}):\n{m.stdout}")
    return m


def _prepare(env: dict[str, str]) -> None:
    """Migrate the new store, then let the disk settle (earlier runs' writes flushed)."""
    done = subprocess.run([VAXLINK, "db", "upgrade"], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"vaxlink db upgrade failed:\n{done.stdout}{done.stderr}")
    url = env.get("VAXLINK_DATABASE_URL", "")
    if url.startswith("postgresql"):
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                               isolation_level="AUTOCOMMIT")  # fmt: skip
        with engine.connect() as c:
            c.execute(text("CHECKPOINT"))
        engine.dispose()
    os.sync()


def run_case(
    name: str, rows: int, repeat: int, store: Callable[[], Iterator[dict[str, str]]],
    files: list[Path],
) -> dict[str, object] | None:  # fmt: skip
    """Import `files` in turn into a new migrated store, `repeat` times; the last import counts."""
    if ONLY and ONLY not in name:
        return None
    runs = []
    for _ in range(repeat):
        with contextmanager(store)() as env:
            _prepare(env)
            for i, f in enumerate(files):
                if i == len(files) - 1:
                    _prepare(env)  # the earlier imports' writes are flushed before the clock
                m = _run(f, env)
        runs.append({"seconds": round(m.seconds, 2), "cpu_seconds": round(m.cpu_seconds, 2),
                     "peak_pss_mb": round(m.peak_rss_bytes / 2**20),
                     "load_before": round(m.load_before, 2), "load_after": round(m.load_after, 2)})  # fmt: skip
    best = min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    return {"case": name, "rows": rows, "seconds": best["seconds"],
            "rows_per_second": round(rows / float(best["seconds"])),  # type: ignore[arg-type]
            "cpu_seconds": best["cpu_seconds"],
            "peak_rss_mb": max(int(r["peak_pss_mb"]) for r in runs),  # type: ignore[call-overload]
            "runs": runs}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs per case; the best counts")
    ap.add_argument("--inputs", type=Path, help="keep the generated files here and reuse them")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--only", metavar="TEXT", help="run only the cases whose name holds TEXT")
    args = ap.parse_args()
    global ONLY
    ONLY = args.only or ""
    results: list[dict[str, object] | None] = []
    with tempfile.TemporaryDirectory(prefix="vaxlink-bench-") as d:
        tmp = Path(d)
        inputs = args.inputs or tmp
        inputs.mkdir(parents=True, exist_ok=True)
        csv_path, xlsx_path = make_inputs(inputs, args.rows, args.xlsx_rows)

        def sqlite_store() -> Iterator[dict[str, str]]:
            data = tmp / f"sqlite-{uuid.uuid4().hex[:8]}"
            yield {"VAXLINK_DATA_DIR": str(data)}
            shutil.rmtree(data, ignore_errors=True)

        results.append(run_case("CSV → SQLite", args.rows, args.repeat, sqlite_store, [csv_path]))
        results.append(run_case("CSV → SQLite, re-import (no change)", args.rows, args.repeat,
                                sqlite_store, [csv_path, csv_path]))  # fmt: skip
        results.append(
            run_case("XLSX → SQLite", args.xlsx_rows, args.repeat, sqlite_store, [xlsx_path])
        )
        if not args.skip_pg:
            admin = create_engine(args.pg_url.replace("postgresql://", "postgresql+psycopg://"),
                                  isolation_level="AUTOCOMMIT")  # fmt: skip

            def pg_store() -> Iterator[dict[str, str]]:
                db = f"vaxlink_bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{db}"'))
                try:
                    yield {"VAXLINK_DATA_DIR": str(tmp / db),
                           "VAXLINK_DATABASE_URL": args.pg_url.rsplit("/", 1)[0] + f"/{db}"}  # fmt: skip
                finally:
                    with admin.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))

            results.append(
                run_case("CSV → PostgreSQL", args.rows, args.repeat, pg_store, [csv_path])
            )
            results.append(run_case("CSV → PostgreSQL, re-import (no change)", args.rows,
                                    args.repeat, pg_store, [csv_path, csv_path]))  # fmt: skip
    table = Table(title="vaxlink records import (best of each case)")
    for col in ("case", "rows", "seconds", "rows/s", "CPU s", "peak PSS (MB)", "load 1-min"):
        table.add_column(col, justify="left" if col == "case" else "right")
    results = [r for r in results if r]
    for r in results:
        loads = ", ".join(f"{x['load_before']}" for x in r["runs"])  # type: ignore[attr-defined]
        table.add_row(str(r["case"]), f"{r['rows']:,}", f"{r['seconds']}", f"{r['rows_per_second']:,}",
                      f"{r['cpu_seconds']}", f"{r['peak_rss_mb']}", loads)  # fmt: skip
    Console().print(table)
    path = write_result("import", {"target": {"rows_per_second": 100_000, "peak_rss_mb": 1024},
                                   "cpus": os.cpu_count(), "results": results})  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()

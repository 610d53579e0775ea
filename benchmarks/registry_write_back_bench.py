"""Registry write-back at scale: full, no-op and incremental batches, file drop and HTTP.

    .venv/bin/python benchmarks/registry_write_back_bench.py --citizens 500000
    .venv/bin/python benchmarks/registry_write_back_bench.py --citizens 500000 --store postgresql

A fresh store (SQLite file, or a new PostgreSQL database) gets `--citizens` people with 1-3 doses
each (5 % in review) and 70 % with an active certificate, inserted set-based. Then, each timed:

1. a full batch to a Parquet file drop (read doses, certificates and the watermark into DuckDB,
   compute, record the batch's rows, read them back, write the file and its manifest, move the
   watermark);
2. the same run again, incremental: nothing changed, nothing sent;
3. 1 % of citizens get a new verified dose (one SQL statement), then an incremental batch;
4. (`--http`) a full batch POSTed in 5,000-row chunks to the reference registry service on a
   live local server.

Results go to benchmarks/results/registry_write_back_<store>_<citizens>.json and a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from tests.registry.writeback_support import bulk_population  # noqa: E402

from vaxlink.auth import service as auth  # noqa: E402
from vaxlink.clock import FixedClock  # noqa: E402
from vaxlink.db import make_engine, transaction, upgrade  # noqa: E402
from vaxlink.registry.dropfile import FileDrop  # noqa: E402
from vaxlink.registry.http import HttpStatusSink  # noqa: E402
from vaxlink.registry.service_app import StatusInbox, create_registry_app  # noqa: E402
from vaxlink.registry.writeback import Mode, write_back  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ADMIN_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _audit(session: Any, action: str, batch_id: str, detail: dict[str, Any]) -> None:
    auth.append(session, actor=None, action=action, object_type="registry_export_batch",
                object_id=batch_id, detail={**detail, "operator": "cli:bench"},
                at=dt.datetime.now(dt.UTC))  # fmt: skip


def _store(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    name = f"vaxlink_wb_{uuid.uuid4().hex[:10]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _serve(engine: Engine) -> tuple[str, Any, StatusInbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = StatusInbox()
    server = uvicorn.Server(uvicorn.Config(create_registry_app(engine, inbox), host="127.0.0.1",
                                           port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, inbox


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--citizens", type=int, default=500_000)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--http", action="store_true", help="also time a full batch over HTTP")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url, drop_db = _store(args.store, tmp)
        engine = make_engine(url)
        try:
            upgrade(engine)
            t_gen, counts = _timed(lambda: bulk_population(engine, args.citizens))
            if args.store == "postgresql":
                with engine.begin() as c:
                    c.execute(text("ANALYZE dose_record"))
                    c.execute(text("ANALYZE certificate"))
            folder = tmp / "drop"
            folder.mkdir()
            clock = FixedClock(dt.datetime.now(dt.UTC))

            def run(mode: str, sink: Any = None) -> Any:
                return write_back(engine, sink or FileDrop(folder), mode=mode, clock=clock,
                                  by="cli:bench", audit=_audit)  # fmt: skip

            steps: list[dict[str, Any]] = []
            t, r = _timed(lambda: run(Mode.FULL))
            steps.append({"step": "full, Parquet file drop", "seconds": round(t, 2),
                          "rows_sent": r.sent[0].batch.row_count})  # fmt: skip
            t, r = _timed(lambda: run(Mode.INCREMENTAL))
            steps.append({"step": "incremental, nothing changed", "seconds": round(t, 2),
                          "rows_sent": sum(s.batch.row_count for s in r.sent)})  # fmt: skip
            changed = args.citizens // 100
            with transaction(engine) as s:
                s.execute(text(
                    "INSERT INTO dose_record (record_id, batch_id, source_row, row_hash, "
                    "full_name, name_folded, id_kind, citizen_id, vaccine_key, vaccine_mp, "
                    "vaccination_date, dose_number, dose_category, dose_sequence, status, version) "
                    "SELECT 'X' || record_id, batch_id, source_row, row_hash, full_name, "
                    "name_folded, id_kind, citizen_id, 'Comirnaty', 'EU/1/20/1528', "
                    "vaccination_date + 400, 9, 'booster', 2, 'verified', 1 FROM dose_record "
                    "WHERE dose_number = 1 AND citizen_id IN (SELECT DISTINCT citizen_id FROM "
                    "dose_record ORDER BY citizen_id LIMIT :n)"
                    if args.store == "postgresql" else
                    "INSERT INTO dose_record (record_id, batch_id, source_row, row_hash, "
                    "full_name, name_folded, id_kind, citizen_id, vaccine_key, vaccine_mp, "
                    "vaccination_date, dose_number, dose_category, dose_sequence, status, version) "
                    "SELECT 'X' || record_id, batch_id, source_row, row_hash, full_name, "
                    "name_folded, id_kind, citizen_id, 'Comirnaty', 'EU/1/20/1528', "
                    "date(vaccination_date, '+400 days'), 9, 'booster', 2, 'verified', 1 "
                    "FROM dose_record WHERE dose_number = 1 AND citizen_id IN (SELECT DISTINCT "
                    "citizen_id FROM dose_record ORDER BY citizen_id LIMIT :n)"
                ), {"n": changed})  # fmt: skip
            t, r = _timed(lambda: run(Mode.INCREMENTAL))
            steps.append({"step": f"incremental, {changed:,} citizens changed",
                          "seconds": round(t, 2),
                          "rows_sent": sum(s.batch.row_count for s in r.sent)})  # fmt: skip
            if args.http:
                base, server, inbox = _serve(engine)
                sink = HttpStatusSink(base, timeout=120)
                t, r = _timed(lambda: run(Mode.FULL, sink))
                steps.append({"step": "full, HTTP 5,000-row chunks", "seconds": round(t, 2),
                              "rows_sent": r.sent[0].batch.row_count,
                              "received": len(inbox.statuses)})  # fmt: skip
                sink.close()
                server.should_exit = True
        finally:
            engine.dispose()
            if drop_db:
                drop_db()
    out = {
        "benchmark": "registry_write_back", "store": args.store, "citizens": args.citizens,
        "generated": counts, "generate_seconds": round(t_gen, 1), "steps": steps,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"registry_write_back_{args.store}_{args.citizens}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nregistry write-back, {args.store}, {args.citizens:,} citizens "
          f"({counts['doses']:,} doses, {counts['certificates']:,} certificates)")  # fmt: skip
    print(f"{'step':<40} {'seconds':>9} {'rows sent':>10}")
    for s in steps:
        print(f"{s['step']:<40} {s['seconds']:>9.2f} {s['rows_sent']:>10,}")
    print(f"load average {load_before} -> {os.getloadavg()}; written {path}")


if __name__ == "__main__":
    main()

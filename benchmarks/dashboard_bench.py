"""Dashboard and daily-report speed on a large PostgreSQL store.

    .venv/bin/python benchmarks/dashboard_bench.py --doses 1000000
    .venv/bin/python benchmarks/dashboard_bench.py --doses 10000000

Builds the store set-based (benchmarks/_pg10m.py), computes the day's figures, then times the
national dashboard through the HTTP app (target < 500 ms) and a province's daily report
(target < 10 s). Prints a table and writes benchmarks/results/dashboard_<doses>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from _pg10m import create_database, drop_database, fill
from vaxlink.auth.models import User
from vaxlink.auth.service import create_user
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.geo.codes import NATION
from vaxlink.reports import service as reports
from vaxlink.settings import Settings
from vaxlink.web.app import create_app
from vaxlink.web.security import CSRF_COOKIE

RESULTS = Path(__file__).parent / "results"
PASSWORD = "bench-password-123456"


def _times(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--reuse", metavar="URL",
                        help="Measure a store an earlier --keep run built (kept afterwards).")  # fmt: skip
    args = parser.parse_args()
    load_before = os.getloadavg()
    now = dt.datetime.now(dt.UTC)
    url = args.reuse or create_database()
    keep = args.keep or bool(args.reuse)
    result: dict[str, object] = {"doses": args.doses, "load_average_before": load_before}
    try:
        if args.reuse:
            upgrade(make_engine(url))  # a store built by an older version gets its migrations
            result["build_s"] = "reused"
        else:
            print(f"Building {args.doses:,} doses in {url.rsplit('/', 1)[1]} …", flush=True)
            started = time.perf_counter()
            result["build_steps_s"] = fill(url, args.doses, now=now)
            result["build_s"] = round(time.perf_counter() - started, 1)
        engine = make_engine(url)
        with engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM dose_record")).scalar_one()
        if held != args.doses:
            raise SystemExit(f"the store holds {held:,} doses, not {args.doses:,}")
        day = reports.local_day(now)
        started = time.perf_counter()
        with transaction(engine) as s:
            refreshed = reports.refresh_day(s, day, now=now)
        result["refresh_figures_s"] = round(time.perf_counter() - started, 2)
        result["figure_rows"] = refreshed.rows
        with transaction(engine) as s:
            if not s.scalar(select(User).where(User.username == "bench-nation")):
                create_user(s, username="bench-nation", password=PASSWORD,
                            role="national_issuer", unit="VN", now=dt.datetime.now(dt.UTC))  # fmt: skip
            provinces = [r for r in reports.children(s, day, NATION) if r.drill]
            province = max(provinces, key=lambda r: r.figures["doses_recorded"]).drill
            nation = reports.unit_figures(s, day, NATION)
        assert province is not None
        result["nation"] = nation.as_dict()
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(Settings(database_url=url, data_dir=Path(tmp)))
            with TestClient(app) as client:
                client.get("/login")
                r = client.post("/login", data={"username": "bench-nation", "password": PASSWORD,
                                                "next": "/", "csrf_token": client.cookies.get(CSRF_COOKIE)},
                                follow_redirects=False)  # fmt: skip
                assert r.status_code == 303, r.text[:300]
                for path in ("/dashboard/data", "/dashboard"):
                    assert client.get(path).status_code == 200  # warm
                    ms = _times(lambda p=path: client.get(p).raise_for_status(), args.repeat)
                    result[f"GET {path} ms"] = {"median": round(statistics.median(ms), 1),
                                                "max": round(max(ms), 1)}  # fmt: skip
                ms = _times(lambda: client.get("/dashboard/data", params={"unit": str(province)})
                            .raise_for_status(), args.repeat)  # fmt: skip
                result["GET /dashboard/data?unit=province ms"] = {
                    "median": round(statistics.median(ms), 1), "max": round(max(ms), 1)}  # fmt: skip
        started = time.perf_counter()
        with transaction(engine) as s:
            files = reports.render(s, province, day)
        result["province_report_s"] = round(time.perf_counter() - started, 2)
        result["province"] = str(province)
        result["province_report_bytes"] = {"xlsx": len(files.xlsx), "pdf": len(files.pdf)}
        engine.dispose()
    finally:
        if not keep:
            drop_database(url)
    result["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"dashboard_{args.doses}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n{'measure':<44} {'value':>14}")
    for key in ("build_s", "refresh_figures_s", "GET /dashboard/data ms", "GET /dashboard ms",
                "GET /dashboard/data?unit=province ms", "province_report_s"):  # fmt: skip
        print(f"{key:<44} {json.dumps(result[key]):>14}")
    print(f"load average before {load_before}, after {result['load_average_after']}")
    print(f"written {out}")


if __name__ == "__main__":
    main()

"""Per-site ageing of unfixed errors (`/ageing`'s one statement) over millions of doses in
PostgreSQL.

    .venv/bin/python benchmarks/ageing_bench.py --doses 1000000

The store is generated set-based (INSERT ... SELECT generate_series): doses over the wards of
Hồ Chí Minh City's districts and of the rest of the country, 5 % of them in the worklist (review,
unmatched, invalid), one `dose_link` row per dose decided 0–30 days ago, a listed site per
(ward, 1 of 3). Then `ageing.by_site` is run for a district, a province and the nation (the
statement a page runs), repeated; p50/max are printed and written to
benchmarks/results/ageing_<doses>.json, with the plan's top line of the district query.
Timings on a shared machine are noisy: the repeats and the plan say more than one number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaxlink.db import make_engine, upgrade  # noqa: E402
from vaxlink.geo.codes import NATION, Level, UnitKey  # noqa: E402
from vaxlink.reports import ageing  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ADMIN_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2021, 11, 20, 3, 0, tzinfo=dt.UTC)


def _wards() -> list[tuple[str, str, str]]:
    from vaxlink.geo.index import UnitIndex

    ix = UnitIndex.for_version("2008-2025")
    out = []
    for unit in ix:
        if unit.level is Level.WARD:
            path = ix.path(unit.key)
            out.append((path[1].code, path[2].code, unit.code))
    return out


def _build(url: str, doses: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    wards = _wards()
    with engine.begin() as c:
        c.execute(text("CREATE TEMP TABLE w (n int, p text, d text, code text)"))
        c.execute(text("INSERT INTO w VALUES (:n, :p, :d, :code)"),
                  [{"n": i, "p": p, "d": d, "code": w} for i, (p, d, w) in enumerate(wards)])  # fmt: skip
        c.execute(text(
            "INSERT INTO import_batch (id, kind, file_name, file_sha256, file_kind, rows_read, "
            "rows_imported, rows_unchanged, rows_quarantined, started_at) VALUES "
            "(1, 'doses', 'bench.csv', repeat('0', 64), 'csv', 0, 0, 0, 0, :t)"), {"t": NOW - dt.timedelta(days=40)})  # fmt: skip
        c.execute(text(
            "INSERT INTO link_run (id, started_at, engine, model_name, model_version, model_digest, "
            "registry_size, doses_in, doses_written, doses_skipped, verified, auto_linked, review, "
            "unmatched, invalid) VALUES (1, :t, 'duckdb', 'm', 1, repeat('0', 64), 0, 0, 0, 0, 0, 0, "
            "0, 0, 0)"), {"t": NOW})  # fmt: skip
        c.execute(text(
            "INSERT INTO facility (code, name, ward_code, kind, head_name, phone, active, created_at, "
            "updated_at) SELECT 'F' || code || '-' || k, 'Trạm Y tế ' || code || '-' || k, code, "
            "'health_station', 'Nguyễn Văn Trưởng ' || code, '0912345678', true, :t, :t "
            "FROM w CROSS JOIN generate_series(0, 2) k"), {"t": NOW})  # fmt: skip
        # Skewed: a quarter of the doses in Hồ Chí Minh City (province 079), the rest spread.
        c.execute(text(
            "INSERT INTO dose_record (id, record_id, batch_id, source_row, row_hash, full_name, "
            "name_folded, id_kind, vaccine_key, vaccine_mp, vaccination_date, dose_number, "
            "dose_category, dose_sequence, facility_code, status, version, province_code, "
            "district_code, ward_code) "
            "SELECT g, 'B' || g, 1, g, 'x', 'Lê Thị Hoa', 'le thi hoa', 'cccd12', 'Comirnaty', "
            "'EU/1/20/1528', DATE '2021-10-01', 1, 'primary', 1, 'F' || w.code || '-' || (g % 3), "
            "CASE WHEN g % 20 = 0 THEN 'review' WHEN g % 20 = 1 THEN 'unmatched' "
            "WHEN g % 40 = 2 THEN 'invalid' ELSE 'verified' END, 1, w.p, w.d, w.code "
            "FROM generate_series(1, :n) g JOIN w ON w.n = CASE WHEN g % 4 = 0 "
            "THEN (SELECT min(n) FROM w WHERE p = '079') + (g / 4) % "
            "(SELECT count(*) FROM w WHERE p = '079') ELSE (g::bigint * 7919) % (SELECT count(*) FROM w) END"),
            {"n": doses})  # fmt: skip
        c.execute(text(
            "INSERT INTO dose_link (dose_record_id, run_id, status, candidates, decided_at) "
            "SELECT id, 1, status, '[]', :t - make_interval(days => (id % 31)::int) FROM dose_record"),
            {"t": NOW})  # fmt: skip
        c.execute(text("ANALYZE"))
    engine.dispose()


def _time(session: Session, key: UnitKey, repeats: int) -> dict[str, float | int]:
    times, rows = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = len(ageing.by_site(session, key, now=NOW))
        times.append((time.perf_counter() - t0) * 1000)
    return {"sites": rows, "p50_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--doses", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    name = f"vaxlink_ageing_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        t0 = time.perf_counter()
        _build(url, args.doses)
        build_s = time.perf_counter() - t0
        engine = make_engine(url)
        cases = {"district 760 (HCMC)": UnitKey(Level.DISTRICT, "760"),
                 "province 079 (HCMC)": UnitKey(Level.PROVINCE, "079"), "nation": NATION}  # fmt: skip
        out: dict[str, object] = {}
        with Session(engine) as s:
            for label, key in cases.items():
                out[label] = _time(s, key, args.repeats)
            sql = ageing._sql(Level.DISTRICT, "oldest")
            codes = ageing.wards_of(cases["district 760 (HCMC)"]) or []
            wards = "(" + ", ".join(f"'{w}'" for w in codes) + ")"
            plan = s.execute(text("EXPLAIN " + sql.replace(":wards", wards).replace(":unit", "'760'")),
                             {f"c{d}": NOW - dt.timedelta(days=d) for d in (3, 7, 14)}).scalars().all()  # fmt: skip
        engine.dispose()
        result = {"doses": args.doses, "build_s": round(build_s, 1), "cases": out,
                  "plan_district": plan, "machine": platform.node(),
                  "note": "2 shared cores, other jobs running: timings are noisy"}  # fmt: skip
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"ageing_{args.doses}.json").write_text(
            json.dumps(result, indent=2, ensure_ascii=False)
        )
        print(f"{'case':<24} {'sites':>7} {'p50 ms':>9} {'max ms':>9}")
        for label, r in out.items():
            assert isinstance(r, dict)
            print(f"{label:<24} {r['sites']:>7} {r['p50_ms']:>9} {r['max_ms']:>9}")
        print("\n".join(line for line in plan if "Scan" in line or "Join" in line))
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

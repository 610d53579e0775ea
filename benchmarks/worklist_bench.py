"""Worklist pages with millions of doses in PostgreSQL, timed through the real HTTP app.

    .venv/bin/python benchmarks/worklist_bench.py --doses 1000000
    .venv/bin/python benchmarks/worklist_bench.py --doses 10000000 --keep   # reuse with --reuse

The store is generated SET-BASED in SQL (INSERT ... SELECT generate_series): citizens, doses over
the ~10,000 real communes with a skewed distribution (a few big urban wards, many small ones),
about 5% of doses in review / unmatched / invalid with candidates, and one `dose_link` row per
dose. Then a commune health-station account logs in and the app (FastAPI TestClient, the same
middleware, auth, audit and templates as production) is asked, many times each: the first page,
a deep keyset page, a filtered and searched page, and the detail of one dose. p50/p95 are
printed and written to benchmarks/results/worklist_<doses>.json. Target: under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaxlink.db import make_engine, upgrade  # noqa: E402
from vaxlink.identity import fold_name  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ADMIN_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FAMILY = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + ["Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
          "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]  # fmt: skip
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Gia"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam",
         "Phương", "Quang", "Sơn", "Thảo", "Trang", "Tuấn", "Vy", "Yến", "Long", "Khoa", "Hoa"]  # fmt: skip
VACCINES = [("Comirnaty", "EU/1/20/1528"), ("Vaxzevria", "EU/1/21/1529"),
            ("BBIBP-CorV", "BBIBP-CorV"), ("Spikevax", "EU/1/20/1507")]  # fmt: skip


def _arr(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _wards() -> list[tuple[str, str, str]]:
    from vaxlink.geo.codes import Level
    from vaxlink.geo.index import UnitIndex

    ix = UnitIndex.for_version()
    out = []
    for u in ix:
        if u.key.level is Level.WARD:
            path = ix.path(u.key)
            out.append((path[1].code, path[2].code, u.key.code))
    return out


def _timed(conn: Any, label: str, sql: str, **params: Any) -> None:
    t = time.perf_counter()
    conn.execute(text(sql), params)
    print(f"  {label}: {time.perf_counter() - t:.1f}s", flush=True)


def generate(engine: Engine, doses: int) -> dict[str, Any]:
    """Fill an empty migrated store, set-based; returns what was made."""
    citizens = max(doses // 2, 1000)
    wards = _wards()
    fam, mid, giv = _arr(FAMILY), _arr(MIDDLE), _arr(GIVEN)
    ffam, fmid, fgiv = (_arr([fold_name(x) for x in a]) for a in (FAMILY, MIDDLE, GIVEN))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_ward (n int PRIMARY KEY, province varchar(3), "
                          "district varchar(3), ward varchar(5))"))  # fmt: skip
        conn.execute(text("INSERT INTO bench_ward VALUES (:n, :p, :d, :w)"),
                     [{"n": i, "p": p, "d": d, "w": w} for i, (p, d, w) in enumerate(wards)])  # fmt: skip
        conn.execute(text(
            "INSERT INTO import_batch (id, kind, file_name, file_sha256, file_kind, rows_read, "
            "rows_imported, rows_unchanged, rows_quarantined, started_at) VALUES "
            "(1, 'doses', 'bench', repeat('0', 64), 'sql', 0, 0, 0, 0, now())"))  # fmt: skip
        conn.execute(text(
            "INSERT INTO link_run (id, started_at, finished_at, engine, model_name, model_version, "
            "model_digest, registry_size, doses_in, doses_written, doses_skipped, verified, "
            "auto_linked, review, unmatched, invalid) VALUES (1, now(), now(), 'duckdb', "
            "'bench', 1, 'bench', 0, 0, 0, 0, 0, 0, 0, 0, 0)"))  # fmt: skip
        # Drop the secondary indexes during the load; they are rebuilt once at the end.
        idx = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('citizen', 'dose_record', 'dose_link') AND indexname NOT LIKE 'pk_%'"
        )).all()  # fmt: skip
        for name, _def in idx:
            if name.startswith("uq_"):
                table = "dose_record" if "dose_record_record" in name else "dose_link"
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            else:
                conn.execute(text(f'DROP INDEX "{name}"'))
    print(f"generating {citizens:,} citizens and {doses:,} doses over {len(wards):,} communes",
          flush=True)  # fmt: skip
    nw = len(wards)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        # Citizen i lives in ward floor(nw * u^2): a few big urban wards, a long tail.
        _timed(conn, "citizen", f"""
            INSERT INTO citizen (citizen_id, full_name, name_folded, name_key, date_of_birth,
                                 dob_precision, sex, province_code, district_code, ward_code,
                                 phone, row_hash, batch_id, source_row)
            SELECT lpad(i::text, 12, '0'),
                   ({fam})[f] || ' ' || ({mid})[m] || ' ' || ({giv})[g],
                   ({ffam})[f] || ' ' || ({fmid})[m] || ' ' || ({fgiv})[g],
                   ({ffam})[f] || ' ' || ({fgiv})[g],
                   to_char(date '1940-01-01' + (hashint % 25000), 'YYYY-MM-DD'), 'day',
                   CASE WHEN hashint % 2 = 0 THEN 'M' ELSE 'F' END,
                   w.province, w.district, w.ward,
                   CASE WHEN hashint % 3 = 0 THEN '09' || lpad((hashint % 100000000)::text, 8, '0') END,
                   'x', 1, i
            FROM (SELECT i, abs(hashtext(i::text)) AS hashint,
                         1 + abs(hashtext('f' || i)) % {len(FAMILY)} AS f,
                         1 + abs(hashtext('m' || i)) % {len(MIDDLE)} AS m,
                         1 + abs(hashtext('g' || i)) % {len(GIVEN)} AS g,
                         floor({nw} * power((abs(hashtext('w' || i)) % 1000003) / 1000003.0, 2))::int AS wn
                  FROM generate_series(1, {citizens}) i) s
            JOIN bench_ward w ON w.n = s.wn
        """)  # fmt: skip
        # Dose j belongs to citizen (j % citizens) + 1; ~5% need a person (review 2.5%,
        # unmatched 1.5%, invalid 1%), their ID missing or mangled and names unaccented.
        _timed(conn, "dose_record", f"""
            INSERT INTO dose_record (id, record_id, batch_id, source_row, row_hash,
                raw_full_name, raw_date_of_birth, raw_sex, raw_id_number, raw_ward_code,
                raw_vaccine, raw_vaccination_date, raw_dose_number, raw_facility_code,
                full_name, name_folded, date_of_birth, dob_precision, sex, id_number, id_kind,
                phone, province_code, district_code, ward_code, vaccine_key, vaccine_mp,
                lot_number, vaccination_date, dose_number, dose_category, dose_sequence,
                facility_code, status, citizen_id, version)
            SELECT j, 'R' || j, 1, j, 'h',
                   nm, date_of_birth, sex, idn, ward_code,
                   vac, to_char(vd, 'YYYY-MM-DD'), dn::text, fac,
                   nm, name_folded,
                   date_of_birth, 'day', sex, idn,
                   CASE WHEN idn IS NULL THEN 'empty' ELSE 'cccd12' END,
                   phone, province_code, district_code, ward_code, vac, mp,
                   'L' || (j % 997), vd, dn, CASE WHEN dn <= 2 THEN 'primary' ELSE 'booster' END,
                   CASE WHEN dn <= 2 THEN dn ELSE dn - 2 END, fac, st,
                   CASE WHEN st IN ('verified', 'auto_linked') THEN citizen_id END, 2
            FROM (
                SELECT j, c.*, (ARRAY['{"','".join(v for v, _ in VACCINES)}'])[1 + j % 4] AS vac,
                       (ARRAY['{"','".join(m for _, m in VACCINES)}'])[1 + j % 4] AS mp,
                       date '2021-03-01' + (abs(hashtext('d' || j)) % 600) AS vd,
                       1 + (j / {citizens}) AS dn,
                       'F' || lpad((abs(hashtext(c.ward_code)) % 9000)::text, 4, '0') AS fac,
                       CASE WHEN r < 25 THEN 'review' WHEN r < 40 THEN 'unmatched'
                            WHEN r < 50 THEN 'invalid' WHEN r < 80 THEN 'auto_linked'
                            ELSE 'verified' END AS st,
                       CASE WHEN r < 50 THEN c.name_folded ELSE c.full_name END AS nm,
                       CASE WHEN r < 25 THEN NULL
                            WHEN r < 50 THEN substr(c.citizen_id, 1, 11)
                            ELSE c.citizen_id END AS idn
                FROM (SELECT j, abs(hashtext('s' || j)) % 1000 AS r,
                             lpad(((j - 1) % {citizens} + 1)::text, 12, '0') AS cid
                      FROM generate_series(1, {doses}) j) g
                JOIN citizen c ON c.citizen_id = g.cid
            ) x
        """)  # fmt: skip
        _timed(conn, "dose_link", f"""
            INSERT INTO dose_link (id, dose_record_id, run_id, status, citizen_id,
                                   match_probability, candidates, reason, rule, explanation,
                                   decided_at)
            SELECT d.id, d.id, 1, d.status, d.citizen_id,
                   CASE WHEN d.status = 'review' THEN 0.8 WHEN d.status IN ('verified', 'auto_linked') THEN 1 END,
                   CASE WHEN d.status = 'review' THEN jsonb_build_array(
                            jsonb_build_object('citizen_id', lpad(((d.id - 1) % {citizens} + 1)::text, 12, '0'), 'probability', 0.8),
                            jsonb_build_object('citizen_id', lpad(((d.id + 7) % {citizens} + 1)::text, 12, '0'), 'probability', 0.15))
                        ELSE '[]'::jsonb END,
                   CASE d.status WHEN 'review' THEN (ARRAY['below_threshold', 'ambiguous', 'id_not_in_registry'])[1 + d.id % 3]
                                 WHEN 'unmatched' THEN 'no_plausible_candidate'
                                 WHEN 'invalid' THEN 'dob_implausible' END,
                   CASE WHEN d.status = 'verified' THEN 'exact' ELSE 'model' END,
                   NULL, now()
            FROM dose_record d
        """)  # fmt: skip
        conn.execute(text("SELECT setval(pg_get_serial_sequence('dose_record', 'id'), :n)"),
                     {"n": doses})  # fmt: skip
        conn.execute(text("SELECT setval(pg_get_serial_sequence('dose_link', 'id'), :n)"),
                     {"n": doses})  # fmt: skip
        conn.execute(text("SELECT setval(pg_get_serial_sequence('link_run', 'id'), 1)"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('import_batch', 'id'), 1)"))
    with engine.begin() as conn:
        t = time.perf_counter()
        for name, definition in idx:
            if name.startswith("uq_"):
                table = "dose_record" if "dose_record_record" in name else "dose_link"
                cols = re.search(r"\((.*)\)", definition)
                assert cols is not None
                conn.execute(
                    text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE ({cols[1]})')
                )
            else:
                conn.execute(text(definition))
        print(f"  indexes: {time.perf_counter() - t:.1f}s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _timed(conn, "analyze", "ANALYZE")
    return {"citizens": citizens, "communes": len(wards)}


def _stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(statistics.median(s) * 1000, 1),
            "p95_ms": round(s[max(0, int(len(s) * 0.95) - 1)] * 1000, 1),
            "max_ms": round(s[-1] * 1000, 1)}  # fmt: skip


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Log in as the biggest commune's health station and time the pages."""
    from fastapi.testclient import TestClient
    from tests.web_support import create_account, login_client

    from vaxlink.auth.roles import Role
    from vaxlink.settings import Settings
    from vaxlink.web.app import create_app

    engine = make_engine(url)
    with engine.connect() as conn:
        ward, wl = conn.execute(text(
            "SELECT ward_code, count(*) FROM dose_record WHERE status IN "
            "('review', 'unmatched', 'invalid') GROUP BY ward_code ORDER BY 2 DESC LIMIT 1"
        )).one()  # fmt: skip
        typical = conn.execute(text(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM (SELECT count(*) n "
            "FROM dose_record GROUP BY ward_code) t")).scalar()  # fmt: skip
        province = conn.execute(text("SELECT province_code FROM dose_record WHERE ward_code = :w LIMIT 1"),
                                {"w": ward}).scalar()  # fmt: skip
    account = create_account(engine, Role.HEALTH_STATION, f"ward:{ward}")
    officer = create_account(engine, Role.PROVINCIAL_CDC, f"province:{province}")
    data_dir = Path(tempfile.mkdtemp())
    app = create_app(Settings(data_dir=data_dir, database_url=url))
    results: dict[str, Any] = {"commune": ward, "commune_worklist": int(wl),
                               "median_commune_doses": int(typical or 0)}  # fmt: skip
    with TestClient(app) as client:
        client.headers["X-CSRF-Token"] = login_client(client, account.username, account.password)

        def timed(path: str, **kw: Any) -> tuple[list[float], Any]:
            samples, r = [], None
            for _ in range(repeat):
                t = time.perf_counter()
                r = client.get(path, **kw)
                samples.append(time.perf_counter() - t)
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
            return samples, r

        client.get("/worklist")  # warm the templates and the pool
        first, r = timed("/worklist")
        results["first_page"] = _stats(first)
        # Walk the pages once (keyset), then time the deepest one again and again.
        path, pages = "/worklist", 0
        while True:
            m = re.search(r'hx-get="([^"]+)"', client.get(path).text)
            if not m:
                break
            path, pages = m.group(1).replace("&amp;", "&"), pages + 1
        results["pages_walked"] = pages + 1
        deep, _r = timed(path, headers={"HX-Request": "true"})
        results["deep_page"] = _stats(deep) | {"page": pages + 1}
        family = fold_name(FAMILY[0])
        searched = f"/worklist?status=review&q={family}&date_from=2021-06-01&date_to=2022-06-30&reason=below_threshold&sort=name"
        filt, r = timed(searched)
        results["filtered_searched"] = _stats(filt) | {"rows": r.text.count("data-dose=")}
        found = re.search(r'data-dose="(\d+)"', client.get("/worklist?status=review").text)
        assert found is not None
        dose_id = found[1]
        detail, _r = timed(f"/worklist/doses/{dose_id}")
        results["detail"] = _stats(detail)
    with TestClient(app) as client:
        client.headers["X-CSRF-Token"] = login_client(client, officer.username, officer.password)
        client.get("/worklist")
        prov, _r = timed("/worklist")  # `timed` reads `client`: now the province officer's
    results["province_first_page"] = _stats(prov) | {"province": province}
    engine.dispose()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doses", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--reuse", action="store_true", help="time an existing bench database")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    name = f"vaxlink_bench_worklist_{args.doses}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    load = os.getloadavg()
    gen: dict[str, Any] = {}
    started = time.perf_counter()
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(url)
        upgrade(engine)
        gen = generate(engine, args.doses)
        engine.dispose()
    gen["seconds"] = round(time.perf_counter() - started, 1)
    results = measure(url, args.repeat)
    out = {"benchmark": "worklist", "doses": args.doses, "generation": gen, "results": results,
           "target_ms": 300, "load_average_before": load, "load_average_after": os.getloadavg(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"worklist_{args.doses}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"\n{'page':<22}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for key in ("first_page", "deep_page", "filtered_searched", "detail", "province_first_page"):
        s = results[key]
        print(f"{key:<22}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['max_ms']:>10}")
    print(
        f"commune {results['commune']}: {results['commune_worklist']:,} doses to verify, "
        f"{results['pages_walked']} pages; load average {load} -> {os.getloadavg()}"
    )
    print(f"written to {path}")
    if not args.keep:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()

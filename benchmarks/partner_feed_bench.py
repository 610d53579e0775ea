"""The partner change feed over many certificates in PostgreSQL: numbering (the sequencer) and
reading it page by page as a partner would.

    .venv/bin/python benchmarks/partner_feed_bench.py --certificates 200000

A fresh database gets `--certificates` certificate rows and their feed events, set-based
(INSERT ... SELECT generate_series, as `feed.record_issued` writes them in an issuance's
transaction). Then `feed.sequence_pending` numbers them (timed, in its steps of 50,000), and a
full client reads the whole feed with `limit=1000` pages (`feed.changes_after`, which also makes
the person references the first time): p50/max per page and the total are printed and written
to benchmarks/results/partner_feed_<n>.json with the machine's load. Timings on a shared machine
are noisy.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaxlink.certificates import feed  # noqa: E402
from vaxlink.db import make_engine, transaction, upgrade  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ADMIN_URL = os.environ.get(
    "VAXLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)

_CERTIFICATES = """
INSERT INTO certificate (uvci, citizen_id, kind, payload, hc1, kid, iat, exp, status,
                         content_digest, generation, created_at, created_by, created_reason)
SELECT 'URN:UVCI:01:VN:BENCH' || g, lpad(g::text, 12, '0'), 'v', '{}'::jsonb, 'HC1:x',
       '0011223344556677', :now, :now + interval '365 days', 'active', md5(g::text) || md5(g::text),
       0, :now, 'bench', CASE WHEN g % 10 = 0 THEN 'renewal' ELSE 'issue' END
FROM generate_series(1, :n) AS g
"""
_EVENTS = """
INSERT INTO certificate_change (certificate_id, event, kind, occurred_at)
SELECT id, CASE created_reason WHEN 'issue' THEN 'issued' WHEN 'renewal' THEN 'renewed'
                               ELSE 'reissued' END, kind, created_at
FROM certificate ORDER BY id
"""


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--certificates", type=int, default=200_000)
    ap.add_argument("--limit", type=int, default=1000)
    args = ap.parse_args()
    name = f"vaxlink_feed_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        load_before = _load()
        t0 = time.perf_counter()
        with transaction(engine) as s:
            s.execute(text(_CERTIFICATES), {"n": args.certificates, "now": NOW})
            s.execute(text(_EVENTS))
        written = time.perf_counter() - t0
        with engine.connect() as c:
            c.execute(text("ANALYZE"))
            c.commit()
        t0 = time.perf_counter()
        numbered = feed.sequence_pending(engine, now=NOW)
        sequenced = time.perf_counter() - t0
        t0 = time.perf_counter()
        idle = feed.sequence_pending(engine, now=NOW)  # nothing pending: the feed route's cost
        idle_ms = (time.perf_counter() - t0) * 1000

        def read_all() -> tuple[list[float], int]:
            times: list[float] = []
            seen, cursor, more = 0, 0, True
            while more:
                t0 = time.perf_counter()
                with transaction(engine) as s:
                    page = feed.changes_after(s, cursor, kinds=["v", "r"], limit=args.limit,
                                              full=True)  # fmt: skip
                times.append((time.perf_counter() - t0) * 1000)
                seen += len(page.changes)
                cursor, more = page.cursor, page.more
            return times, seen

        first, _ = read_all()  # makes every person's reference on the way
        pages, seen = read_all()  # as a partner reads once references exist
        total = sum(pages) / 1000
        result = {
            "certificates": args.certificates, "numbered": numbered, "idle_numbered": idle,
            "write_events_s": round(written, 2), "sequence_s": round(sequenced, 2),
            "sequence_idle_ms": round(idle_ms, 2), "pages": len(pages), "seen": seen,
            "page_p50_ms": round(statistics.median(pages), 1), "page_max_ms": round(max(pages), 1),
            "read_all_s": round(total, 2), "first_read_s": round(sum(first) / 1000, 2),
            "first_page_p50_ms": round(statistics.median(first), 1), "changes_per_s": round(seen / total),
            "load_before": load_before, "load_after": _load(), "python": platform.python_version(),
        }  # fmt: skip
        assert seen == args.certificates == numbered, result
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"partner_feed_{args.certificates}.json").write_text(
            json.dumps(result, indent=2)
        )
        print(f"{'step':<34} {'value':>12}")
        for key in ("write_events_s", "sequence_s", "sequence_idle_ms", "pages",
                    "first_page_p50_ms", "first_read_s", "page_p50_ms", "page_max_ms",
                    "read_all_s", "changes_per_s"):  # fmt: skip
            print(f"{key:<34} {result[key]!s:>12}")
        print(f"load (1/5/15 min) before {load_before}, after {result['load_after']}")
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

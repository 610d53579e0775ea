"""District approval over the store: signing a district's list, verifying it, the page's counts,
and issuance with the district condition on, for one district of N residents (two doses each).

Residents of district 760 with two verified Comirnaty doses each (bulk inserts, one site per 5,000
people), every site's approval signed first; then `approve_district` signs the whole list, one
verification rehashes it, `preview` and `coverage_by_district` count, and `issue_batch` issues
with `require_district=True` (each district approval verified once per run). SQLite in a
temporary folder unless `--url` names another store (e.g. PostgreSQL).

    .venv/bin/python benchmarks/district_approval_bench.py [--people 50000] [--url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from vaxlink.certificates import service as certificates
from vaxlink.certificates.approval.district import (
    approve_district,
    coverage_by_district,
    preview,
    verify_district_approval,
)
from vaxlink.certificates.keys.hierarchy import create_district_signer
from vaxlink.certificates.service import TABLES, approve_records, issue_batch
from vaxlink.db import Base, make_engine, transaction, upgrade
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen

RESULTS = Path(__file__).parent / "results"
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
PER_FACILITY = 5_000
DISTRICT = "760"


def populate(engine: Any, people: int) -> None:
    """N residents of the district (ten communes), two verified doses each, in bulk."""
    with transaction(engine) as s:
        batch = ImportBatch(kind="doses", file_name="bench", file_sha256="0" * 64,
                            file_kind="csv", started_at=NOW)  # fmt: skip
        s.add(batch)
        s.flush()
        batch_id = batch.id
    step = 10_000
    for start in range(0, people, step):
        citizens, doses = [], []
        for n in range(start, min(start + step, people)):
            cid = f"{n:012d}"
            citizens.append({
                "citizen_id": cid, "full_name": "Nguyễn Văn An", "name_folded": "x",
                "name_key": "x", "date_of_birth": f"{1940 + n % 70}-{1 + n % 12:02d}-01",
                "dob_precision": "day", "sex": "M", "province_code": "079",
                "district_code": DISTRICT, "ward_code": f"{26734 + n % 10}", "row_hash": "x",
                "batch_id": batch_id, "source_row": n,
            })  # fmt: skip
            for dose in (1, 2):
                doses.append({
                    "record_id": f"B{n:010d}-{dose}", "batch_id": batch_id, "source_row": n,
                    "row_hash": "x", "full_name": "x", "name_folded": "x", "id_kind": "x",
                    "vaccine_key": "Comirnaty", "vaccine_mp": "EU/1/20/1528", "lot_number": "FK1",
                    "vaccination_date": dt.date(2021, 7, 1) + dt.timedelta(days=28 * dose + n % 90),
                    "dose_number": dose, "dose_category": "primary", "dose_sequence": dose,
                    "facility_code": f"F{n // PER_FACILITY:04d}", "status": "verified",
                    "citizen_id": cid, "version": 1,
                })  # fmt: skip
        with transaction(engine) as s:
            s.execute(insert(Citizen), citizens)
            s.execute(insert(DoseRecord), doses)


def main() -> None:
    """Populate, approve by site, sign the district, verify, count, issue; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--url", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="district-bench-"))
    engine = make_engine(args.url or f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    Base.metadata.create_all(engine, tables=list(TABLES), checkfirst=True)
    populate(engine, args.people)
    start = NOW - dt.timedelta(days=1)
    csca = certificates.create_csca(country="VN", organization="Bộ Y tế", now=start)
    dsc = certificates.create_dsc(csca, now=start, common_name="bench DSC")
    for f in range((args.people + PER_FACILITY - 1) // PER_FACILITY):
        code = f"F{f:04d}"
        site = certificates.create_facility_signer(csca, facility_code=code, facility_name=code,
                                                   now=start)  # fmt: skip
        with transaction(engine) as s:
            approve_records(s, site, facility_code=code, approver="bench", now=NOW)
    district = create_district_signer(csca, district_code=DISTRICT, district_name="TTYT",
                                      now=start)  # fmt: skip
    anchors = (csca.certificate,)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    with transaction(engine) as s:
        signed = approve_district(s, district, district_code=DISTRICT, approver="bench",
                                  now=NOW, anchors=anchors)  # fmt: skip
    timings["sign"] = time.perf_counter() - t
    assert signed.approval_id is not None
    t = time.perf_counter()
    with transaction(engine) as s:
        check = verify_district_approval(s, signed.approval_id, cscas=anchors)
    timings["verify"] = time.perf_counter() - t
    assert check.problems == (), check.problems
    t = time.perf_counter()
    with transaction(engine) as s:
        shown = preview(s, DISTRICT)
    timings["preview"] = time.perf_counter() - t
    t = time.perf_counter()
    with transaction(engine) as s:
        (coverage,) = coverage_by_district(s)
    timings["coverage"] = time.perf_counter() - t
    report = issue_batch(engine, dsc, issuer_name="Ministry of Health of Viet Nam", by="bench",
                         now=NOW, anchors=anchors, require_district=True)  # fmt: skip
    timings["issue_with_district"] = report.seconds
    engine.dispose()
    doses = signed.entry_count
    result = {
        "benchmark": "district_approval",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        },
        "store": engine.url.get_backend_name(),
        "people": args.people,
        "doses_signed": doses,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "sign_us_per_dose": round(timings["sign"] / doses * 1e6, 1),
        "verify_us_per_dose": round(timings["verify"] / doses * 1e6, 1),
        "preview_verified": shown.verified,
        "coverage": {"people": coverage.people, "covered": coverage.covered},
        "issued": report.issued,
        "issued_per_second": round(report.issued / report.seconds, 1),
        "skipped": dict(report.skipped),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(f"{'store':<10}{'doses':>9}{'sign s':>8}{'µs/dose':>9}{'verify s':>9}{'preview s':>10}"
          f"{'cover s':>9}{'issued/s':>10}{'peak RSS':>11}")  # fmt: skip
    print(f"{result['store']:<10}{doses:>9,}{timings['sign']:>8.1f}"
          f"{result['sign_us_per_dose']:>9.1f}{timings['verify']:>9.2f}{timings['preview']:>10.2f}"
          f"{timings['coverage']:>9.2f}{result['issued_per_second']:>10,.0f}"
          f"{result['peak_rss_kib'] / 1024:>9.1f}MB")  # fmt: skip
    out = RESULTS / f"district_approval_{result['store']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

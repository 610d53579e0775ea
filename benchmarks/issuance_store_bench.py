"""Batch issuance over the store: people per second and resident memory while `issue_batch` runs.

Builds N citizens with two approved doses each (bulk inserts, one facility per 5,000 people), then
issues every certificate in committed chunks and samples RSS after each chunk, so a growing heap
would show. SQLite in a temporary folder unless `--url` names another store (e.g. PostgreSQL).

    .venv/bin/python benchmarks/issuance_store_bench.py [--people 100000] [--url URL] [--chunk 1000]
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

from sqlalchemy import insert, text

from vaxlink.certificates import service as certificates
from vaxlink.certificates.service import TABLES, approve_records, issue_batch
from vaxlink.db import Base, make_engine, transaction, upgrade
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen

RESULTS = Path(__file__).parent / "results" / "issuance_store.json"
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
PER_FACILITY = 5_000
FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = ["Văn An", "Thị Bích", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Huy", "Ngọc Lan"]


def rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def populate(engine: Any, people: int) -> None:
    """N citizens, two verified Comirnaty doses each, in bulk."""
    with transaction(engine) as s:
        batch = ImportBatch(
            kind="doses", file_name="bench", file_sha256="0" * 64, file_kind="csv",
            started_at=NOW,
        )  # fmt: skip
        s.add(batch)
        s.flush()
        batch_id = batch.id
    step = 10_000
    for start in range(0, people, step):
        citizens, doses = [], []
        for n in range(start, min(start + step, people)):
            cid = f"{n:012d}"
            citizens.append({
                "citizen_id": cid, "full_name": f"{FAMILIES[n % 10]} {GIVEN[n % 7]}",
                "name_folded": "x", "name_key": "x",
                "date_of_birth": f"{1940 + n % 70}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "dob_precision": "day", "sex": "M", "province_code": "001", "row_hash": "x",
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


def raw_signatures_per_second(signer: Any, n: int = 3_000) -> float:
    """ES256 signatures per second of the same key over a certificate-sized message: the ceiling
    issuance is compared with (measured in the same run, so under the same load)."""
    message = os.urandom(320)
    started = time.perf_counter()
    for _ in range(n):
        signer.sign(message)
    return n / (time.perf_counter() - started)


def main() -> None:
    """Populate, approve, issue; print the table and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--url", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="issuance-bench-"))
    engine = make_engine(args.url or f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    Base.metadata.create_all(engine, tables=list(TABLES), checkfirst=True)
    started = time.perf_counter()
    populate(engine, args.people)
    populated = time.perf_counter()
    csca = certificates.create_csca(
        country="VN", organization="Bộ Y tế", now=NOW - dt.timedelta(days=1)
    )
    dsc = certificates.create_dsc(csca, now=NOW - dt.timedelta(days=1), common_name="bench DSC")
    for f in range((args.people + PER_FACILITY - 1) // PER_FACILITY):
        code = f"F{f:04d}"
        signer = certificates.create_facility_signer(
            csca, facility_code=code, facility_name=code, now=NOW - dt.timedelta(days=1)
        )
        with transaction(engine) as s:
            approve_records(s, signer, facility_code=code, approver="bench", now=NOW)
    approved = time.perf_counter()
    samples: list[dict[str, Any]] = []

    def on_progress(done: int, total: int) -> None:
        if done and (done % (args.chunk * 10) == 0 or done == total):
            samples.append({"people": done, "rss_kib": rss_kib(),
                            "seconds": round(time.perf_counter() - approved, 2)})  # fmt: skip

    # With the checks on: every approval a certificate rests on is re-verified, chained to the CSCA.
    report = issue_batch(
        engine, dsc, issuer_name="Ministry of Health of Viet Nam", by="bench", now=NOW,
        chunk_size=args.chunk, on_progress=on_progress, anchors=(csca.certificate,),
    )  # fmt: skip
    raw = raw_signatures_per_second(dsc)
    with engine.connect() as conn:
        stored = conn.execute(text("select count(*), count(distinct uvci) from certificate")).one()
    engine.dispose()
    result = {
        "benchmark": "issuance_store",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        },
        "store": engine.url.get_backend_name(),
        "people": args.people,
        "chunk": args.chunk,
        "populate_seconds": round(populated - started, 1),
        "approve_seconds": round(approved - populated, 1),
        "issue_seconds": round(report.seconds, 1),
        "issued": report.issued,
        "stored_unique": list(stored),
        "issued_per_second": round(report.issued / report.seconds, 1),
        "raw_es256_signatures_per_second": round(raw, 1),
        "issuance_share_of_raw_signing": round(report.issued / report.seconds / raw, 3),
        "approvals_refused": len(report.refused_approvals),
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_samples": samples,
    }
    print(f"{'store':<10}{'people':>10}{'issued/s':>10}{'raw sig/s':>11}{'share':>7}"
          f"{'RSS first':>12}{'RSS last':>12}")  # fmt: skip
    print(
        f"{result['store']:<10}{args.people:>10,}{result['issued_per_second']:>10,.0f}"
        f"{raw:>11,.0f}{result['issuance_share_of_raw_signing']:>7.0%}"
        f"{samples[0]['rss_kib'] / 1024:>10.1f}MB{samples[-1]['rss_kib'] / 1024:>10.1f}MB"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

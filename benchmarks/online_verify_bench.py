"""Online verification latency: `verify_person` against a registry of one million citizens.

A synthetic registry (`vaxlink.synth`, 1,000,000 citizens by default) is loaded into a fresh
PostgreSQL database (created and dropped here) and into a fresh SQLite file. Real dirty inputs
are taken from the synthetic dose records: clean ones and some of every injected error type. Each
is verified in-process (`verify_person` over `LocalRegistry`) and over HTTP (the vaxlink app under
uvicorn on 127.0.0.1, `POST /api/v1/identity/verify`); p50/p95/p99/max are reported per store and
path, with the accuracy of the online decisions against the truth. Writes
benchmarks/results/online_verify.json and prints a table.

    python benchmarks/online_verify_bench.py                      # 1M citizens, both stores
    python benchmarks/online_verify_bench.py --citizens 100000 --stores sqlite --no-http

Target: p99 < 50 ms against a registry of one million citizens.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vaxlink.clock import SystemClock

sys.path.insert(0, str(Path(__file__).parent))

from _measure import write_result

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_P99_MS = 50.0
WARMUP = 50
#: The HTTP phase of one store may take at most this long (the server is stopped after it).
HTTP_DEADLINE_S = 900.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def latency(ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of a list of milliseconds."""
    return {"n": len(ms), "p50": round(_pct(ms, 50), 2), "p95": round(_pct(ms, 95), 2),
            "p99": round(_pct(ms, 99), 2), "max": round(max(ms), 2),
            "mean": round(statistics.fmean(ms), 2)}  # fmt: skip


# -- data -----------------------------------------------------------------------------------


def synth_files(citizens: int, seed: int, workdir: Path) -> dict[str, Path]:
    """The synthetic registry, doses and truth (generated once per size and seed)."""
    from vaxlink.synth import generate, write

    out = workdir / f"synth-{citizens}-{seed}"
    paths = {k: out / f"{k}.csv" for k in ("registry", "doses", "truth")}
    if all(p.exists() for p in paths.values()):
        return paths
    t = time.perf_counter()
    written = write(generate(citizens, seed), out)
    print(f"generated {citizens:,} citizens in {time.perf_counter() - t:.0f} s", flush=True)
    return {k: Path(v) for k, v in written.items()}


def sample_queries(
    paths: dict[str, Path], clean: int, per_error: int, seed: int
) -> list[dict[str, str]]:
    """Dose rows to verify: `clean` clean ones and up to `per_error` carrying each error type."""
    with paths["truth"].open(encoding="utf-8") as fh:
        truth = {
            r["record_id"]: r for r in csv.DictReader(fh) if not r["errors"].startswith("invalid")
        }
    by_type: dict[str, list[str]] = {}
    for rid, t in truth.items():
        for e in (t["errors"] or "clean").split(";"):
            by_type.setdefault(e, []).append(rid)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for e, ids in sorted(by_type.items()):
        chosen.update(rng.sample(ids, min(len(ids), clean if e == "clean" else per_error)))
    rows = []
    with paths["doses"].open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["record_id"] in chosen and r["full_name"].strip():  # the API needs a name
                t = truth[r["record_id"]]
                rows.append(r | {"_truth": t["citizen_id"], "_errors": t["errors"]})
    rng.shuffle(rows)
    return rows


def query_body(row: dict[str, str]) -> dict[str, str]:
    """The request for a dose row: its identity fields exactly as the site wrote them."""
    from vaxlink.registry.schemas import PersonQuery

    return {k: row[k] for k in PersonQuery.model_fields if row.get(k)}


# -- stores ---------------------------------------------------------------------------------


@contextlib.contextmanager
def store(kind: str, workdir: Path) -> Iterator[str]:
    """URL of a fresh empty store: a SQLite file, or a PostgreSQL database dropped afterwards."""
    from sqlalchemy import text

    from vaxlink.db import make_engine

    if kind == "sqlite":
        path = workdir / "online-bench.db"
        for p in workdir.glob("online-bench.db*"):
            p.unlink()
        yield f"sqlite:///{path}"
        return
    name = f"vaxlink_online_bench_{os.getpid()}"
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load(url: str, registry: Path, workdir: Path) -> float:
    """Migrate the store and load the registry; seconds taken."""
    from vaxlink.db import make_engine, upgrade
    from vaxlink.registry.importer import load_registry
    from vaxlink.settings import Settings

    engine = make_engine(url)
    upgrade(engine)
    t = time.perf_counter()
    report = load_registry(engine, registry, settings=Settings(data_dir=workdir), clock=SystemClock())
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a large load (it is off on the development server): without
        # statistics the planner starts parallel workers for each lookup's tiny index probes.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE citizen")
    engine.dispose()
    print(f"  loaded {report.imported:,} citizens in {time.perf_counter() - t:.0f} s", flush=True)
    return time.perf_counter() - t


# -- runs -----------------------------------------------------------------------------------


def run_in_process(
    url: str, queries: list[dict[str, str]], model_path: Path | None
) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """verify_person over LocalRegistry, one call at a time; latencies and decisions."""
    from vaxlink.db import make_engine, session_factory
    from vaxlink.linkage.model import LinkModel
    from vaxlink.linkage.online_service import verify_person
    from vaxlink.registry.port import LocalRegistry
    from vaxlink.registry.schemas import CandidateAnswer, PersonQuery

    engine = make_engine(url)
    local = LocalRegistry(session_factory(engine))
    model = LinkModel.load(model_path)
    lookup: list[float] = []

    class Timed:
        def candidates(self, query: PersonQuery) -> CandidateAnswer:
            t = time.perf_counter()
            answer = local.candidates(query)
            lookup.append((time.perf_counter() - t) * 1000)
            return answer

        def get(self, citizen_id: str) -> Any:
            return local.get(citizen_id)

    port = Timed()
    parsed = [PersonQuery(**query_body(q)) for q in queries]
    for q in parsed[:WARMUP]:
        verify_person(q, port, model)
    lookup.clear()
    total: list[float] = []
    decisions = []
    ncands = []
    for q in parsed:
        t = time.perf_counter()
        r = verify_person(q, port, model)
        total.append((time.perf_counter() - t) * 1000)
        decisions.append((r.status, r.citizen_id))
    for q in parsed[:200]:
        ncands.append(len(local.candidates(q).candidates))
    engine.dispose()
    return {"verify_person": latency(total), "candidate_lookup": latency(lookup),
            "candidates_per_query_mean": round(statistics.fmean(ncands), 1)}, decisions  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(url: str, workdir: Path, model_path: Path | None) -> Iterator[str]:
    """The vaxlink app under uvicorn in its own process, stopped when the block ends."""
    import httpx

    port = _free_port()
    env = {**os.environ, "VAXLINK_DATABASE_URL": url, "VAXLINK_DATA_DIR": str(workdir)}
    env.pop("VAXLINK_REGISTRY_URL", None)
    if model_path:
        env["VAXLINK_LINKAGE_MODEL"] = str(model_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "vaxlink.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if time.time() > deadline:
                raise RuntimeError("uvicorn did not start in 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_http(
    url: str, workdir: Path, queries: list[dict[str, str]], model_path: Path | None
) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """POST /api/v1/identity/verify, one request at a time, over a kept-alive connection, as a
    partner client holding the `identity:verify` scope."""
    from datetime import UTC, datetime

    import httpx

    from vaxlink.certificates.service import VERIFY_IDENTITY, add_client
    from vaxlink.db import make_engine, transaction

    engine = make_engine(url)
    with transaction(engine) as s:
        name = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        _, token = add_client(s, name, by="bench", now=datetime.now(UTC), scopes=[VERIFY_IDENTITY])
    engine.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    with (
        served(url, workdir, model_path) as base,
        httpx.Client(base_url=base, timeout=10, headers=auth) as client,
    ):
        bodies = [query_body(q) for q in queries]
        for b in bodies[:WARMUP]:
            client.post("/api/v1/identity/verify", json=b).raise_for_status()
        total: list[float] = []
        decisions = []
        deadline = time.time() + HTTP_DEADLINE_S
        for b in bodies:
            t = time.perf_counter()
            r = client.post("/api/v1/identity/verify", json=b)
            total.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            got = r.json()
            decisions.append((got["status"], got["citizen_id"]))
            if time.time() > deadline:
                print("  HTTP phase stopped at its deadline", flush=True)
                break
    return {"request": latency(total)}, decisions


def accuracy(
    queries: list[dict[str, str]], decisions: list[tuple[str, str | None]]
) -> dict[str, Any]:
    """How the online decisions compare with the truth."""
    auto = wrong = dirty = dirty_auto = absent = absent_linked = 0
    status = Counter()
    per_type: dict[str, Counter[str]] = {}
    for q, (s, cid) in zip(queries, decisions, strict=False):
        status[s] += 1
        linked = s in ("verified", "auto_linked")
        right = linked and cid == q["_truth"]
        auto += linked
        wrong += linked and not right
        if not q["_truth"]:
            absent += 1
            absent_linked += linked
        elif q["_errors"]:
            dirty += 1
            dirty_auto += right
        for e in (q["_errors"] or "clean").split(";"):
            c = per_type.setdefault(e, Counter())
            c["n"] += 1
            c["right"] += right
            c["wrong"] += linked and not right
    return {
        "queries": len(decisions), "statuses": dict(status), "automatic_links": auto,
        "wrong_automatic_links": wrong, "precision": round((auto - wrong) / auto, 6) if auto else None,
        "dirty_registered": dirty, "dirty_registered_auto_share": round(dirty_auto / dirty, 4) if dirty else None,
        "absent": absent, "absent_linked": absent_linked,
        "by_error": {e: {"n": c["n"], "auto_right_share": round(c["right"] / c["n"], 4), "wrong": c["wrong"]}
                     for e, c in sorted(per_type.items())},
    }  # fmt: skip


# -- main -----------------------------------------------------------------------------------


def _print(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"online verify, {results['citizens']:,} citizens, {results['queries']:,} queries (ms)"
    )
    for col in ("store", "path", "n", "p50", "p95", "p99", "max", "mean"):
        table.add_column(col, justify="left" if col in ("store", "path") else "right")
    for name, r in results["stores"].items():
        for path, key in (("in-process verify_person", "in_process.verify_person"),
                          ("  of which candidate lookup", "in_process.candidate_lookup"),
                          ("HTTP POST", "http.request")):  # fmt: skip
            part, field = key.split(".")
            lat = r.get(part, {}).get(field)
            if lat:
                table.add_row(
                    name, path, *(str(lat[k]) for k in ("n", "p50", "p95", "p99", "max", "mean"))
                )
    Console(width=150).print(table)
    acc = Table(title="accuracy of the online decisions (in-process)")
    for col in (
        "store",
        "auto links",
        "wrong",
        "precision",
        "dirty registered auto",
        "absent linked",
        "statuses",
    ):
        acc.add_column(col)
    for name, r in results["stores"].items():
        a = r["accuracy"]
        acc.add_row(name, str(a["automatic_links"]), str(a["wrong_automatic_links"]), str(a["precision"]),
                    f"{a['dirty_registered_auto_share']:.2%}", f"{a['absent_linked']}/{a['absent']}",
                    ", ".join(f"{k} {v}" for k, v in sorted(a["statuses"].items())))  # fmt: skip
    Console(width=150).print(acc)
    print(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--citizens", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--clean", type=int, default=700, help="clean queries")
    ap.add_argument("--per-error", type=int, default=70, help="queries per injected error type")
    ap.add_argument("--stores", default="postgresql,sqlite")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--model", type=Path, default=None, help="model JSON (default: packaged)")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "vaxlink-online-bench",
    )
    ap.add_argument("--no-write", action="store_true", help="do not write the JSON result")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    from vaxlink.linkage.model import LinkModel

    before = [round(x, 2) for x in os.getloadavg()]
    paths = synth_files(args.citizens, args.seed, args.workdir)
    queries = sample_queries(paths, args.clean, args.per_error, args.seed)
    print(f"{len(queries):,} queries", flush=True)
    results: dict[str, Any] = {
        "target": f"p99 < {TARGET_P99_MS:.0f} ms against {args.citizens:,} citizens",
        "citizens": args.citizens, "seed": args.seed, "queries": len(queries),
        "model": str(args.model or "packaged"), "model_version": LinkModel.load(args.model).version, "warmup_queries": WARMUP,
        "loadavg_before": before, "stores": {},
    }  # fmt: skip
    for kind in args.stores.split(","):
        print(f"{kind}:", flush=True)
        with store(kind, args.workdir) as url:
            entry: dict[str, Any] = {
                "load_seconds": round(load(url, paths["registry"], args.workdir), 1)
            }
            entry["in_process"], decisions = run_in_process(url, queries, args.model)
            entry["accuracy"] = accuracy(queries, decisions)
            if not args.no_http:
                entry["http"], http_decisions = run_http(url, args.workdir, queries, args.model)
                entry["http"]["same_decisions_as_in_process"] = sum(
                    a == b for a, b in zip(decisions, http_decisions, strict=False)
                )
            p99s = [entry["in_process"]["verify_person"]["p99"]]
            if "http" in entry:
                p99s.append(entry["http"]["request"]["p99"])
            entry["meets_target"] = max(p99s) < TARGET_P99_MS
            results["stores"][kind] = entry
        if kind == "sqlite":
            for p in args.workdir.glob("online-bench.db*"):
                p.unlink()
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    _print(results)
    if not args.no_write:
        print(f"wrote {write_result('online_verify', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

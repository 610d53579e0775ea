"""Writers of one SQLite store in several processes: how long a short write transaction takes
when they all write at once (`vaxlink.db.WriteTurn` vs SQLite's busy back-off alone).

    .venv/bin/python benchmarks/write_turn_bench.py [--processes 3] [--threads 6]
        [--transactions 150] [--baseline /path/to/older/src]

Each process runs `--threads` threads, each committing `--transactions` one-row inserts through
`vaxlink.db.transaction` with 2 ms between them (a web worker, the report scheduler and an import
writing at once, in miniature). Prints the wall time and the latency of a transaction (p50, p99,
max) per process and over all, for this tree and, with `--baseline SRC`, for another source tree
(e.g. a checkout from before the write turn), and writes benchmarks/results/write_turn.json.
Latency under a shared machine's load is noisy: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import write_result

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
WRITER = """
import json, sys, threading, time
from sqlalchemy import text
from vaxlink.db import make_engine, transaction
url, threads, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = make_engine(url)
if threads == 0:
    with engine.begin() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS t (i INTEGER, pad TEXT)"))
    sys.exit()
sys.stdin.readline()  # start together
seconds = []
def writer():
    for i in range(count):
        started = time.perf_counter()
        with transaction(engine) as s:
            s.execute(text("INSERT INTO t VALUES (:i, :p)"), {"i": i, "p": "x" * 200})
        seconds.append(time.perf_counter() - started)
        time.sleep(0.002)
started = time.perf_counter()
workers = [threading.Thread(target=writer) for _ in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(json.dumps({"wall": time.perf_counter() - started, "seconds": seconds}))
"""


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def run(src: str | None, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    with tempfile.TemporaryDirectory(prefix="vaxlink-turn-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        subprocess.run([str(PYTHON), "-c", WRITER, url, "0", "0"], env=env, check=True)
        command = [str(PYTHON), "-c", WRITER, url, str(args.threads), str(args.transactions)]
        procs = [
            subprocess.Popen(
                command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(args.processes)
        ]
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [json.loads(p.communicate()[0]) for p in procs]
    every = [s for o in outs for s in o["seconds"]]

    def figures(seconds: list[float]) -> dict[str, float]:
        return {"p50_ms": round(_pct(seconds, 50) * 1000, 2),
                "p99_ms": round(_pct(seconds, 99) * 1000, 1),
                "max_ms": round(max(seconds) * 1000, 1)}  # fmt: skip

    return {
        "processes": [{"wall_s": round(o["wall"], 2), **figures(o["seconds"])} for o in outs],
        "all": {"wall_s": round(max(o["wall"] for o in outs), 2), **figures(every)},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--transactions", type=int, default=150)
    parser.add_argument("--baseline", help="Source tree to measure first (PYTHONPATH).")
    args = parser.parse_args()
    results = {}
    if args.baseline:
        results["baseline"] = run(args.baseline, args)
    results["this tree"] = run(None, args)
    print(f"{args.processes} processes x {args.threads} threads x {args.transactions} one-row "
          "transactions on one SQLite store\n")  # fmt: skip
    print(f"{'tree':<12}{'process':<9}{'wall s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, r in results.items():
        for i, p in enumerate([*r["processes"], r["all"]]):
            label = str(i + 1) if i < len(r["processes"]) else "all"
            print(f"{name:<12}{label:<9}{p['wall_s']:>8}{p['p50_ms']:>9}{p['p99_ms']:>9}"
                  f"{p['max_ms']:>9}")  # fmt: skip
        print(f"{name:<12}load average {r['load_average_1m']}")
    path = write_result("write_turn", {"processes": args.processes, "threads": args.threads,
                                       "transactions": args.transactions,
                                       "baseline_src": args.baseline, "results": results})  # fmt: skip
    print(f"\n{path}")


if __name__ == "__main__":
    main()

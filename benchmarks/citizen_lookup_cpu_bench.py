"""App CPU per citizen lookup (`POST /c/lookup`), one uvicorn worker, alternating source trees.

The throughput benchmark (`citizen_lookup_post_bench.py`) depends on the machine's load; the CPU
a worker spends per request much less. This one serves the same registry with ONE worker (the
same uvicorn flags) from each `--tree` in turn (a checkout's `src` put first on PYTHONPATH, so a
change is compared with the code before it on the same database, in alternating runs), drives
it with `wrk` (`citizen_lookup_post.lua`) for `--seconds`, and prints the worker's CPU per
request (user + system, from /proc) and the PostgreSQL backends' beside the load average.
The counters and challenges are emptied before each run, so every run starts from the same
state.

    python benchmarks/citizen_lookup_cpu_bench.py --tree /tmp/before --tree . --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from citizen_lookup_bench import _cpu_of, _pg_backends, _tree_cpu_seconds
from citizen_lookup_post_bench import build, run_wrk, served, store_url


def reset(url: str) -> None:
    from sqlalchemy import text

    from vaxlink.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM feedback_rate_counter"))
        conn.execute(text("DELETE FROM feedback_challenge"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, default=[],
                        help="a checkout whose src/ is served (repeat; default: this one)")  # fmt: skip
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    trees = args.tree or [Path(__file__).parent.parent]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        url = store_url(stack, args.store, workdir)
        build(url, args.people)
        print("tree                          round  req/s   app ms/req  pg ms/req  status    load")
        for rnd in range(args.rounds):
            for tree in trees:
                reset(url)
                with served(url, workdir, 1, tree=tree) as (port, pid):
                    run_wrk(port, args.people, 2, args.connections)  # warm-up
                    backends = _pg_backends(url) if args.store == "postgresql" else []
                    cpu0, pg0 = _tree_cpu_seconds(pid), _cpu_of(backends)
                    figures = run_wrk(port, args.people, args.seconds, args.connections)
                    cpu1, pg1 = _tree_cpu_seconds(pid), _cpu_of(backends)
                n = max(1, figures["requests"])
                rps = n / (figures["duration_us"] / 1e6)
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"{str(tree)[-28:]:<29} {rnd:>5}  {rps:6.0f}  {(cpu1 - cpu0) * 1000 / n:10.3f}"
                      f"  {(pg1 - pg0) * 1000 / n:9.3f}  {figures['status']}  {load}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

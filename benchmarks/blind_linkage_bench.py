"""Blind linkage benchmark: an outside evaluator's test set for `vaxlink link`.

Generates a population registry (§1) and dirty dose records (§2) with benchmarks/blind (its own
error model, made without vaxlink's generator or engine), runs `vaxlink link` on them under
`/usr/bin/time -v` (wall time, CPU, peak RSS) and scores the result (§3) against the truth.
Data stay in --data-dir (default /tmp/blind/seed<N>, never committed); the score goes to
benchmarks/results/blind_linkage.json and a table is printed.

    uv run python benchmarks/blind_linkage_bench.py --seed 1            # 500k citizens, ~1M doses
    uv run python benchmarks/blind_linkage_bench.py --seed 2 --citizens 20000 --absent 200
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from blind import doses, model, score

VAXLINK = str(Path(sys.executable).with_name("vaxlink"))
RESULTS = Path(__file__).parent / "results"


def _time_v(stderr: str) -> dict[str, float]:
    out: dict[str, float] = {}
    pats = {
        "user_s": r"User time \(seconds\): ([\d.]+)",
        "system_s": r"System time \(seconds\): ([\d.]+)",
        "peak_rss_mb": r"Maximum resident set size \(kbytes\): (\d+)",
    }
    for k, p in pats.items():
        m = re.search(p, stderr)
        if m:
            out[k] = float(m.group(1)) / (1024 if k == "peak_rss_mb" else 1)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    if m:
        parts = [float(x) for x in m.group(1).split(":")]
        out["wall_s_time_v"] = sum(v * 60**i for i, v in enumerate(reversed(parts)))
    return out


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--citizens", type=int, default=500_000)
    ap.add_argument("--absent", type=int, default=4_000)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument(
        "--reuse", action="store_true", help="keep existing generated files in --data-dir"
    )
    ap.add_argument(
        "--score-only", action="store_true", help="score the result already in --data-dir again"
    )
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--out-json", type=Path, default=RESULTS / "blind_linkage.json")
    a = ap.parse_args()
    data = a.data_dir or Path("/tmp/blind") / f"seed{a.seed}"
    files = {
        "registry": data / "registry.csv",
        "doses": data / "doses.csv",
        "truth": data / "truth.csv",
    }
    out = data / "result.parquet"
    if a.score_only:
        _report(out, files["truth"], json.loads((data / "run.json").read_text()), a.out_json)
        return
    gen_s = 0.0
    if not (a.reuse and all(f.exists() for f in files.values())):
        t = time.perf_counter()
        files = doses.write_all(data, a.citizens, a.absent, a.seed)
        gen_s = time.perf_counter() - t
        print(f"generated {data} in {gen_s:.1f} s", flush=True)
    cmd = [
        "/usr/bin/time", "-v", VAXLINK, "link",
        "--registry", str(files["registry"]), "--doses", str(files["doses"]), "--out", str(out),
        "--engine", a.engine, "--today", model.REFERENCE_DATE,
    ]  # fmt: skip
    load_before, up_before = os.getloadavg(), _uptime()
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    load_after, up_after = os.getloadavg(), _uptime()
    (data / "link.stderr").write_text(proc.stderr)
    (data / "link.stdout").write_text(proc.stdout)
    run = {
        "command": " ".join(cmd[2:]),
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        **_time_v(proc.stderr),
        "load_before": load_before,
        "load_after": load_after,
        "uptime_before": up_before,
        "uptime_after": up_after,
        "cpus": os.cpu_count(),
        "generate_s": round(gen_s, 1),
        "seed": a.seed,
        "citizens": a.citizens,
        "absent_people": a.absent,
    }
    print(json.dumps(run, indent=2))
    (data / "run.json").write_text(json.dumps(run, indent=2))
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        sys.exit(f"vaxlink link failed ({proc.returncode}); stderr kept in {data / 'link.stderr'}")
    _report(out, files["truth"], run, a.out_json)


def _report(result: Path, truth: Path, run: dict[str, object], out_json: Path) -> None:
    report = score.score(result, truth)
    report["run"] = run
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    score.print_report(report)
    print(f"\nwrote {out_json}")


if __name__ == "__main__":
    main()

"""Synth benchmark: seconds and peak memory to generate and write 1M dose records.

Two measurements: the library in this process (`generate` then `write`, timed apart), and the
`vaxlink synth` command end to end in a child process. Writes benchmarks/results/synth.json and
prints a table. Target: 1M dose records in under 60 s, peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vaxlink.synth import generate, write
from vaxlink.synth.generate import DOSES_PER_CITIZEN

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured, write_result

VAXLINK = str(Path(sys.executable).with_name("vaxlink"))
MB = 1024 * 1024


def main() -> None:
    """Run the benchmark and record the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doses", type=int, default=1_000_000, help="dose records wanted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end command run")
    args = parser.parse_args()
    citizens = math.ceil(args.doses / DOSES_PER_CITIZEN)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = generate(citizens, args.seed)
        t1 = time.perf_counter()
        paths = write(result, Path(tmp) / "lib")
        t2 = time.perf_counter()
        lib_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        sizes = {name: p.stat().st_size for name, p in paths.items()}
        summary = result.summary()
        del result
        cli = None
        if not args.no_cli:
            cmd = [VAXLINK, "synth", "--citizens", str(citizens), "--out", str(Path(tmp) / "cli"),
                   "--seed", str(args.seed)]  # fmt: skip
            cli = run_measured(cmd)
            if cli.returncode != 0:
                raise SystemExit(f"vaxlink synth failed:\n{cli.stdout}")

    doses = int(summary["dose_records"])
    table = Table(title=f"vaxlink synth: {doses:,} dose records, {citizens:,} citizens")
    for col in ("step", "seconds", "peak RSS (MB)", "dose records/s"):
        table.add_column(col, justify="right" if col != "step" else "left")
    table.add_row("generate (library)", f"{t1 - t0:.1f}", "", f"{doses / (t1 - t0):,.0f}")
    table.add_row("write CSV (library)", f"{t2 - t1:.1f}", "", "")
    table.add_row("generate + write", f"{t2 - t0:.1f}", f"{lib_peak / MB:,.0f}",
                  f"{doses / (t2 - t0):,.0f}")  # fmt: skip
    if cli is not None:
        table.add_row("vaxlink synth (CLI)", f"{cli.seconds:.1f}",
                      f"{cli.peak_rss_bytes / MB:,.0f}", f"{doses / cli.seconds:,.0f}")  # fmt: skip
    Console().print(table)

    payload = {
        "target": "1M dose records in < 60 s, peak RSS < 2 GB",
        "citizens": citizens,
        "dose_records": doses,
        "dirty_share": round(summary["dirty_share"], 4),
        "not_in_registry_people_share": round(summary["not_in_registry_people_share"], 4),
        "library": {
            "generate_seconds": round(t1 - t0, 2),
            "write_csv_seconds": round(t2 - t1, 2),
            "total_seconds": round(t2 - t0, 2),
            "peak_rss_mb": round(lib_peak / MB),
        },
        "file_bytes": sizes,
    }
    if cli is not None:
        payload["cli"] = {
            "seconds": round(cli.seconds, 2),
            "peak_rss_mb": round(cli.peak_rss_bytes / MB),
        }
    print(f"wrote {write_result('synth', payload)}")


if __name__ == "__main__":
    main()

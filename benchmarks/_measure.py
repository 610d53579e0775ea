"""Shared benchmark helpers: run a command while sampling the peak RSS of its whole process tree."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _pss(pid: int) -> int:
    """Proportional set size: shared pages (libraries, fork-shared memory) split among sharers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants (sum of PSS, so shared pages count once)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += _pss(p)
        stack.extend(_children(p))
    return total


@dataclass
class Measured:
    """Wall time and peak tree RSS of one command."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str


def run_measured(
    cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.05
) -> Measured:
    """Run `cmd`, sampling the RSS of its process tree every `interval` seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(interval)
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    return Measured(time.perf_counter() - start, peak, proc.returncode, out)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2))
    return path

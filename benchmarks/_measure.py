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


def _cpu(pid: int) -> float:
    """User + system CPU seconds a process has used so far (its own threads, not its children)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(_children(p))
    return out


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
    """Wall time, peak tree memory (PSS) and CPU time of one command, and the machine's load."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    cpu_seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0


def run_measured(
    cmd: list[str], env: dict[str, str] | None = None, interval: float = 0.05
) -> Measured:
    """Run `cmd`, sampling the RSS of its process tree every `interval` seconds."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = 0
    cpu: dict[int, float] = {}  # the last CPU time seen of every process of the tree
    while proc.poll() is None:
        pids = tree_pids(proc.pid)
        peak = max(peak, sum(_pss(p) for p in pids))
        for p in pids:
            cpu[p] = max(cpu.get(p, 0.0), _cpu(p))
        time.sleep(interval)
    seconds = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    # Descendants that exited between samples lose at most one interval of CPU time.
    return Measured(seconds, peak, proc.returncode, out, sum(cpu.values()), load_before,
                    os.getloadavg()[0])  # fmt: skip


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2))
    return path

"""Running the CLI on an attack file and measuring it: exit status, output, seconds, peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One finished command: its exit status, its output and what it cost."""

    returncode: int
    output: str
    seconds: float
    peak_mb: float


def vaxlink(args: list[str], env: dict[str, str], timeout: float = 300) -> Run:
    """`vaxlink ARGS` in its own process; peak memory is the largest resident set of it and of
    every process it waited for (the kernel's accounting from wait4)."""
    command = [str(Path(sys.executable).with_name("vaxlink")), *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
    finally:
        timer.cancel()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.stdout is not None:
            proc.stdout.close()
    return Run(proc.returncode, out.decode("utf-8", "replace"), time.perf_counter() - start,
               usage.ru_maxrss / 1024)  # fmt: skip


def store_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI run against a fresh SQLite store in `tmp_path`."""
    return {"VAXLINK_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "VAXLINK_DATA_DIR": str(tmp_path / "data")}  # fmt: skip

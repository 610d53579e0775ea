"""Read a workbook's sheet in a child process whose memory and CPU time are capped by the kernel.

The XLSX parser (calamine, native code) allocates what the file asks for; an allocation it cannot
get aborts the whole process. So the parse runs in `python -m vaxlink.ingest.bounded`, which sets
`RLIMIT_AS`, `RLIMIT_CPU` and `RLIMIT_CORE` on itself before it imports the parser: a workbook the
checks in `xlsx.py` did not foresee kills only the child, and the caller gets a `FileRejected`.
The child imports neither pyarrow nor DuckDB (it starts in well under a second) and answers in
JSON, never pickle, since it has parsed untrusted bytes. Works from any process: the web server,
a CLI command, or the import's own fork-server child (a `multiprocessing` child could not start
one there, being a daemon).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vaxlink.ingest.errors import FileRejected, SheetNotFound, WorkbookTooLarge

#: Address space the child may map: the parser, its cells and the answer must fit in it.
MEMORY_BYTES = 1 << 30
#: CPU seconds the child may use; a real worklist of 200,000 rows needs a few.
CPU_SECONDS = 120
#: Wall-clock seconds before the child is killed (CPU limit aside, e.g. on a busy machine).
TIMEOUT_SECONDS = 300.0
#: The largest answer the parent accepts from the child.
MAX_ANSWER_BYTES = 768 << 20


@dataclass(frozen=True)
class SheetRows:
    """A sheet read as text: rows from row 1 (Excel numbering starts at `first_row`)."""

    rows: list[list[str | None]]
    first_row: int
    sheets: list[str]
    peak_kib: int


def read_sheet(
    source: Path | bytes,
    *,
    name: str,
    sheet: str | None = None,
    date_format: str | None = None,
    max_rows: int | None = None,
    memory_bytes: int = MEMORY_BYTES,
    cpu_seconds: int = CPU_SECONDS,
    timeout: float = TIMEOUT_SECONDS,
) -> SheetRows:
    """The sheet (`sheet`, else the first) of an .xlsx file or its bytes, each cell as text.

    Dates are ISO (`2021-09-02`, or with the time when it is not midnight) unless `date_format`
    (strftime) is given; whole numbers lose their `.0`. At most `max_rows` rows are returned.
    `name` is the file's name in messages. FileRejected when the child refuses or dies.
    """
    request = {
        "path": str(source) if isinstance(source, Path) else None,
        "sheet": sheet,
        "date_format": date_format,
        "max_rows": max_rows,
        "memory_bytes": memory_bytes,
        "cpu_seconds": cpu_seconds,
    }
    payload = json.dumps(request).encode() + b"\n"
    if isinstance(source, bytes):
        payload += source
    status, answer, peak_kib, err = _run_child(payload, timeout)
    if status is None:
        raise FileRejected(
            f"{name} took longer than {timeout:.0f} s to read and was stopped; "
            "split it into smaller files (at most 100,000 rows each) and send them one by one"
        )
    if status != 0 or not answer:
        return _died(name, status, err, memory_bytes)
    try:
        result = json.loads(answer)
    except ValueError:
        return _died(name, status, err, memory_bytes)
    if not result.get("ok"):
        if result.get("memory"):
            return _died(name, -signal.SIGKILL, err, memory_bytes)
        if "missing_sheet" in result:
            raise SheetNotFound(
                f"{name} has no sheet «{result['missing_sheet']}»", list(result["sheets"])
            )
        raise FileRejected(f"{name} cannot be read as a workbook: {result['message']}")
    return SheetRows(result["rows"], int(result["first_row"]), list(result["sheets"]), peak_kib)


def _died(name: str, status: int | None, err: bytes, memory_bytes: int) -> SheetRows:
    if status == -signal.SIGXCPU:
        raise WorkbookTooLarge(
            f"{name} needs more processing than the reader allows and was stopped; split it "
            "into smaller files (at most 100,000 rows each) and send them one by one"
        )
    if (status is not None and status < 0) or b"memory allocation" in err:
        raise WorkbookTooLarge(
            f"{name} needs more than {memory_bytes >> 20} MB of memory to read and was refused "
            "(a damaged or deliberately oversized workbook, or simply too many cells); copy only "
            "the columns and rows you need into a new workbook, or split it into smaller files"
        )
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    raise FileRejected(f"{name} cannot be read as a workbook ({tail[0][:200]})")


def _run_child(payload: bytes, timeout: float) -> tuple[int | None, bytes, int, bytes]:
    """(exit status or None on timeout, stdout, peak RSS in KiB, stderr tail) of one child."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(  # our own interpreter and module, no shell
            [sys.executable, "-m", "vaxlink.ingest.bounded"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            close_fds=True,
        )
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        writer = threading.Thread(target=_feed, args=(proc.stdin, payload), daemon=True)
        writer.start()
        try:
            answer = _drain(proc.stdout, proc)
        finally:
            timer.cancel()
            writer.join()
            _pid, wait_status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(wait_status)
            if proc.stdout is not None:
                proc.stdout.close()
        err.seek(max(0, err.seek(0, io.SEEK_END) - 4096))
        tail = err.read()
    status = None if timed_out.is_set() else proc.returncode
    return status, answer, int(usage.ru_maxrss), tail


def _feed(pipe: IO[bytes] | None, payload: bytes) -> None:
    assert pipe is not None
    with contextlib.suppress(OSError):  # the child died early: its exit status says why
        try:
            pipe.write(payload)
        finally:
            pipe.close()


def _drain(pipe: IO[bytes] | None, proc: subprocess.Popen[bytes]) -> bytes:
    assert pipe is not None
    chunks, size = [], 0
    for chunk in iter(lambda: pipe.read(1 << 20), b""):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            proc.kill()
            return b""
        chunks.append(chunk)
    return b"".join(chunks)


# ----------------------------------------------------------------------------- the child


def _text(value: Any, date_format: str | None) -> str | None:
    """A cell as text: whole numbers without `.0`, dates as ISO or `date_format`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if date_format:
            return value.strftime(date_format)
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.strftime(date_format) if date_format else value.isoformat()
    return str(value)


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    request = json.loads(stdin.readline())
    _limit(int(request["memory_bytes"]), int(request["cpu_seconds"]))
    try:
        answer = _parse(request, stdin)
    except MemoryError:
        answer = {"ok": False, "memory": True}
    stdout.write(json.dumps(answer, ensure_ascii=False).encode())
    stdout.flush()


def _parse(request: dict[str, Any], stdin: IO[bytes]) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook  # after the limits are set

    try:
        if request["path"]:
            wb = CalamineWorkbook.from_path(request["path"])
        else:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(stdin.read()))
        names = list(wb.sheet_names)
        wanted = request["sheet"]
        if wanted is not None and wanted not in names:
            return {"ok": False, "missing_sheet": wanted, "sheets": names}
        if not names:
            return {"ok": False, "message": "the workbook has no sheets"}
        sheet = wb.get_sheet_by_name(wanted) if wanted is not None else wb.get_sheet_by_index(0)
        rows_iter = sheet.iter_rows()  # from row 1, from the first column that has a cell
    except MemoryError:
        raise
    except Exception as exc:  # calamine raises its own untyped errors for damaged files
        return {"ok": False, "message": str(exc)[:300]}
    fmt, limit = request["date_format"], request["max_rows"]
    rows: list[list[str | None]] = []
    try:
        for row in rows_iter:
            if limit is not None and len(rows) >= limit:
                break
            rows.append([_text(v, fmt) for v in row])
    except MemoryError:
        raise
    except Exception as exc:
        return {"ok": False, "message": str(exc)[:300]}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"ok": True, "rows": rows, "first_row": 1, "sheets": names,
            "peak_kib": usage.ru_maxrss}  # fmt: skip


if __name__ == "__main__":
    _child(sys.stdin.buffer, sys.stdout.buffer)

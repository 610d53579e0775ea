"""Bulk jobs that touch a SQLite store through ADBC run in a child process.

ADBC's SQLite driver bundles its own copy of SQLite; two copies in one process break each other's
file locks (sqlite.org/howtocorrupt.html §2.2). `run_bulk_job` therefore runs `fn(job, stage)` in
a forkserver child when the job's store is SQLite (in-process otherwise), relays the stage
messages to `on_stage` and returns the result or re-raises the child's exception in the caller.
`fn` must be a module-level function and `job` plain picklable data (a frozen dataclass).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import pickle
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from vaxlink.ingest.store import backend_of

Stage = Callable[[str], None]
R = TypeVar("R")
J = TypeVar("J", bound="BulkJob")

#: Modules the fork server imports once, so each child starts without re-importing them.
DEFAULT_PRELOAD: tuple[str, ...] = ("vaxlink.ingest.store", "duckdb", "pyarrow")


class BulkJob(Protocol):
    """What `run_bulk_job` needs to know about a job: the store it writes to."""

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the store."""
        ...


class BulkProcessError(RuntimeError):
    """The child process died, or failed with an error that could not be sent back whole."""


def needs_child(url: str) -> bool:
    """Whether bulk work on this store must run in a child process (SQLite only)."""
    return backend_of(url) == "sqlite"


def run_bulk_job(
    fn: Callable[[J, Stage], R],
    job: J,
    on_stage: Stage | None = None,
    *,
    preload: Sequence[str] = DEFAULT_PRELOAD,
) -> R:
    """`fn(job, stage)`, in a forkserver child when the store is SQLite; stages go to `on_stage`."""
    stage: Stage = on_stage or (lambda _name: None)
    if not needs_child(job.url):
        return fn(job, stage)
    ctx = multiprocessing.get_context("forkserver")
    # Only takes effect when the fork server starts (the first child job of this process).
    ctx.set_forkserver_preload(list(preload))
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(fn, job, child), daemon=True)
    proc.start()
    child.close()
    finished = False
    try:
        while True:
            try:
                kind, value = parent.recv()
            except EOFError:
                proc.join()
                raise BulkProcessError(
                    f"the bulk process died (exit code {proc.exitcode})"
                ) from None
            if kind == "stage":
                stage(value)
            elif kind == "error":
                finished = True
                raise value
            else:
                finished = True
                result: R = value
                return result
    finally:
        parent.close()
        if not finished and proc.is_alive():
            # The caller gave up (Ctrl-C, an error in on_stage): stop the child. Its open
            # transaction is rolled back by SQLite, so the store keeps its previous state.
            proc.terminate()
        proc.join(timeout=30)


def _child_main(
    fn: Callable[[Any, Stage], Any], job: Any, conn: multiprocessing.connection.Connection
) -> None:
    try:
        result = fn(job, lambda name: conn.send(("stage", name)))
        conn.send(("done", result))
    except BaseException as exc:  # every failure is re-raised in the parent
        conn.send(("error", _sendable(exc)))
    finally:
        conn.close()


def _sendable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling, else a BulkProcessError carrying its text and traceback."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, pickled just now
        return exc
    except Exception:
        text = "".join(traceback.format_exception(exc))
        return BulkProcessError(f"{type(exc).__name__}: {exc}\n{text}")

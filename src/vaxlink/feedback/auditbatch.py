"""Group commit for the audit entries of citizen views (the portal's hot path).

Every view of a person's record is audited, and the audit chain serialises its appenders on one
head row, so one transaction per view caps the portal at the commit rate of the store. Here each
request hands its entry to one writer thread of the process and waits until the entry is
committed: concurrent views share one audit transaction (`append_batch`, through auth's one
writer `append_many`), the response is still sent only after its entry is durable, and the
chain stays one chain.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.clock import Clock
from vaxlink.db import make_engine
from vaxlink.errors import Unavailable
from vaxlink.feedback.errors import FeedbackError
from vaxlink.records.service import person_refs

log = logging.getLogger(__name__)
#: Entries written in one transaction at most.
MAX_BATCH: Final = 256
#: How long a request waits for its entry before the view is refused.
WAIT_SECONDS: Final = 10.0


def append_batch(engine: Engine, entries: list[dict[str, Any]]) -> None:
    """Append citizen-view entries in one transaction through auth's one writer
    (`auth.service.append_many`: one head lock, one multi-row insert, one head move)."""
    with Session(bind=engine) as session, session.begin():
        # Citizens are named by their opaque reference, never their ID number (docs/security.md).
        refs = person_refs(session, [e["object_id"] for e in entries
                                     if e["object_type"] == "citizen"])  # fmt: skip
        batch = [auth.NewAuditEntry(e["action"], e["object_type"],
                                    refs[e["object_id"]] if e["object_type"] == "citizen"
                                    else e["object_id"], unit=e["unit"], detail=e["detail"],
                                    at=e["at"])
                 for e in entries]  # fmt: skip
        auth.append_many(session, batch)


class AuditUnavailable(FeedbackError):
    """The audit entry of a view could not be written, so the view is not shown."""

    http_status = Unavailable.http_status
    exit_code = Unavailable.exit_code
    code = "audit_unavailable"


@dataclass
class _Item:
    entry: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    #: Called by the writer thread once the batch is committed (or failed); for async waiters.
    notify: Callable[[], None] | None = None


class ViewAudit:
    """One writer thread per process; `record` blocks until the entry is committed."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self._clock = clock  # stamps each view when it is asked for, not when it is written
        # Its own connection: the requests waiting for it hold connections of the app's pool,
        # so writing through that pool could wait for them forever.
        self._writer = make_engine(
            engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0
        )
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="view-audit", daemon=True)
        self._thread.start()

    def record(self, *, action: str, citizen_id: str, detail: dict[str, Any]) -> None:
        """Append a view by the citizen (no staff actor) and wait for it to be committed."""
        item = self._item(action, citizen_id, detail)
        self._queue.put(item)
        if not item.done.wait(WAIT_SECONDS):
            raise AuditUnavailable("the audit log did not answer in time; try again")
        _raise_failed(item)

    async def arecord(self, *, action: str, citizen_id: str, detail: dict[str, Any]) -> None:
        """`record` for the event loop: waits for the commit without holding a thread."""
        item = self._item(action, citizen_id, detail)
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not committed.done():
                committed.set_result(None)

        def notify() -> None:  # in the writer thread
            loop.call_soon_threadsafe(wake)

        item.notify = notify
        self._queue.put(item)
        try:
            await asyncio.wait_for(committed, WAIT_SECONDS)
        except TimeoutError as exc:
            raise AuditUnavailable("the audit log did not answer in time; try again") from exc
        _raise_failed(item)

    def _item(self, action: str, citizen_id: str, detail: dict[str, Any]) -> _Item:
        auth.check_audit_detail(detail)  # refuse personal data here, in the caller's thread
        return _Item({"actor": None, "action": action, "object_type": "citizen",
                      "object_id": citizen_id, "unit": None, "detail": detail,
                      "at": self._clock.now()})  # fmt: skip

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                append_batch(self._writer, [i.entry for i in batch])
            except Exception as exc:
                log.exception("could not write %d citizen-view audit entries", len(batch))
                for item in batch:
                    item.error = exc
            for item in batch:
                item.done.set()
                if item.notify is not None:
                    try:
                        item.notify()
                    except RuntimeError:  # the waiter's event loop has closed
                        continue


def _raise_failed(item: _Item) -> None:
    if item.error is not None:
        raise AuditUnavailable("the audit log could not be written; try again") from item.error

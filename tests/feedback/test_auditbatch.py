"""Citizen views are audited in group-committed batches that keep the one hash chain intact."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from vaxlink.auth import audit
from vaxlink.auth.models import AuditEntry
from vaxlink.clock import SystemClock
from vaxlink.db import make_engine, transaction
from vaxlink.feedback.auditbatch import AuditUnavailable, ViewAudit
from vaxlink.records.service import person_refs


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """`asyncio.run(main())` on a thread of its own: a test that ran before may have left an
    event loop running on this one (Playwright's sync API keeps one for the whole session)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


def test_concurrent_views_share_batches_and_the_chain_verifies(store: Engine) -> None:
    with transaction(store) as s:  # an ordinary entry first: batches continue the same chain
        audit.record(s, actor=None, action="test.before", object_type="x", object_id="1", at=dt.datetime.now(dt.UTC))
    writer = ViewAudit(store, SystemClock())
    ids = [f"001085{i:06d}" for i in range(40)]
    threads = [
        threading.Thread(target=writer.record,
                         kwargs={"action": "feedback.citizen.view_certificate", "citizen_id": c,
                                 "detail": {"by": "citizen"}})
        for c in ids
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with transaction(store) as s:
        audit.record(s, actor=None, action="test.after", object_type="x", object_id="2", at=dt.datetime.now(dt.UTC))
        report = audit.verify_chain(s)
        seen = set(
            s.scalars(select(AuditEntry.object_id).where(AuditEntry.object_type == "citizen"))
        )
        refs = person_refs(s, ids)  # citizens are audited by reference, not ID number (#13)
    assert report.intact, report.problem
    assert report.checked == 42
    assert seen == set(refs.values())
    assert len(seen) == len(ids)


def test_personal_data_in_detail_is_refused_in_the_callers_thread(store: Engine) -> None:
    writer = ViewAudit(store, SystemClock())
    with pytest.raises(ValueError, match="personal data"):
        writer.record(action="x", citizen_id="001085000001", detail={"full_name": "An"})


def test_async_waiters_are_woken_after_the_commit(store: Engine) -> None:
    writer = ViewAudit(store, SystemClock())
    ids = [f"001086{i:06d}" for i in range(20)]

    async def views() -> None:
        await asyncio.gather(*(
            writer.arecord(action="feedback.citizen.view_certificate", citizen_id=c,
                           detail={"by": "citizen"})
            for c in ids
        ))  # fmt: skip
        # every entry is in the store once its waiter has returned
        with transaction(store) as s:
            seen = set(s.scalars(select(AuditEntry.object_id)))
            refs = person_refs(s, ids)
        assert seen == set(refs.values())

    _run(views)
    with transaction(store) as s:
        report = audit.verify_chain(s)
    assert report.intact, report.problem
    assert report.checked == 20


def test_a_failed_batch_is_refused_to_its_async_waiters(store: Engine) -> None:
    writer = ViewAudit(store, SystemClock())
    writer._writer = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # unreachable

    async def view() -> None:
        await writer.arecord(action="feedback.citizen.view_certificate",
                             citizen_id="001086000001", detail={"by": "citizen"})  # fmt: skip

    with pytest.raises(AuditUnavailable, match="could not be written"):
        _run(view)

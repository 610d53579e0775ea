"""The request session (`vaxlink.web.deps.session`): committed at the end of a request on a
thread of its own, so a full thread pool never blocks the commit that frees the SQLite writer."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from vaxlink.settings import Settings
from vaxlink.web.app import create_app
from vaxlink.web.deps import session

REQUESTS = 6


def test_a_full_thread_pool_does_not_hold_up_the_commit_of_the_sqlite_writer(
    tmp_path: Path,
) -> None:
    """Two pool threads, six writers: while the writer's turn is held, the other requests fill
    the pool waiting for it; the holder's commit must still run (before, it waited for a pool
    thread until the turn's 10 s timeout)."""
    app = create_app(Settings(data_dir=tmp_path))  # the SQLite store
    probe = APIRouter()

    @probe.get("/probe/write")
    def write(db: Annotated[Session, Depends(session, scope="function")]) -> Response:
        db.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))  # takes the turn
        time.sleep(0.05)  # holds it while the others queue
        # a Response, as the app's pages answer: a returned model would be validated on a pool
        # thread too, which the turn's holder could wait for as well
        return PlainTextResponse("written")

    app.include_router(probe)
    with TestClient(app) as client:

        def shrink() -> None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = 2

        assert client.portal is not None
        client.portal.call(shrink)
        started = time.monotonic()
        with ThreadPoolExecutor(REQUESTS) as pool:
            codes = list(pool.map(lambda _: client.get("/probe/write").status_code,
                                  range(REQUESTS)))  # fmt: skip
        elapsed = time.monotonic() - started
    assert codes == [200] * REQUESTS
    assert elapsed < 5, f"{REQUESTS} short writes took {elapsed:.1f} s: a commit waited"


def test_a_failed_request_is_rolled_back(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    probe = APIRouter()

    @probe.get("/probe/fail")
    def fail(db: Annotated[Session, Depends(session, scope="function")]) -> None:
        db.execute(text("UPDATE audit_head SET hash = 'x' WHERE id = 1"))
        raise RuntimeError("after the write")

    @probe.get("/probe/hash")
    def head(db: Annotated[Session, Depends(session, scope="function")]) -> dict[str, str]:
        return {"hash": str(db.scalar(text("SELECT hash FROM audit_head WHERE id = 1")))}

    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as client:
        before = client.get("/probe/hash").json()["hash"]
        assert client.get("/probe/fail").status_code == 500
        assert client.get("/probe/hash").json()["hash"] == before != "x"

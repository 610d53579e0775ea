"""Request dependencies: the app's composition root (`app.state.container`), its settings, clock
and ports, and one transaction per request on the store's engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from vaxlink.clock import Clock
from vaxlink.compose import Container
from vaxlink.db import session_factory
from vaxlink.settings import Settings

if TYPE_CHECKING:  # the ports' modules cost their imports; the pages that use them pay
    from vaxlink.linkage.service import LinkModel
    from vaxlink.registry.service import RegistryPort


def container(request: Request) -> Container:
    """The app's composition root, built once by `create_app`."""
    found: Container | None = getattr(request.app.state, "container", None)
    if found is None:
        raise RuntimeError("this app has no composition root: build it with create_app(), or "
                           "set app.state.container = vaxlink.compose.build(settings)")  # fmt: skip
    return found


def settings(request: Request) -> Settings:
    """The settings the app was built with."""
    s: Settings = request.app.state.settings
    return s


def clock(request: Request) -> Clock:
    """The app's clock (a test builds its app with a `FixedClock`)."""
    return container(request).clock


def now(request: Request) -> datetime:
    """The time of this request, from the app's clock (UTC)."""
    return container(request).clock.now()


async def registry_port(request: Request) -> RegistryPort:
    """The app's registry port: the registry service at `registry_url`, else the store's
    citizens (built once per app; `async` so it runs on the event loop, not in a thread)."""
    return container(request).registry


async def link_model(request: Request) -> LinkModel:
    """The app's linkage model (the configured file or the packaged one), loaded once, on the
    event loop like `registry_port` (a small JSON file read on the first request)."""
    return container(request).link_model


def _factory(request: Request) -> sessionmaker[Session]:
    """The session factory of the app's current engine, made once per engine."""
    state = request.app.state
    engine = state.engine
    cached: tuple[object, sessionmaker[Session]] | None = getattr(state, "session_factory", None)
    if cached is None or cached[0] is not engine:
        cached = (engine, session_factory(engine))
        state.session_factory = cached
    return cached[1]


@contextmanager
def unit_of_work(request: Request) -> Iterator[Session]:
    """One transaction on the app's engine, committed when the block ends (rolled back on an
    error), for an endpoint that does its store work and its commit in one hop to a worker
    thread (`run_in_threadpool`) instead of the two of a sync endpoint with `session` (the
    endpoint's, then the commit's). Use it from that thread, never on the event loop."""
    with _factory(request)() as s, s.begin():
        yield s


async def session(request: Request) -> AsyncIterator[Session]:
    """A session in a transaction: committed when the request succeeds, rolled back otherwise.

    Declare it `Depends(session, scope="function")`: the commit then happens before the response
    leaves, so a redirect after a POST (login, a decision) never reads the state before it.

    `async` on purpose: opening a session touches no connection (the first statement does, in
    the endpoint's thread), so it is made on the event loop instead of costing a hop to the
    thread pool; only the end of the transaction (the commit's round trip, or the rollback) is
    sent to a worker thread, as a sync generator's exit was."""
    s = _factory(request)()
    transaction = s.begin()
    request.state.db = s  # the page's templates name sites in this transaction (render.py)
    # The end runs on a thread of its own limiter, not the shared pool's: when every pool thread
    # is a request waiting for the SQLite writer's turn (`db._sqlite_writer_gate`), the commit
    # that gives the turn back must not wait for a pool thread (FastAPI's sync-generator exit
    # does the same).
    own = anyio.CapacityLimiter(1)
    try:
        yield s
    except BaseException as exc:
        with anyio.CancelScope(shield=True):  # a cancelled request still gives its connection back
            await anyio.to_thread.run_sync(_end, s, transaction, exc, limiter=own)
        raise
    else:
        await anyio.to_thread.run_sync(_end, s, transaction, None, limiter=own)
    finally:
        request.state.db = None


def _end(s: Session, transaction: SessionTransaction, exc: BaseException | None) -> None:
    """Commit (no error) or roll back the request's transaction and close its session: what
    leaving `with session, session.begin():` does."""
    try:
        if exc is None:
            transaction.__exit__(None, None, None)
        else:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
    finally:
        s.close()

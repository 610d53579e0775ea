"""Request dependencies: the engine lives on app.state; each request gets one transaction."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.db import session_factory
from vaxlink.settings import Settings


def settings(request: Request) -> Settings:
    """The settings the app was built with."""
    s: Settings = request.app.state.settings
    return s


def _factory(request: Request) -> sessionmaker[Session]:
    """The session factory of the app's current engine, made once per engine."""
    state = request.app.state
    engine = state.engine
    cached: tuple[object, sessionmaker[Session]] | None = getattr(state, "session_factory", None)
    if cached is None or cached[0] is not engine:
        cached = (engine, session_factory(engine))
        state.session_factory = cached
    return cached[1]


def session(request: Request) -> Iterator[Session]:
    """A session in a transaction: committed when the request succeeds, rolled back otherwise.

    Declare it `Depends(session, scope="function")`: the commit then happens before the response
    leaves, so a redirect after a POST (login, a decision) never reads the state before it."""
    with _factory(request)() as s, s.begin():
        request.state.db = s  # the page's templates name sites in this transaction (render.py)
        try:
            yield s
        finally:
            request.state.db = None

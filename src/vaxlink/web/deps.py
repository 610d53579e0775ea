"""Request dependencies: the engine lives on app.state; each request gets one transaction."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from vaxlink.db import session_factory
from vaxlink.settings import Settings


def settings(request: Request) -> Settings:
    """The settings the app was built with."""
    s: Settings = request.app.state.settings
    return s


def session(request: Request) -> Iterator[Session]:
    """A session in a transaction: committed when the request succeeds, rolled back otherwise."""
    with session_factory(request.app.state.engine)() as s, s.begin():
        yield s

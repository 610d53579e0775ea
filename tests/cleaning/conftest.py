"""Fixtures of the cleaning tests: one small store per module and database, a rolled-back
session per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.cleaning.world import World, build
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available
from vaxlink.db import make_engine, session_factory, transaction, upgrade


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, World]]:
    """A migrated store holding the hand-made world, committed (SQLite, then PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cleaning') / 'store.db'}"
    else:
        reason = _pg_available()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        url = _create_pg_database()
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        world = build(s)
    try:
        yield engine, world
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_pg_database(url)


@pytest.fixture
def world(world_store: tuple[Engine, World]) -> World:
    return world_store[1]


@pytest.fixture
def db(world_store: tuple[Engine, World]) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test."""
    engine = world_store[0]
    with engine.connect() as conn:
        trans = conn.begin()
        sess = session_factory(engine)(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            sess.close()
            trans.rollback()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path

"""Fixtures of the report tests: one small processed data set per store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.reports.world import Built, build, make_synth
from vaxlink.db import make_engine


@pytest.fixture(scope="session")
def report_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """400 synthetic citizens and their doses in two files."""
    return make_synth(tmp_path_factory.mktemp("reports-synth"))


@pytest.fixture
def built(store_url: str, tmp_path: Path, report_synth: dict[str, Path]) -> Iterator[Built]:
    """A store with the data set of `tests.reports.world` (on SQLite and on PostgreSQL)."""
    engine: Engine = make_engine(store_url)
    try:
        yield build(store_url, engine, tmp_path / "data", report_synth)
    finally:
        engine.dispose()

"""Fixtures of the linkage tests: a fresh engine, tiny hand-made tables, a small synthetic set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.features import build_doses, build_registry
from vaxlink.linkage.files import load_inputs
from vaxlink.linkage.pipeline import LinkStats, prepare
from vaxlink.records.columns import DOSE_COLUMNS
from vaxlink.registry.columns import REGISTRY_COLUMNS
from vaxlink.synth import generate, write

TODAY = dt.date(2025, 1, 1)
#: A dose's fields that tests do not care about, filled in so the row is valid.
DOSE_DEFAULTS = {
    "vaccine": "Pfizer",
    "vaccination_date": "2021-09-01",
    "dose_number": "1",
}


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    """A fresh in-memory DuckDB engine with the macros installed."""
    eng = DuckDBEngine()
    yield eng
    eng.close()


def table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """An all-text Arrow table with `columns` from dicts (missing keys are NULL)."""
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})


def load_tables(
    engine: DuckDBEngine,
    registry: Sequence[Mapping[str, Any]],
    doses: Sequence[Mapping[str, Any]],
) -> None:
    """Register hand-made rows as registry_in and doses_in and build the feature tables."""
    reg_cols = [c.name for c in REGISTRY_COLUMNS]
    dose_cols = [c.name for c in DOSE_COLUMNS]
    dose_rows = [{**DOSE_DEFAULTS, "record_id": f"R{i}", **d} for i, d in enumerate(doses, start=1)]
    engine.register_arrow("registry_in", table(reg_cols, registry))
    engine.register_arrow("doses_in", table(dose_cols, dose_rows))
    build_registry(engine, "registry_in")
    build_doses(engine, "doses_in", TODAY)


@pytest.fixture(scope="session")
def prepared(synth_small: dict[str, Path]) -> Iterator[tuple[DuckDBEngine, LinkStats]]:
    """The small synthetic set taken through the pipeline up to its candidate pairs."""
    eng = DuckDBEngine()
    load_inputs(eng, synth_small["registry"], synth_small["doses"])
    stats = LinkStats()
    prepare(eng, "registry_in", "doses_in", TODAY, lambda _s: None, stats)
    yield eng, stats
    eng.close()


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic registry of 20,000 citizens, their dirty dose records and the truth."""
    out = tmp_path_factory.mktemp("synth20k")
    return write(generate(20_000, seed=4242), out)

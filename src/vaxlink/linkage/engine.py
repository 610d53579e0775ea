"""Engine adapters: the linkage steps produce SQL, an engine runs it (DuckDB here, Spark later)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import duckdb
import pyarrow as pa

from vaxlink import duck
from vaxlink.ingest import sqlnorm
from vaxlink.settings import Settings

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """One SQL statement of the pipeline with its bound parameters (values never in the text)."""

    sql: str
    params: Params = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """What the linkage pipeline needs from a SQL engine."""

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing of interest (DDL, CREATE TABLE AS, INSERT)."""

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as a (materialised) table `name`."""

    def to_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its whole result as Arrow."""

    def to_batches(
        self, sql: str, params: Params | None = None, batch_rows: int = 200_000
    ) -> Iterable[pa.RecordBatch]:
        """Run a query and stream its result as Arrow record batches."""


def run(engine: Engine, steps: Iterable[Step]) -> None:
    """Execute the steps in order on `engine`."""
    for step in steps:
        engine.execute(step.sql, step.params)


def scalar(engine: Engine, sql: str, params: Params | None = None) -> Any:
    """The single value a query returns (None for an empty result)."""
    table = engine.to_arrow(sql, params)
    return table.column(0)[0].as_py() if table.num_rows else None


class DuckDBEngine:
    """The default engine: an in-process DuckDB with vaxlink's and the linkage's macros."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection | None = None, settings: Settings | None = None
    ) -> None:
        self.con = con if con is not None else duck.connect(settings)
        from vaxlink.linkage.macros import install as install_linkage_macros

        sqlnorm.install(self.con)
        install_linkage_macros(self.con)
        self.con.execute("SET enable_progress_bar = false")

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement; its result (if any) is consumed so the next one can start."""
        result = self.con.execute(sql, dict(params)) if params else self.con.execute(sql)
        if result.description:
            result.fetchall()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Copy an Arrow table into DuckDB as table `name` (replacing any previous one)."""
        view = f"_arrow_{name}"
        self.con.register(view, table)
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self.con.unregister(view)

    def to_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """The query's result as one Arrow table."""
        rel = self.con.sql(sql, params=dict(params)) if params else self.con.sql(sql)
        return rel.to_arrow_table()

    def to_batches(
        self, sql: str, params: Params | None = None, batch_rows: int = 200_000
    ) -> Iterable[pa.RecordBatch]:
        """The query's result streamed in batches of about `batch_rows` rows."""
        rel = self.con.sql(sql, params=dict(params)) if params else self.con.sql(sql)
        yield from rel.to_arrow_reader(batch_rows)

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

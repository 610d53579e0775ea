"""Arrow batches into the transactional store through ADBC (COPY on PostgreSQL), in one transaction.

ADBC's SQLite driver carries its own copy of SQLite. Two copies of SQLite in one process that have
the file open at once break each other's file locks (sqlite.org/howtocorrupt.html §2.2), so on
SQLite the bulk phase runs in a child process (`ingest.child`), unless the caller has closed every
connection of its own to the store (`pipeline.run_import(in_process=True)`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import make_url

from vaxlink.db import normalise_url


@contextmanager
def read_ahead(source: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatchReader]:
    """`source` read by a thread of its own, up to `depth` batches ahead of the consumer.

    DuckDB computes the next batches while the store writes this one (both release the GIL), so
    the two cores work at once. The thread is stopped and joined when the block ends, however it
    ends, so the DuckDB connection behind `source` is free again afterwards.
    """
    slots: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: pa.RecordBatch | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in source:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        else:
            put(None)

    def consume() -> Iterator[pa.RecordBatch]:
        while (item := slots.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    worker = threading.Thread(target=produce, name="vaxlink-read-ahead", daemon=True)
    worker.start()
    try:
        yield pa.RecordBatchReader.from_batches(source.schema, consume())
    finally:
        stop.set()
        worker.join()


def backend_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a store URL."""
    return make_url(normalise_url(url)).get_backend_name()


class BulkConnection:
    """An ADBC connection to the store with the few operations bulk imports need."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    def ingest(
        self, table: str, data: pa.Table | pa.RecordBatchReader, *, temporary: bool = True
    ) -> None:
        """Create temporary table `table` from Arrow data, or append to an existing table."""
        with self._conn.cursor() as cur:
            if temporary:
                cur.adbc_ingest(table, data, mode="create", temporary=True)
            else:
                cur.adbc_ingest(table, data, mode="append")

    def execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        """Run one statement."""
        with self._conn.cursor() as cur:
            if params:
                cur.execute(sql, params)
            else:
                cur.execute(sql)

    def scalar(self, sql: str, params: tuple[Any, ...] | None = None) -> Any:
        """The first column of the first row."""
        with self._conn.cursor() as cur:
            if params:
                cur.execute(sql, params)
            else:
                cur.execute(sql)
            rows = cur.fetchall()
            return rows[0][0] if rows else None

    def arrow(self, sql: str, params: tuple[Any, ...] | None = None) -> pa.Table:
        """A query's result as an Arrow table."""
        with self._conn.cursor() as cur:
            if params:
                cur.execute(sql, params)
            else:
                cur.execute(sql)
            result: pa.Table = cur.fetch_arrow_table()
            return result

    def analyze(
        self, table: str, *, rows: int, held: int, columns: Sequence[str] | None = None
    ) -> None:
        """Refresh the planner's statistics after a load that grew `table` markedly (PostgreSQL).

        Autovacuum would do it later; until then the planner would plan for the old size.
        `columns`: only those (the ones queries select, join or group on); autovacuum analyses
        every column at the next large change. SQLite keeps no statistics unless asked
        (`ANALYZE` was never run on it), so nothing to do there.
        """
        if self.dialect == "postgresql" and rows > held // 10:
            listed = f" ({', '.join(columns)})" if columns else ""
            self.execute(f'ANALYZE "{table}"{listed}')

    def p(self, i: int) -> str:
        """Positional parameter marker number `i` (1-based) in this driver's style."""
        return f"${i}" if self.dialect == "postgresql" else "?"

    def timestamp(self, i: int) -> str:
        """A parameter holding a UTC timestamp text, in the form SQLAlchemy reads back."""
        if self.dialect == "postgresql":
            return f"(CAST({self.p(i)} AS TIMESTAMP) AT TIME ZONE 'UTC')"
        return self.p(i)


@contextmanager
def bulk_connection(url: str) -> Iterator[BulkConnection]:
    """An ADBC connection in one transaction: committed when the block ends, rolled back on error."""
    u = make_url(normalise_url(url))
    backend = u.get_backend_name()
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi as sqlite_dbapi

        # Pragmas only take effect outside a transaction, so the transaction is opened by hand.
        conn = sqlite_dbapi.connect(u.database or ":memory:", autocommit=True)
        bulk = BulkConnection(conn, backend)
        bulk.execute("PRAGMA busy_timeout=30000")
        bulk.execute("PRAGMA foreign_keys=ON")
        bulk.execute("PRAGMA synchronous=NORMAL")
        # 64 MB of page cache: a larger one saves no time on a bulk load (measured: the rows pass
        # through once, the index builds sort in the sorter's own memory) and would count
        # against the import's memory budget.
        bulk.execute("PRAGMA cache_size=-65536")
        bulk.execute("PRAGMA temp_store=MEMORY")
        bulk.execute("PRAGMA threads=2")  # CREATE INDEX sorts with a helper thread
        bulk.execute("BEGIN IMMEDIATE")
        try:
            yield bulk
            bulk.execute("COMMIT")
        except BaseException:
            bulk.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        return
    if backend != "postgresql":  # pragma: no cover - the project supports these two stores
        raise ValueError(f"bulk import supports SQLite and PostgreSQL, not {backend}")
    import adbc_driver_postgresql.dbapi as pg_dbapi

    uri = u.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = pg_dbapi.connect(uri, autocommit=False)
    try:
        bulk = BulkConnection(conn, backend)
        # Index builds after a bulk load sort in this much memory (server side, this transaction).
        bulk.execute("SET LOCAL maintenance_work_mem = '256MB'")
        yield bulk
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def secondary_indexes(bulk: BulkConnection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of each whole index `table` has, constraints' excepted.

    Read from the store's catalogue, so every index any migration created is rebuilt exactly as
    it was (and no model has to be imported). Partial indexes are left out: they hold rows in
    states a load does not create (worklist or approvable statuses, linked citizens; new doses
    are pending and linked to nobody), so kept during the load they cost a predicate test per
    row, where a rebuild would scan the whole table.
    """
    if bulk.dialect == "postgresql":
        sql = (
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST($1 AS regclass) "
            "AND i.indpred IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname"
        )
    else:  # indexes behind UNIQUE/PRIMARY KEY constraints have no SQL text
        sql = (
            "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'index' AND m.tbl_name = ? "
            "AND m.sql IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.tbl_name) l "
            "WHERE l.name = m.name AND l.partial) ORDER BY m.name"
        )
    found = bulk.arrow(sql, (table,))
    return list(zip(found.column(0).to_pylist(), found.column(1).to_pylist(), strict=True))


def constraints(bulk: BulkConnection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of `table`'s foreign keys and unique constraints, the unique ones first
    (PostgreSQL; SQLite cannot drop a constraint, so none are listed there). The primary key is
    not among them: other tables' foreign keys refer to it."""
    if bulk.dialect != "postgresql":
        return []
    found = bulk.arrow(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST($1 AS regclass) AND contype IN ('u', 'f') "
        "ORDER BY contype DESC, conname",
        (table,),
    )
    return list(zip(found.column(0).to_pylist(), found.column(1).to_pylist(), strict=True))


@contextmanager
def indexes_rebuilt(bulk: BulkConnection, table: str, *, when: bool) -> Iterator[None]:
    """Drop `table`'s secondary indexes for a bulk load and rebuild them after, if `when`.

    Building an index once over sorted data is several times faster than maintaining it row by
    row; it pays when the load is larger than what the table already holds. On PostgreSQL the
    table's unique constraints and foreign keys are dropped too and added back after: adding
    them back checks every row in one sort or join, where keeping them checks row by row (a
    trigger per row for a foreign key). Measured on a million doses: COPY 5.7 → 4.8 s, adding
    both back 0.8 s. Inside the caller's transaction, so a failure (a broken constraint
    included) leaves all as it was; dropping an index already locks the table for the load, so
    nobody sees it without its constraints.
    """
    if not when:
        yield
        return
    indexes = secondary_indexes(bulk, table)
    kept = constraints(bulk, table)
    for name, _ddl in indexes:
        bulk.execute(f'DROP INDEX IF EXISTS "{name}"')
    for name, _definition in reversed(kept):
        bulk.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    yield
    for _name, ddl in indexes:
        bulk.execute(ddl)
    for name, definition in kept:
        bulk.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

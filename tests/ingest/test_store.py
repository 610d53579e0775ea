"""Reading a batch stream ahead on a thread: every batch once, in order; errors and early exits."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from vaxlink.ingest.store import read_ahead


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "vaxlink-read-ahead"}


def test_every_batch_arrives_once_in_order_from_duckdb() -> None:
    con = duckdb.connect()
    source = con.sql("SELECT range AS n FROM range(250000)").to_arrow_reader(10_000)
    with read_ahead(source, depth=2) as rows:
        got = rows.read_all()
    assert got.column("n").to_pylist() == list(range(250_000))
    assert not _threads()
    # The connection is free again: the thread has let go of it.
    assert con.sql("SELECT 42").fetchall() == [(42,)]


def test_an_error_while_reading_reaches_the_consumer() -> None:
    schema = pa.schema([("n", pa.int64())])

    def failing() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise ValueError("row 3 cannot be read")

    source = pa.RecordBatchReader.from_batches(schema, failing())
    with pytest.raises(ValueError, match="row 3"), read_ahead(source) as rows:
        rows.read_all()
    assert not _threads()


def test_a_consumer_that_stops_early_leaves_no_thread_behind() -> None:
    schema = pa.schema([("n", pa.int64())])
    batches = (pa.record_batch([pa.array([i])], schema=schema) for i in range(1_000))
    source = pa.RecordBatchReader.from_batches(schema, batches)

    def store_refuses_after_one_batch() -> None:
        with read_ahead(source, depth=2) as rows:
            rows.read_next_batch()
            raise RuntimeError("the store refused the batch")

    with pytest.raises(RuntimeError, match="the store refused"):
        store_refuses_after_one_batch()
    assert not _threads()

"""Dose-record import: parse and validate set-based in DuckDB, then bulk insert into the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.engine import Engine

from vaxlink.duck import scalar
from vaxlink.ingest.checks import raw_json_sql
from vaxlink.ingest.pipeline import ImportJob, ImportKind, ImportReport, WriteCounts, run_import
from vaxlink.ingest.store import BulkConnection, indexes_rebuilt, read_ahead
from vaxlink.records.columns import DOSE_COLUMNS, RAW_FIELDS
from vaxlink.records.parse import parse_doses
from vaxlink.settings import Settings


def write_doses(bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch_id: int) -> WriteCounts:
    """Append new records in bulk; identical re-sends count as unchanged; changed ones are refused."""
    held = int(bulk.scalar("SELECT count(*) FROM dose_record") or 0)
    existing_sql = (
        "SELECT s.record_id, s.row_hash = d.row_hash AS same, d.batch_id AS first_batch "
        "FROM stg_keys s JOIN dose_record d ON d.record_id = s.record_id"
    )
    if held:
        keys = con.sql("SELECT record_id, row_hash FROM checked WHERE codes = ''").to_arrow_table()
        bulk.ingest("stg_keys", keys)
        existing = bulk.arrow(existing_sql)
        bulk.execute("DROP TABLE stg_keys")
    else:  # an empty table holds none of them: skip the round trip
        existing = pa.table({"record_id": pa.array([], pa.string()), "same": pa.array([], pa.bool_()),
                             "first_batch": pa.array([], pa.int32())})  # fmt: skip
    con.register("existing_in", existing)
    con.execute(
        f"""
        INSERT INTO bad
        SELECT c._row, c.record_id, {raw_json_sql(("record_id", *RAW_FIELDS), "c.")},
               'record_id_changed',
               'record id ' || c.record_id || ' was already imported (batch ' || e.first_batch
               || ') with other values; send changes as corrections, not as a new file',
               c.row_hash
        FROM checked c JOIN existing_in e ON e.record_id = c.record_id AND NOT e.same
        WHERE c.codes = ''
        """
    )
    unchanged = int(scalar(con, "SELECT count(*) FROM existing_in WHERE same") or 0)
    imported = int(
        scalar(
            con,
            "SELECT count(*) FROM checked c ANTI JOIN existing_in e USING (record_id) "
            "WHERE c.codes = ''",
        )
        or 0
    )
    if imported:
        # Dates travel as ISO text on SQLite (as SQLAlchemy stores them), as DATE on PostgreSQL.
        vdate = (
            "CAST(vaccination_date AS DATE)" if bulk.dialect == "postgresql" else "vaccination_date"
        )
        new_rows = con.sql(
            f"""
            SELECT g.* EXCLUDE (vaccination_date), {vdate} AS vaccination_date,
                   CAST($batch AS INTEGER) AS batch_id, 'pending' AS status,
                   CAST(1 AS INTEGER) AS version
            FROM good g ANTI JOIN existing_in e ON e.record_id = g.record_id
            """,
            params={"batch": batch_id},
        )
        with indexes_rebuilt(bulk, "dose_record", when=imported > held):
            # Streamed in batches, so only a few batches of rows are held outside DuckDB at a time.
            with read_ahead(new_rows.to_arrow_reader(50_000)) as rows:
                bulk.ingest("dose_record", rows, temporary=False)
            # DuckDB's copy is no longer needed: free it before the store builds its indexes.
            con.execute("DROP VIEW good; DROP TABLE checked")
        bulk.analyze("dose_record", rows=imported, held=held)
    con.unregister("existing_in")
    return WriteCounts(imported=imported, unchanged=unchanged)


DOSES = ImportKind("doses", DOSE_COLUMNS, parse_doses, write_doses)


def import_doses(
    engine: Engine,
    path: Path,
    *,
    settings: Settings,
    today: dt.date | None = None,
    imported_by: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import a dose-record file (formats.md §2); see `ImportReport` for what happened to each row."""
    job = ImportJob(
        url=engine.url.render_as_string(hide_password=False),
        path=Path(path),
        kind="doses",
        settings=settings,
        today=today or dt.date.today(),
        imported_by=imported_by,
    )
    return run_import(job, on_stage)

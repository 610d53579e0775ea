"""Dose-record import: parse and validate set-based in DuckDB, then bulk insert into the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
from sqlalchemy.engine import Engine

from vaxlink.duck import scalar
from vaxlink.ingest.pipeline import ImportJob, ImportKind, ImportReport, WriteCounts, run_import
from vaxlink.ingest.store import BulkConnection
from vaxlink.records.columns import DOSE_COLUMNS
from vaxlink.records.parse import parse_doses
from vaxlink.settings import Settings


def write_doses(bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch_id: int) -> WriteCounts:
    """Append new records in bulk; identical re-sends count as unchanged; changed ones are refused."""
    bulk.ingest("stg_keys", con.sql("SELECT record_id, row_hash FROM good").to_arrow_table())
    existing = bulk.arrow(
        "SELECT s.record_id, s.row_hash = d.row_hash AS same, d.batch_id AS first_batch "
        "FROM stg_keys s JOIN dose_record d ON d.record_id = s.record_id"
    )
    bulk.execute("DROP TABLE stg_keys")
    con.register("existing_in", existing)
    con.execute(
        """
        INSERT INTO bad
        SELECT g.source_row, g.record_id,
               CAST(to_json(struct_pack(record_id := g.record_id, full_name := g.raw_full_name,
                    date_of_birth := g.raw_date_of_birth, id_number := g.raw_id_number,
                    vaccine := g.raw_vaccine, vaccination_date := g.raw_vaccination_date,
                    dose_number := g.raw_dose_number)) AS VARCHAR),
               'record_id_changed',
               'record id ' || g.record_id || ' was already imported (batch ' || e.first_batch
               || ') with other values; send changes as corrections, not as a new file',
               g.row_hash
        FROM good g JOIN existing_in e ON e.record_id = g.record_id AND NOT e.same
        """
    )
    unchanged = int(scalar(con, "SELECT count(*) FROM existing_in WHERE same") or 0)
    # Dates travel as ISO text on SQLite (how SQLAlchemy stores them) and as DATE on PostgreSQL.
    vdate = "CAST(vaccination_date AS DATE)" if bulk.dialect == "postgresql" else "vaccination_date"
    new_rows = con.sql(
        f"""
        SELECT g.* EXCLUDE (vaccination_date), {vdate} AS vaccination_date,
               CAST($batch AS INTEGER) AS batch_id, 'pending' AS status, CAST(1 AS INTEGER) AS version
        FROM good g ANTI JOIN existing_in e ON e.record_id = g.record_id
        """,
        params={"batch": batch_id},
    )
    imported = int(
        scalar(con, "SELECT count(*) FROM good g ANTI JOIN existing_in e USING (record_id)") or 0
    )
    if imported:
        bulk.ingest("dose_record", new_rows.to_arrow_reader(100_000), temporary=False)
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

"""Dose-record import: parse and validate set-based in DuckDB, then bulk insert into the store.

Every row is checked once, on its way to the store: DuckDB evaluates the checks of the next
batches while the store writes this one (`ingest.store.read_ahead`), and each batch is split by
the rows' fate. New rows go to the store; the few refused ones are kept for the quarantine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import Engine

from vaxlink.clock import Clock
from vaxlink.duck import scalar
from vaxlink.ingest.service import (
    BulkConnection,
    ImportJob,
    ImportKind,
    ImportReport,
    WriteCounts,
    indexes_rebuilt,
    read_ahead,
    run_import,
)
from vaxlink.records.columns import DOSE_COLUMNS
from vaxlink.records.lifecycle import DoseStatus
from vaxlink.records.parse import (
    IDENTITY_FIRST,
    NEW,
    REFUSED,
    STORE_COLUMNS,
    UNCHANGED,
    parse_doses,
    release,
)
from vaxlink.settings import Settings

#: Rows per batch on the way to the store (measured on a million rows: 5,000 against 50,000
#: lowers the peak memory by 240 MB and lets PostgreSQL's COPY keep pace better).
BATCH_ROWS = 5_000
#: The columns queries select, join or group doses on: the statistics an import refreshes.
ANALYZED = ("id", "record_id", "status", "citizen_id", "ward_code", "district_code",
            "province_code", "facility_code", "vaccination_date", "name_folded", "id_number",
            "date_of_birth", "batch_id")  # fmt: skip
#: The columns of a refused row that the quarantine keeps (`pipeline.BAD_COLUMNS`, in order).
_REFUSED_COLUMNS = ("source_row", "record_id", "_raw", "_codes", "_reasons", "row_hash", "_args")


@dataclass
class _Split:
    """Splits batches of every row: new rows are yielded, refused ones kept, unchanged counted."""

    columns: list[str]
    imported: int = 0
    unchanged: int = 0
    identity_first: int = 0
    refused: list[pa.RecordBatch] = field(default_factory=list)

    def new_rows(self, batches: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            fate = batch.column("_fate")
            new = pc.equal(fate, NEW)
            n_new = int(pc.sum(new).as_py() or 0)
            if n_new < batch.num_rows:  # nearly every batch of a first import skips this
                self.unchanged += int(pc.sum(pc.equal(fate, UNCHANGED)).as_py() or 0)
                refused = batch.filter(pc.equal(fate, REFUSED))
                if refused.num_rows:
                    self.refused.append(refused.select(list(_REFUSED_COLUMNS)))
                batch = batch.filter(new)
            if n_new:
                self.imported += n_new
                self.identity_first += int(pc.sum(batch.column("_identity_first")).as_py() or 0)
                yield batch.select(self.columns)


def _existing(bulk: BulkConnection, con: duckdb.DuckDBPyConnection, held: int) -> int:
    """Fill `existing_in` with the file's record ids the store holds already; how many."""
    if not held:
        return 0  # an empty table holds none of them: skip the round trip
    ids = con.sql("SELECT DISTINCT record_id FROM src WHERE record_id IS NOT NULL")
    bulk.ingest("stg_keys", ids.to_arrow_table())
    found = bulk.arrow(
        "SELECT d.record_id, d.row_hash AS stored_hash, d.batch_id AS first_batch "
        "FROM stg_keys s JOIN dose_record d ON d.record_id = s.record_id"
    )
    bulk.execute("DROP TABLE stg_keys")
    con.register("existing_found", found)
    con.execute("INSERT INTO existing_in SELECT * FROM existing_found")
    con.unregister("existing_found")
    return int(found.num_rows)


def write_doses(bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch_id: int) -> WriteCounts:
    """Append new records in bulk; identical re-sends count as unchanged; changed ones are refused."""
    held = int(bulk.scalar("SELECT count(*) FROM dose_record") or 0)
    known = _existing(bulk, con, held)
    rows_in = int(scalar(con, "SELECT count(*) FROM src") or 0)
    # Dates travel as ISO text on SQLite (as SQLAlchemy stores them), as DATE on PostgreSQL
    # (TRY_CAST: a refused row may hold a partial date; it never reaches the store).
    vdate = (
        "TRY_CAST(vaccination_date AS DATE)" if bulk.dialect == "postgresql" else "vaccination_date"
    )
    rows = con.sql(
        f"SELECT * REPLACE ({vdate} AS vaccination_date), "
        f"CAST($batch AS INTEGER) AS batch_id, '{DoseStatus.PENDING}' AS status, "
        "CAST(1 AS INTEGER) AS version "
        "FROM dose_rows",
        params={"batch": batch_id},
    )
    split = _Split([*STORE_COLUMNS, "batch_id", "status", "version"])
    # Rebuilding the indexes pays when the load may outgrow what the table holds.
    with indexes_rebuilt(bulk, "dose_record", when=rows_in - known > held):
        with read_ahead(rows.to_arrow_reader(BATCH_ROWS)) as every_row:
            fields = [every_row.schema.field(c) for c in split.columns]
            new_rows = pa.RecordBatchReader.from_batches(
                pa.schema(fields), split.new_rows(every_row)
            )
            bulk.ingest("dose_record", new_rows, temporary=False)
        # DuckDB's copy of the rows is not needed now: free it before the store builds indexes.
        release(con)
    if split.refused:
        con.register("refused_in", pa.Table.from_batches(split.refused))
        con.execute(f"INSERT INTO bad SELECT {', '.join(_REFUSED_COLUMNS)} FROM refused_in")
        con.unregister("refused_in")
    bulk.analyze("dose_record", rows=split.imported, held=held, columns=ANALYZED)
    flags = {IDENTITY_FIRST: split.identity_first} if split.identity_first else {}
    return WriteCounts(imported=split.imported, unchanged=split.unchanged, flags=flags)


DOSES = ImportKind("doses", DOSE_COLUMNS, parse_doses, write_doses)


def import_doses(
    engine: Engine,
    path: Path,
    *,
    settings: Settings,
    clock: Clock,
    today: dt.date | None = None,
    imported_by: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    sole_user: bool = False,
    lang: str = "vi",
) -> ImportReport:
    """Import a dose-record file (docs/formats.md §2); see `ImportReport` for what happened to each row.

    `sole_user`: nothing else in this process uses the store during the import (a command line
    run): the engine's connections are closed and the import runs in this process, not a child.
    """
    job = ImportJob(
        url=engine.url.render_as_string(hide_password=False),
        path=Path(path),
        kind="doses",
        settings=settings,
        today=today or clock.today(),
        clock=clock,
        imported_by=imported_by,
        lang=lang,
    )
    if sole_user:
        # Nothing else in this process uses the store: close our connections, import here.
        engine.dispose()
    return run_import(job, on_stage, in_process=sole_user)

"""The ingest front door: import batches, and the bulk-import toolkit other domains build on.

Records and the registry define their kinds of input with this toolkit (columns, parse SQL, a
write step: an `ImportKind`) and run them with `run_import`; linkage reads files and the store
with it. Other domains import ingest only through this module. `ImportBatch` rows are written
only here and by the pipeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vaxlink.ingest import dictmap, reader, sqlnorm
from vaxlink.ingest.checks import (
    Check,
    any_failed_sql,
    raw_hash_sql,
    raw_json_sql,
    reasons_sql,
    values_sql,
)
from vaxlink.ingest.child import Stage, run_bulk_job
from vaxlink.ingest.console import EXIT_QUARANTINED, print_report, stage_progress
from vaxlink.ingest.dictmap import PY_WHITESPACE, SUSPECT_LEGACY
from vaxlink.ingest.errors import FileRejected, SheetNotFound, WorkbookTooLarge
from vaxlink.ingest.headers import ColumnSpec, extra_headers, header_key, match_headers
from vaxlink.ingest.models import BatchKind, ImportBatch, QuarantinedRow
from vaxlink.ingest.pipeline import (
    STAGES,
    ImportJob,
    ImportKind,
    ImportReport,
    Lang,
    RowProblem,
    WriteCounts,
    run_import,
)
from vaxlink.ingest.sniff import file_kind, sniff_delimiter
from vaxlink.ingest.store import (
    BulkConnection,
    backend_of,
    bulk_connection,
    indexes_rebuilt,
    read_ahead,
)
from vaxlink.ingest.xlsx import read_sheet_rows


def open_batch(
    session: Session,
    *,
    kind: BatchKind,
    file_name: str,
    file_kind: str,
    imported_by: str,
    now: dt.datetime,
) -> ImportBatch:
    """The batch of that name and file kind, made (empty) on first use; rows come in one at a
    time through `take_row` (doses entered on the web: one batch per site and day)."""
    found = session.scalars(
        select(ImportBatch)
        .where(ImportBatch.file_kind == file_kind, ImportBatch.file_name == file_name)
        .order_by(ImportBatch.id)
        .limit(1)
    ).first()
    if found is not None:
        return found
    batch = ImportBatch(
        kind=kind.value,
        file_name=file_name,
        file_sha256=hashlib.sha256(file_name.encode()).hexdigest(),
        file_kind=file_kind,
        rows_read=0,
        rows_imported=0,
        rows_unchanged=0,
        rows_quarantined=0,
        imported_by=imported_by,
        started_at=now,
    )
    session.add(batch)
    session.flush()
    return batch


def take_row(session: Session, batch: ImportBatch, now: dt.datetime) -> int:
    """The batch's next source row, counted as read and imported, taken atomically (two clerks
    never share one)."""
    row = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id)
        .values(
            rows_read=ImportBatch.rows_read + 1,
            rows_imported=ImportBatch.rows_imported + 1,
            finished_at=now,
        )
        .returning(ImportBatch.rows_read)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.expire(batch)
    return int(row)


__all__ = [
    "EXIT_QUARANTINED",
    "PY_WHITESPACE",
    "STAGES",
    "SUSPECT_LEGACY",
    "BatchKind",
    "BulkConnection",
    "Check",
    "ColumnSpec",
    "FileRejected",
    "ImportBatch",
    "ImportJob",
    "ImportKind",
    "ImportReport",
    "Lang",
    "QuarantinedRow",
    "RowProblem",
    "SheetNotFound",
    "Stage",
    "WorkbookTooLarge",
    "WriteCounts",
    "any_failed_sql",
    "backend_of",
    "bulk_connection",
    "dictmap",
    "extra_headers",
    "file_kind",
    "header_key",
    "indexes_rebuilt",
    "match_headers",
    "open_batch",
    "print_report",
    "raw_hash_sql",
    "raw_json_sql",
    "read_ahead",
    "read_sheet_rows",
    "reader",
    "reasons_sql",
    "run_bulk_job",
    "run_import",
    "sniff_delimiter",
    "sqlnorm",
    "stage_progress",
    "take_row",
    "values_sql",
]

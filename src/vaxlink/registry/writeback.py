"""Write-back: each citizen's verified vaccination status, sent to the population registry.

The registry is keyed by CCCD, so a row carries the citizen ID and the status only (doses
verified, last dose date, vaccine codes, fully vaccinated, the active certificate's UVCI and
validity), never a name or a birthday (docs/formats.md §6).

A run is set-based: the verified doses, the active vaccination certificates and the watermark
are read from the store into DuckDB (Arrow, one query each), the statuses are computed and
compared there, and the batch's rows go back to the store in one bulk insert. Nothing loops over
citizens in Python.

Idempotent:
- A batch has an id and its rows are kept (`registry_export_row`): a re-send (after a failure, or
  `resend`) carries the same rows, the same content digest, the same chunks and the same
  idempotency keys.
- The watermark (`registry_export_state`) holds each citizen's status as the registry last
  acknowledged it (a digest). An incremental batch holds only the citizens whose status differs
  from it (dose rows carry no change time, so the content is compared, not a timestamp); a full
  batch holds every citizen with a status. A citizen whose doses are no longer verified gets a
  row with zero doses, so the registry learns that too.
- While a batch is pending (made, not yet acknowledged), no new batch is made: the next run sends
  the pending one first. The watermark moves only when the sink has acknowledged a batch, in the
  same transaction as the audit entry.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink import duck
from vaxlink.clock import Clock
from vaxlink.db import transaction
from vaxlink.ingest.service import BulkConnection, bulk_connection, run_bulk_job
from vaxlink.registry.errors import WriteBackError
from vaxlink.registry.models import ExportBatch, ExportRow
from vaxlink.settings import Settings

#: The file contract's name and version (docs/formats.md §6), in every manifest and HTTP chunk.
FORMAT: Final = "vaxlink-vaccination-status/1"
#: The campaign rule `fully_vaccinated` follows (docs/formats.md §6).
FULL_RULE: Final = "primary-series-v1"
#: Rows per HTTP chunk unless a run says otherwise.
CHUNK_ROWS: Final = 5000
#: The columns of a status row, in file order (docs/formats.md §6).
COLUMNS: Final = (
    "citizen_id", "as_of", "doses_verified", "last_dose_date", "vaccine_codes",
    "fully_vaccinated", "certificate_uvci", "certificate_valid_from", "certificate_valid_until",
)  # fmt: skip
_STATUS = COLUMNS[2:]
_NULLABLE = ("last_dose_date", "vaccine_codes", "certificate_uvci", "certificate_valid_from",
             "certificate_valid_until")  # fmt: skip


class Mode:
    """What a batch holds."""

    FULL: Final = "full"
    INCREMENTAL: Final = "incremental"


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as recorded: what the sinks put in a manifest or a chunk's envelope."""

    batch_id: str
    mode: str
    as_of: str
    row_count: int
    content_sha256: str
    chunk_rows: int


class StatusSink(Protocol):
    """Where a batch goes: the file drop or the registry's HTTP endpoint."""

    #: `file` or `http` (recorded on the batch when acknowledged).
    kind: str

    def deliver(self, batch: Batch, rows: pa.Table) -> dict[str, Any]:
        """Hand the batch over; return what to audit (ids, counts, digests: no personal data).
        Raise `RegistryUnavailable` when it may work later, `WriteBackError` when it will not."""
        ...


#: Audits one step in the caller's transaction: (session, action, batch id, detail).
Audit = Callable[[Session, str, str, dict[str, Any]], None]


@dataclass
class SentBatch:
    """One batch a run delivered."""

    batch: Batch
    resumed: bool
    detail: dict[str, Any]


#: The state of an acknowledged batch whose rows the retention removed (its header stays).
PRUNED: Final = "pruned"


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a retention pass removed: the batches whose rows went, and how many rows."""

    batch_ids: tuple[str, ...]
    rows: int


@dataclass
class WriteBackReport:
    """What a run did: the batches delivered (a pending one first), and the citizens compared."""

    sent: list[SentBatch] = field(default_factory=list)
    citizens_with_status: int = 0
    unchanged: int = 0
    #: Rows of old acknowledged batches removed after this run (retention), if any.
    pruned: Pruned | None = None


def new_batch_id(now: dt.datetime) -> str:
    """`wb-` + the UTC time + 8 random hex digits: sortable, unique, no personal data."""
    return f"wb-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso_sql(dialect: str, column: str) -> str:
    """An instant column as ISO-8601 UTC text `YYYY-MM-DDTHH:MM:SSZ`, in the store's SQL."""
    if dialect == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column})"


def _read_sources(bulk: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """Register `doses`, `certs` and `acked` in DuckDB: one Arrow query each."""
    from vaxlink.certificates.service import APPROVABLE, CertificateKind, CertificateStatus
    from vaxlink.records.service import catalogue

    statuses = " OR ".join(f"status = '{s}'" for s in APPROVABLE)
    con.register("doses_in", bulk.arrow(
        "SELECT citizen_id, vaccination_date, vaccine_key, vaccine_mp, dose_category "
        f"FROM dose_record WHERE ({statuses}) AND citizen_id IS NOT NULL"))  # fmt: skip
    con.register("certs_in", bulk.arrow(
        f"SELECT citizen_id, uvci, {_iso_sql(bulk.dialect, 'iat')} AS valid_from, "
        f"{_iso_sql(bulk.dialect, 'exp')} AS valid_until FROM certificate "
        f"WHERE kind = '{CertificateKind.VACCINATION.value}' "
        f"AND status = '{CertificateStatus.ACTIVE.value}'"))  # fmt: skip
    con.register("acked_in", bulk.arrow(
        "SELECT citizen_id, content_hash FROM registry_export_state"))  # fmt: skip
    products = pa.table({
        "key": [v.key for v in catalogue().values()],
        "primary_doses": pa.array([v.primary_doses for v in catalogue().values()], pa.int32()),
    })  # fmt: skip
    con.register("products", products)
    # Typed once here: an empty result from SQLite has no column types to go by.
    con.execute("""
        CREATE TEMP TABLE doses AS SELECT CAST(citizen_id AS VARCHAR) AS citizen_id,
            CAST(CAST(vaccination_date AS VARCHAR) AS DATE) AS d,
            CAST(vaccine_key AS VARCHAR) AS vaccine_key, CAST(vaccine_mp AS VARCHAR) AS mp,
            CAST(dose_category AS VARCHAR) AS category FROM doses_in;
        CREATE TEMP TABLE certs AS SELECT CAST(citizen_id AS VARCHAR) AS citizen_id,
            CAST(uvci AS VARCHAR) AS uvci, CAST(valid_from AS VARCHAR) AS valid_from,
            CAST(valid_until AS VARCHAR) AS valid_until FROM certs_in;
        CREATE TEMP TABLE acked AS SELECT CAST(citizen_id AS VARCHAR) AS citizen_id,
            CAST(content_hash AS VARCHAR) AS content_hash FROM acked_in;
    """)  # fmt: skip
    for name in ("doses_in", "certs_in", "acked_in"):
        con.unregister(name)


#: Each citizen's status now: doses counted once a day (a dose entered twice is one dose), the
#: product codes sorted, fully vaccinated per FULL_RULE, the active certificate. Citizens the
#: registry was told about whose doses are no longer verified get a row of zero doses.
_CURRENT = """
CREATE TEMP TABLE cur AS
WITH agg AS (
    SELECT d.citizen_id,
           CAST(count(DISTINCT d.d) AS INTEGER) AS doses_verified,
           strftime(max(d.d), '%Y-%m-%d') AS last_dose_date,
           array_to_string(list_sort(list_distinct(list(d.mp))), ';') AS vaccine_codes,
           count(DISTINCT CASE WHEN d.category = 'primary' THEN d.d END) AS primary_days,
           min(CASE WHEN d.category = 'primary' THEN p.primary_doses END) AS primary_needed
    FROM doses d LEFT JOIN products p ON p.key = d.vaccine_key
    GROUP BY d.citizen_id),
who AS (
    SELECT citizen_id FROM agg UNION SELECT citizen_id FROM certs
    UNION SELECT citizen_id FROM acked),
s AS (
    SELECT w.citizen_id, coalesce(a.doses_verified, 0) AS doses_verified, a.last_dose_date,
           nullif(a.vaccine_codes, '') AS vaccine_codes,
           CASE WHEN a.primary_needed IS NOT NULL AND a.primary_days >= a.primary_needed
                THEN 'yes' ELSE 'no' END AS fully_vaccinated,
           c.uvci AS certificate_uvci, c.valid_from AS certificate_valid_from,
           c.valid_until AS certificate_valid_until
    FROM who w LEFT JOIN agg a USING (citizen_id) LEFT JOIN certs c USING (citizen_id))
SELECT s.*, md5(concat_ws('|', citizen_id, doses_verified, coalesce(last_dose_date, ''),
                          coalesce(vaccine_codes, ''), fully_vaccinated,
                          coalesce(certificate_uvci, ''), coalesce(certificate_valid_from, ''),
                          coalesce(certificate_valid_until, ''))) AS content_hash
FROM s
"""


def _canonical_digest(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SHA-256 of `table`'s rows as canonical CSV lines (COLUMNS, `,`-separated, empty for
    none, `\\n`-terminated, citizen_id order): the same digest however the rows travel."""
    cols = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in COLUMNS)
    digest = duck.scalar(con, f"SELECT sha256(coalesce(string_agg(concat_ws(',', {cols}) || "
                              f"chr(10), '' ORDER BY citizen_id), '')) FROM {table}")  # fmt: skip
    return str(digest)


def _lock(bulk: BulkConnection) -> None:
    """One write-back at a time (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    if bulk.dialect == "postgresql":
        bulk.execute("SELECT pg_advisory_xact_lock(hashtext('vaxlink.registry.write_back'))")


def _batches(bulk: BulkConnection, where: str, params: tuple[Any, ...] = ()) -> list[Batch]:
    t = bulk.arrow("SELECT batch_id, mode, as_of, row_count, content_sha256, chunk_rows "
                   f"FROM registry_export_batch WHERE {where} ORDER BY batch_id",
                   params or None)  # fmt: skip
    return [Batch(str(r["batch_id"]), str(r["mode"]), str(r["as_of"]), int(r["row_count"]),
                  str(r["content_sha256"]), int(r["chunk_rows"])) for r in t.to_pylist()]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Prepared:
    """The batch to send now (None when nothing changed), its rows, and the comparison's counts."""

    batch: Batch | None
    rows: pa.Table | None
    resumed: bool
    citizens_with_status: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class _Job:
    """A bulk step's inputs (plain data: SQLite runs it in a child process, see
    `vaxlink.ingest.child`)."""

    url: str
    mode: str = Mode.INCREMENTAL
    now: dt.datetime | None = None
    by: str = ""
    chunk_rows: int = CHUNK_ROWS
    batch_id: str | None = None
    memory_limit: str = "1GB"
    threads: int = 2


def _job(engine: Engine, settings: Settings | None, **kw: Any) -> _Job:
    s = settings or Settings()
    return _Job(url=engine.url.render_as_string(hide_password=False),
                memory_limit=s.duckdb_memory_limit, threads=int(s.duckdb_threads), **kw)  # fmt: skip


def _duck(job: _Job) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{job.memory_limit}'")
    con.execute(f"SET threads = {int(job.threads)}")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/vaxlink-duckdb'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # a scheduled job's log is no terminal
    return con


def prepare(
    engine: Engine, *, mode: str, now: dt.datetime, by: str, settings: Settings | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Prepared:  # fmt: skip
    """The pending batch if there is one; else a new batch of the statuses that changed (or of
    all of them, `mode` full), recorded with its rows; no batch when nothing changed."""
    if mode not in (Mode.FULL, Mode.INCREMENTAL):
        raise ValueError(f"unknown write-back mode {mode!r}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    job = _job(engine, settings, mode=mode, now=now, by=by, chunk_rows=chunk_rows)
    return run_bulk_job(_prepare, job, preload=_PRELOAD)


_PRELOAD: Final = ("vaxlink.registry.writeback",)


def _prepare(job: _Job, _stage: Callable[[str], None]) -> Prepared:
    assert job.now is not None
    with bulk_connection(job.url) as bulk:
        _lock(bulk)
        pending = _batches(bulk, "state = 'pending'")
        if pending:
            return Prepared(pending[0], _rows(bulk, job, pending[0]), resumed=True)
        con = _duck(job)
        try:
            _read_sources(bulk, con)
            con.execute(_CURRENT)
            with_status = int(duck.scalar(con, "SELECT count(*) FROM cur WHERE doses_verified > 0 "
                                               "OR certificate_uvci IS NOT NULL") or 0)  # fmt: skip
            where = (
                "" if job.mode == Mode.FULL
                else "WHERE a.content_hash IS DISTINCT FROM c.content_hash"
            )  # fmt: skip
            as_of = f"{job.now.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
            con.execute(
                f"CREATE TEMP TABLE out AS SELECT c.citizen_id, CAST($as_of AS VARCHAR) AS as_of, "
                f"{', '.join('c.' + x for x in _STATUS)}, c.content_hash "
                f"FROM cur c LEFT JOIN acked a USING (citizen_id) {where} ORDER BY c.citizen_id",
                {"as_of": as_of},
            )
            rows = int(duck.scalar(con, "SELECT count(*) FROM out") or 0)
            total = int(duck.scalar(con, "SELECT count(*) FROM cur") or 0)
            if rows == 0:
                return Prepared(None, None, resumed=False, citizens_with_status=with_status,
                                unchanged=total)  # fmt: skip
            batch = Batch(new_batch_id(job.now), job.mode, as_of, rows,
                          _canonical_digest(con, "out"), job.chunk_rows)  # fmt: skip
            _record(bulk, con, batch, now=job.now, by=job.by)
        finally:
            con.close()
        unchanged = total - rows if job.mode == Mode.INCREMENTAL else 0
        return Prepared(batch, _rows(bulk, job, batch), resumed=False,
                        citizens_with_status=with_status, unchanged=unchanged)  # fmt: skip


def _record(
    bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch: Batch, *, now: dt.datetime,
    by: str,
) -> None:  # fmt: skip
    p = bulk.p
    bulk.execute(
        "INSERT INTO registry_export_batch (batch_id, mode, as_of, row_count, content_sha256, "
        f"chunk_rows, state, created_at, created_by) VALUES ({p(1)}, {p(2)}, {p(3)}, {p(4)}, "
        f"{p(5)}, {p(6)}, 'pending', {bulk.timestamp(7)}, {p(8)})",
        (batch.batch_id, batch.mode, batch.as_of, batch.row_count, batch.content_sha256,
         batch.chunk_rows, _utc_text(now), by),
    )  # fmt: skip
    cols = ["batch_id", "citizen_id", "content_hash", *_STATUS]
    rows = con.sql(
        f"SELECT CAST($b AS VARCHAR) AS batch_id, citizen_id, content_hash, "
        f"{', '.join(_STATUS)} FROM out ORDER BY citizen_id",
        params={"b": batch.batch_id},
    )
    bulk.ingest("registry_export_row", rows.select(*cols).to_arrow_reader(100_000),
                temporary=False)  # fmt: skip


def _rows(bulk: BulkConnection, job: _Job, batch: Batch) -> pa.Table:
    """A recorded batch's rows, read back from the store, in COLUMNS order by citizen_id;
    refused when they no longer give the batch's digest (a re-send is the same content, or
    nothing)."""
    # Empty text for none: SQLite's driver types a column by its first rows.
    cols = ", ".join(f"coalesce({c}, '') AS {c}" if c in _NULLABLE else c
                     for c in ("citizen_id", *_STATUS))  # fmt: skip
    raw = bulk.arrow(f"SELECT {cols} FROM registry_export_row WHERE batch_id = {bulk.p(1)}",
                     (batch.batch_id,))  # fmt: skip
    con = _duck(job)
    try:
        con.register("raw", raw)
        select = ", ".join(
            "CAST($as_of AS VARCHAR) AS as_of" if c == "as_of"
            else f"CAST(doses_verified AS INTEGER) AS {c}" if c == "doses_verified"
            else f"nullif(CAST({c} AS VARCHAR), '') AS {c}" if c in _NULLABLE
            else f"CAST({c} AS VARCHAR) AS {c}"
            for c in COLUMNS
        )  # fmt: skip
        con.execute(f"CREATE TEMP TABLE out AS SELECT {select} FROM raw ORDER BY citizen_id",
                    {"as_of": batch.as_of})  # fmt: skip
        digest = _canonical_digest(con, "out")
        table = con.sql("SELECT * FROM out ORDER BY citizen_id").to_arrow_table()
    finally:
        con.close()
    if digest != batch.content_sha256 or table.num_rows != batch.row_count:
        raise WriteBackError(f"write-back batch {batch.batch_id} no longer matches its digest")
    return table


def _load(job: _Job, _stage: Callable[[str], None]) -> tuple[Batch, pa.Table]:
    with bulk_connection(job.url) as bulk:
        found = _batches(bulk, f"batch_id = {bulk.p(1)}", (job.batch_id,))
        if not found:
            raise WriteBackError(f"no write-back batch {job.batch_id!r} is recorded")
        if _batches(bulk, f"batch_id = {bulk.p(1)} AND state = '{PRUNED}'", (job.batch_id,)):
            raise WriteBackError(
                f"write-back batch {job.batch_id} was acknowledged and its rows removed after "
                "the retention period (VAXLINK_REGISTRY_WRITE_BACK_KEEP_DAYS); to give the "
                "registry every status again, run `vaxlink registry write-back --full`"
            )
        return found[0], _rows(bulk, job, found[0])


def recorded_batch(
    engine: Engine, batch_id: str, *, settings: Settings | None = None
) -> tuple[Batch, pa.Table]:
    """A recorded batch and its rows, exactly as recorded (checked against its digest)."""
    return run_bulk_job(_load, _job(engine, settings, batch_id=batch_id), preload=_PRELOAD)


def acknowledge(
    engine: Engine, batch: Batch, *, target: str, now: dt.datetime, audit: Audit,
    detail: dict[str, Any],
) -> bool:  # fmt: skip
    """Move the watermark to a delivered pending batch and audit it, in one transaction; False
    when the batch was acknowledged before (a re-send moves nothing)."""
    with transaction(engine) as s:
        done = (
            s.scalar(
                update(ExportBatch)
                .where(ExportBatch.batch_id == batch.batch_id, ExportBatch.state == "pending")
                .values(state="acknowledged", acknowledged_at=now, target=target)
                .returning(ExportBatch.batch_id)
            )
            is not None
        )
        if done:
            s.execute(text("DELETE FROM registry_export_state WHERE citizen_id IN "
                           "(SELECT citizen_id FROM registry_export_row WHERE batch_id = :b)"),
                      {"b": batch.batch_id})  # fmt: skip
            s.execute(text("INSERT INTO registry_export_state (citizen_id, content_hash, batch_id) "
                           "SELECT citizen_id, content_hash, batch_id FROM registry_export_row "
                           "WHERE batch_id = :b"), {"b": batch.batch_id})  # fmt: skip
        audit(s, "registry.write_back" if done else "registry.write_back_resend", batch.batch_id,
              {**_summary(batch), **detail, "target": target})  # fmt: skip
    return bool(done)


def prune(engine: Engine, *, keep_days: int, now: dt.datetime, audit: Audit) -> Pruned:
    """Remove the rows of batches acknowledged more than `keep_days` ago, in one transaction
    with its audit entry. The latest acknowledged batch keeps its rows whatever its age (the
    one a registry is most likely to ask again); headers stay (id, count, digest, dates), and
    so does the watermark, which holds its own digests: the next incremental batch is the
    same with or without the pruned rows. A pruned batch cannot be re-sent: `resend` says so."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cutoff = now - dt.timedelta(days=keep_days)
    acked = ExportBatch.state == "acknowledged"
    with transaction(engine) as s:
        latest = s.scalar(select(func.max(ExportBatch.batch_id)).where(acked))
        ids = tuple(s.scalars(
            select(ExportBatch.batch_id)
            .where(acked, ExportBatch.acknowledged_at < cutoff, ExportBatch.batch_id != latest)
            .order_by(ExportBatch.batch_id)))  # fmt: skip
        if not ids:
            return Pruned((), 0)
        rows = 0
        for i in range(0, len(ids), 500):  # bound the IN list
            part = ids[i : i + 500]
            rows += s.execute(delete(ExportRow).where(ExportRow.batch_id.in_(part))).rowcount or 0  # type: ignore[attr-defined]
            s.execute(update(ExportBatch).where(ExportBatch.batch_id.in_(part))
                      .values(state=PRUNED))  # fmt: skip
        audit(s, "registry.write_back_prune", ids[-1],
              {"batches": len(ids), "rows": rows, "keep_days": keep_days,
               "acknowledged_before": cutoff.isoformat(), "first": ids[0], "last": ids[-1]})  # fmt: skip
    return Pruned(ids, rows)


def _summary(batch: Batch) -> dict[str, Any]:
    return {"mode": batch.mode, "as_of": batch.as_of, "rows": batch.row_count,
            "content_sha256": batch.content_sha256}  # fmt: skip


def write_back(
    engine: Engine,
    sink: StatusSink,
    *,
    mode: str,
    clock: Clock,
    by: str,
    audit: Audit,
    settings: Settings | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> WriteBackReport:
    """Send the pending batch if one waits, then the statuses changed since the last
    acknowledged batch (every status, `mode` full). A failed delivery is audited and raised; its
    batch stays pending, and the next run sends it again, the same content with the same keys."""
    report = WriteBackReport()
    for _ in range(2):  # a pending batch first, then a new one
        prepared = prepare(engine, mode=mode, now=clock.now(), by=by, settings=settings,
                           chunk_rows=chunk_rows)  # fmt: skip
        if not prepared.resumed:
            report.citizens_with_status = prepared.citizens_with_status
            report.unchanged = prepared.unchanged
        if prepared.batch is None or prepared.rows is None:
            break
        report.sent.append(_deliver(engine, sink, prepared.batch, prepared.rows, clock=clock,
                                    audit=audit, resumed=prepared.resumed))  # fmt: skip
        if not prepared.resumed:
            break
    if report.sent:
        keep = (settings or Settings()).registry_write_back_keep_days
        report.pruned = prune(engine, keep_days=keep, now=clock.now(), audit=audit)
    return report


def resend(
    engine: Engine, sink: StatusSink, batch_id: str, *, clock: Clock, audit: Audit,
    settings: Settings | None = None,
) -> SentBatch:  # fmt: skip
    """Deliver a recorded batch again, exactly as recorded (the registry dedupes it)."""
    batch, rows = recorded_batch(engine, batch_id, settings=settings)
    return _deliver(engine, sink, batch, rows, clock=clock, audit=audit, resumed=True)


def _deliver(
    engine: Engine, sink: StatusSink, batch: Batch, rows: pa.Table, *, clock: Clock,
    audit: Audit, resumed: bool,
) -> SentBatch:  # fmt: skip
    try:
        detail = sink.deliver(batch, rows)
    except Exception as exc:
        with transaction(engine) as s:
            audit(s, "registry.write_back_failed", batch.batch_id,
                  {**_summary(batch), "target": sink.kind, "error": type(exc).__name__})  # fmt: skip
        raise
    acknowledge(engine, batch, target=sink.kind, now=clock.now(), audit=audit,
                detail={**detail, "resumed": resumed})  # fmt: skip
    return SentBatch(batch, resumed, detail)


def pending_batches(engine: Engine) -> Sequence[str]:
    """Ids of batches made and not yet acknowledged (at most one)."""
    with transaction(engine) as s:
        return [str(b) for b in s.scalars(text(
            "SELECT batch_id FROM registry_export_batch WHERE state = 'pending'"))]  # fmt: skip

"""`verify_store`: link the store's pending doses to its registry and write the decisions back.

The registry and the pending doses leave the store as Arrow through ADBC (docs/formats.md §1 and §2
columns; a dose is described by its `raw_*` values, exactly as the site sent them, except identity
fields a person corrected, which are read from the corrected column), are linked
by `link_tables` on DuckDB, and come back in one transaction: the decisions go to a staging
table, one `UPDATE … FROM` (records' `apply_link_decisions`, along the dose status transition
table) sets status, citizen and a new `version` of the doses that are still pending at the
version that was read, and `dose_link` and `link_run` record the evidence.

So a run is incremental (only `pending` doses go in), never overwrites a decision a person or
another run made meanwhile (the version check), leaves nothing behind when it fails (one
transaction) and, run again with nothing new, changes nothing. On SQLite the ADBC work runs in a
child process (`vaxlink.ingest.child`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy import inspect

from vaxlink.clock import Clock
from vaxlink.db import make_engine
from vaxlink.ingest.service import BulkConnection, Stage, bulk_connection, run_bulk_job
from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.errors import LinkageError
from vaxlink.linkage.model import MODEL_NAME, LinkModel
from vaxlink.linkage.pipeline import STAGES, LinkSettings, LinkStats, link_tables
from vaxlink.records.service import RAW_FIELDS, DoseStatus, apply_link_decisions
from vaxlink.settings import Settings

#: The stages `on_stage` is told about, in order.
VERIFY_STAGES = ("reading store", *STAGES, "writing")
#: Decided statuses, in the order reports show them.
DECIDED = tuple(s.value for s in DoseStatus if s is not DoseStatus.PENDING)
_TABLES = ("link_run", "dose_link")
_REGISTRY_SQL = (
    "SELECT citizen_id, full_name, date_of_birth, sex, province_code, district_code, ward_code, "
    "old_id, phone FROM citizen"
)
#: Identity fields a person may correct (`cleaning`): once corrected, the dose is linked by the
#: corrected value (kept in the parsed column, a form the linkage reads), not the raw one.
CORRECTABLE = ("full_name", "date_of_birth", "sex", "id_number")


def _dose_column(name: str) -> str:
    if name not in CORRECTABLE:
        return f"d.raw_{name} AS {name}"
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM dose_correction c WHERE c.dose_record_id = d.id "
        f"AND c.field = '{name}') THEN d.{name} ELSE d.raw_{name} END AS {name}"
    )


_DOSES_SQL = (
    "SELECT d.id AS dose_record_id, d.version, d.record_id, "
    + ", ".join(_dose_column(name) for name in RAW_FIELDS)
    + f" FROM dose_record d WHERE d.status = '{DoseStatus.PENDING}' ORDER BY d.id"
)
#: The staged decisions, as they cross from DuckDB to the store.
STAGED = pa.schema(
    [("dose_record_id", pa.int64()), ("version", pa.int64()), ("status", pa.string()),
     ("citizen_id", pa.string()), ("match_probability", pa.float64()),
     ("corrected_fields", pa.string()), ("candidates", pa.string()), ("reason", pa.string()),
     ("rule", pa.string()), ("explanation", pa.string())]
)  # fmt: skip


@dataclass(frozen=True)
class VerifyJob:
    """Everything a run needs; plain data so it can cross into a child process."""

    url: str
    settings: Settings
    model: LinkModel
    today: dt.date
    clock: Clock  # stamps the run's start and end (a FixedClock crosses as a copy)
    explain: bool = True
    started_by: str | None = None


@dataclass
class VerifyReport:
    """What one run did. `run_id` is None when nothing was pending (and nothing was written)."""

    run_id: int | None
    doses_in: int
    written: int
    skipped: int
    registry_size: int
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    model_version: int = 0


def model_digest(model: LinkModel) -> str:
    """SHA-256 of the model's canonical JSON."""
    text = json.dumps(model.to_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def verify_store(
    engine_url: str,
    settings: Settings,
    model: LinkModel,
    on_stage: Stage | None = None,
    *,
    clock: Clock,
    today: dt.date | None = None,
    explain: bool = True,
    started_by: str | None = None,
) -> VerifyReport:
    """Link the store's pending doses against its citizens and write the decisions back; the
    run is stamped by `clock`, whose day is the plausibility checks' unless `today` is given."""
    _require_tables(engine_url)
    job = VerifyJob(
        url=engine_url,
        settings=settings,
        model=model,
        today=today or clock.today(),
        clock=clock,
        explain=explain,
        started_by=started_by,
    )
    return run_bulk_job(_verify, job, on_stage, preload=("vaxlink.linkage.store",))


def _require_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        missing = [t for t in _TABLES if not inspect(engine).has_table(t)]
    finally:
        engine.dispose()
    if missing:
        raise LinkageError(
            f"the store has no table {', '.join(missing)} yet: run `vaxlink db upgrade`"
        )


def _verify(job: VerifyJob, stage: Stage) -> VerifyReport:
    """The run itself (in the child process on SQLite)."""
    started = job.clock.now()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    stage("reading store")
    with bulk_connection(job.url) as bulk:
        doses = _text(bulk.arrow(_DOSES_SQL), ints=("dose_record_id", "version"))
        registry = _text(bulk.arrow(_REGISTRY_SQL)) if doses.num_rows else None
    seconds["reading store"] = round(time.perf_counter() - clock, 2)
    if registry is None:
        return VerifyReport(None, 0, 0, 0, 0, seconds=seconds, model_version=job.model.version)
    engine = DuckDBEngine(settings=job.settings)
    try:
        engine.register_arrow("registry_in", registry)
        engine.register_arrow("doses_in", doses)
        del registry, doses
        stats = LinkStats()
        settings = LinkSettings(today=job.today, explain=job.explain)
        result = link_tables(engine, "registry_in", "doses_in", job.model, settings, stage, stats)
        seconds.update(stats.seconds)
        stage("writing")
        clock = time.perf_counter()
        explanation = "r.explanation" if job.explain else "CAST(NULL AS VARCHAR)"
        decisions = engine.to_batches(
            f"""
            SELECT d.dose_record_id, d.version, r.status, r.citizen_id, r.match_probability,
                   r.corrected_fields, r.candidates, r.reason, r.rule, {explanation} AS explanation
            FROM {result} r JOIN doses_in d ON d.record_id = r.record_id ORDER BY d.dose_record_id
            """
        )
        with bulk_connection(job.url) as bulk:
            report = _write_back(bulk, job, started, _cast(decisions), stats)
        seconds["writing"] = round(time.perf_counter() - clock, 2)
    finally:
        engine.close()
    report.seconds = seconds
    return report


def _text(table: pa.Table, ints: tuple[str, ...] = ()) -> pa.Table:
    """Every column as text (the store's drivers may type an all-NULL column otherwise)."""
    schema = pa.schema([(n, pa.int64() if n in ints else pa.string()) for n in table.column_names])
    return table.cast(schema)


def _cast(batches: Iterable[pa.RecordBatch]) -> pa.RecordBatchReader:
    """The decisions streamed in the staging schema (DuckDB may type an all-NULL column)."""

    def gen() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield pa.Table.from_batches([batch]).select(STAGED.names).cast(STAGED).to_batches()[0]

    return pa.RecordBatchReader.from_batches(STAGED, gen())


def _ts(moment: dt.datetime) -> str:
    """UTC time as text both stores read back through SQLAlchemy."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _write_back(
    bulk: BulkConnection,
    job: VerifyJob,
    started: dt.datetime,
    decisions: pa.RecordBatchReader,
    stats: LinkStats,
) -> VerifyReport:
    """The run's one write transaction (the caller's `bulk_connection`)."""
    p, ts = bulk.p, bulk.timestamp
    run_id = int(
        bulk.scalar(
            "INSERT INTO link_run (started_at, started_by, engine, model_name, model_version, "
            "model_digest, registry_size, doses_in, doses_written, doses_skipped, verified, "
            "auto_linked, review, unmatched, invalid) "
            f"VALUES ({ts(1)}, {p(2)}, 'duckdb', {p(3)}, {p(4)}, {p(5)}, {p(6)}, {p(7)}, "
            "0, 0, 0, 0, 0, 0, 0) RETURNING id",
            (_ts(started), job.started_by, MODEL_NAME, job.model.version, model_digest(job.model),
             stats.registry_rows, stats.dose_rows),
        )
    )  # fmt: skip
    bulk.ingest("stg_link", decisions)
    # Only doses still pending at the version that was read: a decision made meanwhile (by a
    # reviewer, or by another run) stands. The records front door says which ones were decided.
    applied = apply_link_decisions(bulk, "stg_link")
    bulk.ingest("stg_applied", applied.rename_columns(["id"]).cast(pa.schema([("id", pa.int64())])))
    as_json = "CAST({} AS JSONB)" if bulk.dialect == "postgresql" else "{}"
    bulk.execute(
        f"""
        INSERT INTO dose_link (dose_record_id, run_id, status, citizen_id, match_probability,
                               corrected_fields, candidates, reason, rule, explanation, decided_at)
        SELECT s.dose_record_id, {p(1)}, s.status, s.citizen_id, s.match_probability,
               s.corrected_fields, {as_json.format("s.candidates")}, s.reason, s.rule,
               {as_json.format("s.explanation")}, {ts(2)}
        FROM stg_link s JOIN stg_applied a ON a.id = s.dose_record_id
        """,
        (run_id, _ts(job.clock.now())),
    )
    counts = bulk.arrow(
        "SELECT s.status, count(*) AS n FROM stg_link s JOIN stg_applied a "
        "ON a.id = s.dose_record_id GROUP BY s.status"
    )
    statuses = {str(k): int(v) for k, v in zip(*(counts.column(i).to_pylist() for i in (0, 1)),
                                                strict=True)}  # fmt: skip
    written = sum(statuses.values())
    doses_in = int(bulk.scalar("SELECT count(*) FROM stg_link") or 0)
    sets = ", ".join(f"{s} = {p(i)}" for i, s in enumerate(DECIDED, start=4))
    bulk.execute(
        f"UPDATE link_run SET finished_at = {ts(1)}, doses_written = {p(2)}, "
        f"doses_skipped = {p(3)}, {sets} WHERE id = {p(len(DECIDED) + 4)}",
        (_ts(job.clock.now()), written, doses_in - written,
         *(statuses.get(s, 0) for s in DECIDED), run_id),
    )  # fmt: skip
    bulk.execute("DROP TABLE stg_applied")
    bulk.execute("DROP TABLE stg_link")
    return VerifyReport(
        run_id=run_id,
        doses_in=doses_in,
        written=written,
        skipped=doses_in - written,
        registry_size=stats.registry_rows,
        statuses={s: statuses.get(s, 0) for s in DECIDED},
        model_version=job.model.version,
    )

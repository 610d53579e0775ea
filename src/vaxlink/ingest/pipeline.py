"""The shared import pipeline: read → parse and validate in DuckDB → bulk write → quarantine → report.

Every row read ends up imported, recognised as already present, or quarantined with its reasons.
A kind of input (dose records, registry snapshot) supplies its columns, its parse SQL and its write
step as an `ImportKind`. The batch row, the data and the quarantine are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import duckdb

from vaxlink import catalogue, duck
from vaxlink.clock import Clock
from vaxlink.duck import scalar
from vaxlink.files import make_private, private_dir
from vaxlink.ingest import reader, reason_strings, sqlnorm
from vaxlink.ingest.child import run_bulk_job
from vaxlink.ingest.headers import ColumnSpec
from vaxlink.ingest.sniff import file_kind
from vaxlink.ingest.store import BulkConnection, bulk_connection
from vaxlink.settings import Settings
from vaxlink.tabular import sql_inert


class Lang(StrEnum):
    """The languages an import report can be written in (`--lang`; `catalogue.LANGUAGES`)."""

    vi = "vi"
    en = "en"


#: The stages `on_stage` is told about, in order.
STAGES = ("reading", "checking", "writing", "reporting")
#: Columns of DuckDB table `bad` that every parse step fills for rows it refuses. `reasons` are
#: the English messages the quarantine keeps; `args` is the JSON of the row's values that its
#: reason texts name (`checks.values_sql`), from which the report writes them in its language.
BAD_COLUMNS = (
    "_row BIGINT, record_key VARCHAR, raw VARCHAR, codes VARCHAR, reasons VARCHAR, row_hash VARCHAR, "
    "args VARCHAR"
)
#: Where each kind's definition lives (imported by name so a child process can find it).
KINDS = {
    "doses": "vaxlink.records.importer:DOSES",
    "registry": "vaxlink.registry.importer:REGISTRY",
}
#: What the fork server imports once, so each import's child starts quickly.
PRELOAD = ("vaxlink.records.importer", "vaxlink.registry.importer")


@dataclass(frozen=True)
class RowProblem:
    """Why one row was not imported."""

    row: int
    record_key: str | None
    reasons: str
    #: The reasons in the report's language, from the catalogue (`import.reason.<code>`).
    texts: str = ""


@dataclass
class ImportReport:
    """What one import did, for the screen, the CLI and the saved per-row report."""

    batch_id: int
    file_name: str
    file_kind: str
    rows_read: int
    imported: int
    unchanged: int
    quarantined: int
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    report_path: Path | None = None
    reason_counts: dict[str, int] = field(default_factory=dict)
    #: Each counted reason's name in the report's language (`import.reason_label.<code>`).
    reason_labels: dict[str, str] = field(default_factory=dict)
    lang: str = "vi"
    previous_batches: list[int] = field(default_factory=list)
    #: Rows stored with a flag a person should look at (flag code -> rows), e.g. doses dated
    #: after the identity-first rule: stored, not refused, and counted here.
    flags: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Row counts only (no file content): what an audit entry of the import keeps."""
        return {"rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "quarantined": self.quarantined}  # fmt: skip


@dataclass(frozen=True)
class WriteCounts:
    """Rows inserted, rows updated in place (registry only) and rows already identical."""

    imported: int
    unchanged: int
    updated: int = 0
    flags: dict[str, int] = field(default_factory=dict)


Parse = Callable[[duckdb.DuckDBPyConnection, dt.date], None]
Write = Callable[[BulkConnection, duckdb.DuckDBPyConnection, int], WriteCounts]


@dataclass(frozen=True)
class ImportKind:
    """One kind of input: its file contract, its parse step and its write step."""

    name: str
    columns: Sequence[ColumnSpec]
    parse: Parse
    write: Write


@dataclass(frozen=True)
class ImportJob:
    """Everything the bulk phase needs; plain data so it can cross into a child process."""

    url: str
    path: Path
    kind: str
    settings: Settings
    today: dt.date
    clock: Clock  # stamps the batch's start and end (a FixedClock crosses as a copy)
    imported_by: str | None
    max_problems_shown: int = 50
    #: The language of the report's reasons (CSV column `reason_texts`, console).
    lang: str = "vi"
    #: (code, text, label) of every reason in `lang`, resolved by `run_import` in the calling
    #: process (installed translations included), so a child process needs no catalogue.
    reason_texts: tuple[tuple[str, str, str], ...] = ()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_import(
    job: ImportJob, on_stage: Callable[[str], None] | None = None, *, in_process: bool = False
) -> ImportReport:
    """Import one file end to end.

    On SQLite the bulk phase runs in a child process (see `store.py`), unless `in_process`: the
    caller then promises that this process has no connection open to the store through Python's
    sqlite3 while the import runs (a command that disposed its engine), which saves starting a
    process with DuckDB and Arrow in it (about half a second).
    """
    stage = on_stage or (lambda _name: None)
    if not job.reason_texts:
        job = replace(job, reason_texts=reason_table(job.lang))
    file_kind(job.path)  # refuse missing, empty or disguised files before anything else
    if in_process:
        return _run(job, stage)
    # On SQLite `run_bulk_job` runs `_run` in a fork-server child; elsewhere right here.
    return run_bulk_job(_run, job, stage, preload=PRELOAD)


def _kind(name: str) -> ImportKind:
    module, attr = KINDS[name].split(":")
    kind: ImportKind = getattr(importlib.import_module(module), attr)
    return kind


def _run(job: ImportJob, stage: Callable[[str], None]) -> ImportReport:
    kind = _kind(job.kind)
    stage("reading")
    digest = sha256_file(job.path)
    started = job.clock.now()
    con = duck.connect(job.settings)
    con.execute(f"SET memory_limit = '{job.settings.import_memory_limit}'")
    try:
        sqlnorm.install(con)
        loaded = reader.load(con, job.path, kind.columns)
        con.execute(f"CREATE TABLE bad ({BAD_COLUMNS})")
        con.execute(
            "INSERT INTO bad SELECT _row, NULL, to_json({'line': _raw}), 'unreadable_row', _reason, "
            "md5(coalesce(_raw, '')), NULL FROM src_rejects"
        )
        stage("checking")
        kind.parse(con, job.today)
        stage("writing")
        with bulk_connection(job.url) as bulk:
            previous = (
                bulk.arrow(
                    f"SELECT id FROM import_batch WHERE kind = {bulk.p(1)} AND file_sha256 = {bulk.p(2)} "
                    "ORDER BY id",
                    (kind.name, digest),
                )
                .column(0)
                .to_pylist()
            )
            batch_id = int(
                bulk.scalar(
                    "INSERT INTO import_batch (kind, file_name, file_sha256, file_kind, rows_read, "
                    "rows_imported, rows_unchanged, rows_quarantined, imported_by, started_at) "
                    f"VALUES ({bulk.p(1)}, {bulk.p(2)}, {bulk.p(3)}, {bulk.p(4)}, {bulk.p(5)}, "
                    f"0, 0, 0, {bulk.p(6)}, {bulk.timestamp(7)}) RETURNING id",
                    (kind.name, job.path.name, digest, loaded.kind, loaded.rows_read,
                     job.imported_by, _ts(started)),
                )
            )  # fmt: skip
            counts = kind.write(bulk, con, batch_id)
            quarantined = _quarantine(bulk, con, kind.name, batch_id, digest)
            bulk.execute(
                f"UPDATE import_batch SET rows_imported = {bulk.p(1)}, rows_unchanged = {bulk.p(2)}, "
                f"rows_quarantined = {bulk.p(3)}, finished_at = {bulk.timestamp(4)} "
                f"WHERE id = {bulk.p(5)}",
                (counts.imported + counts.updated, counts.unchanged, quarantined,
                 _ts(job.clock.now()), batch_id),
            )  # fmt: skip
        stage("reporting")
        report = ImportReport(
            batch_id=batch_id,
            file_name=job.path.name,
            file_kind=loaded.kind,
            rows_read=loaded.rows_read,
            imported=counts.imported,
            unchanged=counts.unchanged,
            quarantined=quarantined,
            updated=counts.updated,
            previous_batches=[int(b) for b in previous],
            flags=dict(counts.flags),
        )
        report.lang = job.lang
        _attach_problems(con, report, job.settings, job.max_problems_shown, job.reason_texts)
        return report
    finally:
        con.close()


def _ts(moment: dt.datetime) -> str:
    """UTC time as text both stores read back through SQLAlchemy."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _quarantine(
    bulk: BulkConnection, con: duckdb.DuckDBPyConnection, kind: str, batch_id: int, digest: str
) -> int:
    """Store the refused rows; the same row of the same file is stored once however often it comes."""
    n = int(scalar(con, "SELECT count(*) FROM bad") or 0)
    if not n:
        return 0
    data = con.sql(
        "SELECT CAST(_row AS BIGINT) AS source_row, record_key, raw, codes, reasons, "
        "md5($digest || ':' || CAST(_row AS VARCHAR) || ':' || row_hash) AS row_hash "
        "FROM bad ORDER BY _row",
        params={"digest": digest},
    ).to_arrow_table()
    bulk.ingest("stg_bad", data)
    bulk.execute(
        f"""
        INSERT INTO quarantined_row
            (kind, batch_id, source_row, record_key, raw, reason_codes, reasons, row_hash)
        SELECT {bulk.p(1)}, {bulk.p(2)}, source_row, record_key, raw, codes, reasons, row_hash
        FROM stg_bad WHERE true
        ON CONFLICT (kind, row_hash) DO NOTHING
        """,
        (kind, batch_id),
    )
    bulk.execute("DROP TABLE stg_bad")
    return n


def reason_table(lang: str) -> tuple[tuple[str, str, str], ...]:
    """(code, text, label) of every reason code in `lang`: the installed translation, else the
    catalogue's (`vaxlink.ingest.reason_strings`)."""
    if lang not in catalogue.LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(catalogue.LANGUAGES)}")
    table = reason_strings.STRINGS
    return tuple(
        (code, catalogue.text_in(table, lang, reason_strings.TEXT + code),
         catalogue.text_in(table, lang, reason_strings.LABEL + code))
        for code in reason_strings.CODES
    )  # fmt: skip


#: Stands for "{" in a row's value while the placeholders are filled, so a value that looks like
#: a placeholder (a name written "{count}") is never filled in turn.
_BRACE = "chr(57344)"


def _reason_texts(con: duckdb.DuckDBPyConnection, texts: Sequence[tuple[str, str, str]]) -> None:
    """Table `bad_texts`(k, texts): each row of `bad` (k = its rowid) with its reasons in the
    report's language, '; '-joined in the order of its codes: the code's text joined from table
    `reason_text` and its `{placeholders}` filled from the row's `args` (set-based; a code
    without a text is shown as the code)."""
    con.execute("CREATE OR REPLACE TABLE reason_text (code VARCHAR, text VARCHAR, label VARCHAR)")
    con.executemany("INSERT INTO reason_text VALUES (?, ?, ?)", list(texts))
    names = sorted({n for _c, text, _l in texts for n in placeholders(text)})
    filled = "t.text"
    for name in names:
        value = f"replace(u.v.\"{name}\", '{{', {_BRACE})"
        filled = f"replace({filled}, '{{{name}}}', coalesce({value}, ''))"
    # the row's JSON read once into a struct of the names the texts use
    shape = "{" + ", ".join(f'"{n}": "VARCHAR"' for n in names) + "}"
    values = f"json_transform(args, '{shape}')" if names else "NULL"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bad_texts AS
        WITH u AS (
            SELECT rowid AS k, {values} AS v, unnest(string_split(codes, ';')) AS code,
                   generate_subscripts(string_split(codes, ';'), 1) AS i
            FROM bad)
        SELECT u.k, string_agg(replace(coalesce({filled}, u.code), {_BRACE}, '{{'), '; '
                               ORDER BY u.i) AS texts
        FROM u LEFT JOIN reason_text t ON t.code = u.code
        GROUP BY u.k
        """
    )


def placeholders(text: str) -> set[str]:
    """The `{name}`s of a reason text."""
    return set(re.findall(r"\{(\w+)\}", text))


def _attach_problems(
    con: duckdb.DuckDBPyConnection,
    report: ImportReport,
    settings: Settings,
    limit: int,
    texts: Sequence[tuple[str, str, str]],
) -> None:
    _reason_texts(con, texts)
    rows = con.sql(
        "SELECT b._row, b.record_key, b.reasons, coalesce(x.texts, '') FROM bad b "
        "LEFT JOIN bad_texts x ON x.k = b.rowid ORDER BY b._row LIMIT $n",
        params={"n": limit},
    ).fetchall()
    report.problems = [RowProblem(int(r), k, why, text) for r, k, why, text in rows]
    counts = con.sql(
        "SELECT c.code, count(*) AS n, any_value(coalesce(t.label, c.code)) "
        "FROM (SELECT unnest(string_split(codes, ';')) AS code FROM bad) c "
        "LEFT JOIN reason_text t ON t.code = c.code GROUP BY c.code ORDER BY n DESC, c.code"
    ).fetchall()
    report.reason_counts = {str(c): int(n) for c, n, _label in counts}
    report.reason_labels = {str(c): str(label) for c, _n, label in counts}
    if report.quarantined:
        out = settings.data_dir / "import-reports" / f"batch-{report.batch_id}-problems.csv"
        private_dir(out.parent)  # 0700: nobody else can open the report while it is written
        # Every text cell inert (a record key of `=HYPERLINK(...)` is shown, never run). The
        # columns before `reason_texts` are the report's contract since its first version.
        cols = ", ".join(
            f"{sql_inert(c)} AS {alias}"
            for c, alias in (("b.record_key", "record_key"), ("b.codes", "reason_codes"),
                             ("b.reasons", "reasons"), ("b.raw", "raw"),
                             ("x.texts", "reason_texts"))
        )  # fmt: skip
        con.execute(
            f"COPY (SELECT b._row AS row, {cols} FROM bad b "
            "LEFT JOIN bad_texts x ON x.k = b.rowid ORDER BY b._row) "
            f"TO '{_sql_str(str(out.resolve()))}' (HEADER, DELIMITER ',')"
        )
        make_private(out)  # DuckDB creates it with the umask's mode
        report.report_path = out
    con.execute("DROP TABLE bad_texts; DROP TABLE reason_text")


def _sql_str(s: str) -> str:
    return s.replace("'", "''")

"""`link_files`: read the registry and dose files, link, write the result and its explanations.

The result (docs/formats.md §3) is CSV or Parquet by extension, exactly its seven columns, one row per
dose row in input order (rows the file parser could not split are `invalid`, reason
`unreadable_row`). Beside it, RESULT.explain.jsonl holds, for every record the model scored or a
rule linked, the rule used and each candidate's per-field levels and match weights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxlink.ingest.service import (
    ColumnSpec,
    FileRejected,
    file_kind,
    match_headers,
    reader,
    sniff_delimiter,
)
from vaxlink.linkage.engine import DuckDBEngine, scalar
from vaxlink.linkage.errors import LinkageInputError
from vaxlink.linkage.model import LinkModel, Thresholds
from vaxlink.linkage.pipeline import (
    LinkSettings,
    LinkStats,
    OnStage,
    StageTimer,
    prepare,
    score_and_decide,
)
from vaxlink.records.columns import DOSE_COLUMNS
from vaxlink.registry.columns import REGISTRY_COLUMNS
from vaxlink.settings import Settings
from vaxlink.tabular import sql_inert

RESULT_COLUMNS = (
    "record_id", "status", "citizen_id", "match_probability", "corrected_fields", "candidates",
    "reason",
)  # fmt: skip
#: Stages of a file-to-file run, for progress displays.
FILE_STAGES = ("read files", "normalise registry", "normalise doses", "deterministic pass",
               "person clusters", "candidates", "training", "scoring", "decisions", "write result")  # fmt: skip


@dataclass
class LinkRun:
    """What `link_files` produced."""

    result: Path
    explain: Path | None
    stats: LinkStats
    model: LinkModel


def explain_path(result: Path) -> Path:
    """Where the explanations of `result` are written: RESULT.explain.jsonl beside it."""
    return result.with_name(result.name + ".explain.jsonl")


def _result_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise LinkageInputError(f"the result must be a .csv or .parquet file, not '{path.name}'")
    return suffix[1:]


def _write_result(engine: DuckDBEngine, path: Path) -> None:
    cols = ", ".join(RESULT_COLUMNS)
    shown = cols
    if _result_kind(path) == "csv":  # text cells inert for spreadsheet programs (vaxlink.tabular)
        shown = ", ".join(
            c if c == "match_probability" else f"{sql_inert(c)} AS {c}" for c in RESULT_COLUMNS
        )
    sql = (
        f"SELECT {shown} FROM (SELECT _row, {cols} FROM lk_result UNION ALL "
        "SELECT _row, NULL, 'invalid', NULL, NULL, NULL, '[]', 'unreadable_row' FROM doses_in_rejects) "
        "ORDER BY _row"
    )
    schema = pa.schema([(c, pa.float64() if c == "match_probability" else pa.string())
                        for c in RESULT_COLUMNS])  # fmt: skip
    batches = (b.cast(schema) if b.schema != schema else b for b in engine.to_batches(sql))
    tmp = path.with_name(path.name + ".part")
    if _result_kind(path) == "parquet":
        with pq.ParquetWriter(tmp, schema, compression="zstd") as pw:
            for batch in batches:
                pw.write_batch(batch)
    else:
        options = pacsv.WriteOptions(quoting_style="needed")
        with pacsv.CSVWriter(tmp, schema, write_options=options) as cw:
            for batch in batches:
                cw.write_batch(batch)
    tmp.replace(path)


def _write_explain(engine: DuckDBEngine, path: Path) -> None:
    sql = """
        SELECT CAST(to_json({'record_id': record_id, 'status': status, 'rule': rule,
                             'reason': reason, 'candidates': json(explanation)}) AS VARCHAR) AS line
        FROM lk_result WHERE status IN ('auto_linked', 'review', 'unmatched') ORDER BY _row
    """
    with path.open("w", encoding="utf-8") as fh:
        for batch in engine.to_batches(sql):
            lines: Iterable[str] = batch.column(0).to_pylist()
            fh.write("\n".join(lines))
            if batch.num_rows:
                fh.write("\n")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_mapped(headers: list[str], spec: Sequence[ColumnSpec], row: str) -> str:
    """SELECT list: the row number, then each canonical column as trimmed text (NULL if absent)."""
    mapping = match_headers(headers, spec)
    cols = [f"{row} AS _row"]
    for col in spec:
        src = mapping.get(col.name)
        value = f"NULLIF(trim(CAST({_q(src)} AS VARCHAR)), '')" if src else "CAST(NULL AS VARCHAR)"
        cols.append(f"{value} AS {_q(col.name)}")
    return ", ".join(cols)


def _load_csv(engine: DuckDBEngine, path: Path, spec: Sequence[ColumnSpec], out: str) -> None:
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        delim = sniff_delimiter(fh.readline())
    opts = (f"all_varchar = true, header = true, delim = '{delim}', quote = '\"', escape = '\"', "
            "store_rejects = true, rejects_table = 'lk_rej', rejects_scan = 'lk_rej_scan', "
            "null_padding = false, max_line_size = 1048576")  # fmt: skip
    try:
        headers = engine.to_arrow(
            f"SELECT * FROM read_csv($p, {opts}, auto_detect = true) LIMIT 0", {"p": str(path)}
        ).column_names
        types = (
            "{"
            + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in headers)
            + "}"
        )
        engine.execute(
            f"CREATE OR REPLACE TABLE {out}_raw AS SELECT * FROM read_csv($p, {opts}, "
            f"auto_detect = false, columns = {types})",
            {"p": str(path)},
        )
    except duckdb.Error as exc:
        raise FileRejected(
            f"{path.name} cannot be read as CSV: {str(exc).splitlines()[0][:300]}"
        ) from exc
    engine.execute(
        f"CREATE OR REPLACE TABLE {out}_rejects AS SELECT DISTINCT line AS _row FROM lk_rej; "
        "DROP TABLE IF EXISTS lk_rej; DROP TABLE IF EXISTS lk_rej_scan"
    )
    # Rows are numbered by file line (header = 1). A view, not a copy: each later step reads
    # only the columns it needs. Rows after a refused line move down past it (rare: only then
    # the view pays for the as-of join).
    if scalar(engine, f"SELECT count(*) FROM {out}_rejects"):
        engine.execute(
            f"""
            CREATE OR REPLACE TABLE {out}_slots AS
            SELECT slot, max(n) AS n FROM (
                SELECT _row - 2 - (row_number() OVER (ORDER BY _row) - 1) AS slot,
                       row_number() OVER (ORDER BY _row) AS n FROM {out}_rejects)
            GROUP BY slot
            """
        )
        source = (f"(SELECT w.*, w.rowid + 2 + coalesce(s.n, 0) AS _line FROM {out}_raw w "
                  f"ASOF LEFT JOIN {out}_slots s ON w.rowid >= s.slot)")  # fmt: skip
        row = "_line"
    else:
        source, row = f"{out}_raw", "rowid + 2"
    engine.execute(
        f"CREATE OR REPLACE VIEW {out} AS SELECT {_select_mapped(headers, spec, row)} FROM {source}"
    )


def _load_parquet(engine: DuckDBEngine, path: Path, spec: Sequence[ColumnSpec], out: str) -> None:
    try:
        headers = [h for h in engine.to_arrow("SELECT * FROM read_parquet($p) LIMIT 0",
                                              {"p": str(path)}).column_names]  # fmt: skip
        engine.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT "
            f"{_select_mapped(headers, spec, 'file_row_number + 2')} "
            "FROM read_parquet($p, file_row_number = true)",
            {"p": str(path)},
        )
    except duckdb.Error as exc:
        raise FileRejected(
            f"{path.name} cannot be read as Parquet: {str(exc).splitlines()[0][:300]}"
        ) from exc
    engine.execute(f"CREATE OR REPLACE TABLE {out}_rejects (_row BIGINT)")


def _load(engine: DuckDBEngine, path: Path, spec: Sequence[ColumnSpec], out: str) -> None:
    """Read one input into table `out` (columns `_row` and the canonical names) and
    `<out>_rejects` (`_row` of lines the parser could not split)."""
    kind = file_kind(path)
    if kind == "csv":
        _load_csv(engine, path, spec, out)
    elif kind == "parquet":
        _load_parquet(engine, path, spec, out)
    else:  # Excel sheets are small: the shared reader, with its Excel row numbers
        reader.load(engine.con, path, spec)
        engine.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT * EXCLUDE (_extra) FROM src; DROP TABLE src; "
            f"CREATE OR REPLACE TABLE {out}_rejects AS SELECT _row FROM src_rejects; "
            "DROP TABLE src_rejects"
        )
    n = scalar(
        engine, f"SELECT (SELECT count(*) FROM {out}) + (SELECT count(*) FROM {out}_rejects)"
    )
    if not n:
        raise FileRejected(f"{path.name} has a header row but no data rows")


def load_inputs(engine: DuckDBEngine, registry: Path, doses: Path) -> None:
    """Read the files into tables registry_in and doses_in (docs/formats.md §1 and §2 columns, header
    aliases matched as the import matches them) and doses_in_rejects (unsplittable lines).

    CSV and Parquet are read in one pass each (the import's reader keeps exact Excel row numbers
    at the cost of three copies, too slow for ten million rows); XLSX goes through the reader."""
    _load(engine, registry, REGISTRY_COLUMNS, "registry_in")
    _load(engine, doses, DOSE_COLUMNS, "doses_in")


def drop_inputs(engine: DuckDBEngine) -> None:
    """Drop what `load_inputs` read once `prepare` has built lk_reg and lk_dose from it: nothing
    after reads the inputs but `doses_in_rejects`, and at 10M they are gigabytes DuckDB would
    otherwise keep, or spill, until the run ends."""
    for name in ("registry_in", "doses_in"):
        kind = scalar(engine, "SELECT table_type FROM information_schema.tables "
                              "WHERE table_name = $n", {"n": name})  # fmt: skip
        engine.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")
        for extra in ("_raw", "_slots"):
            engine.execute(f"DROP TABLE IF EXISTS {name}{extra}")


def link_files(
    registry: Path,
    doses: Path,
    out: Path,
    *,
    model: LinkModel,
    retrain: bool = False,
    explain: bool = True,
    today: dt.date,
    settings: Settings | None = None,
    on_stage: OnStage | None = None,
    engine_name: str = "duckdb",
) -> LinkRun:
    """Link a dose-record file to a registry file and write the result to `out`.

    Without `model` the packaged model is used; `retrain` fits a new one on these files first
    (keeping the packaged thresholds). `engine_name` "spark" runs the linkage steps on a local
    Spark session (`vaxlink.linkage.spark`); the files are read and written as with DuckDB."""
    _result_kind(out)
    if engine_name not in ("duckdb", "spark"):
        raise LinkageInputError(f"engine '{engine_name}' is not available; use duckdb or spark")
    if engine_name == "spark" and retrain:
        raise LinkageInputError("--retrain runs on DuckDB only; train first, then link on Spark")
    stats = LinkStats()
    timer = StageTimer(stats, on_stage)
    engine = DuckDBEngine(settings=settings)
    try:
        timer("read files")
        load_inputs(engine, Path(registry), Path(doses))
        run_settings = LinkSettings(today=today, explain=explain)
        if engine_name == "spark":
            _link_on_spark(engine, model, run_settings, timer, stats)
            return _write_outputs(engine, out, explain, timer, stats, model)
        prepare(engine, "registry_in", "doses_in", run_settings.today, timer, stats)
        drop_inputs(engine)
        base = model
        if retrain:
            from vaxlink.linkage.train import fit

            timer("training")
            thresholds = Thresholds(**base.thresholds.__dict__)
            base = fit(
                engine, stats, thresholds=thresholds, note={"retrained_on": Path(doses).name}
            )
        score_and_decide(engine, base, timer, stats, explain)
        return _write_outputs(engine, out, explain, timer, stats, base)
    finally:
        engine.close()


def _write_outputs(
    engine: DuckDBEngine,
    out: Path,
    explain: bool,
    timer: StageTimer,
    stats: LinkStats,
    model: LinkModel,
) -> LinkRun:
    timer("write result")
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_result(engine, out)
    exp = explain_path(out) if explain else None
    if exp is not None:
        _write_explain(engine, exp)
    timer(None)
    return LinkRun(result=out, explain=exp, stats=stats, model=model)


def _link_on_spark(
    duck: DuckDBEngine,
    model: LinkModel,
    settings: LinkSettings,
    timer: StageTimer,
    stats: LinkStats,
) -> None:
    """The linkage steps on a local Spark session over the inputs `duck` has read; the result
    table comes back into `duck` as lk_result for the writers."""
    from vaxlink.linkage.spark import SparkEngine, java_available

    if not java_available():
        raise LinkageInputError("--engine spark needs a Java runtime (17 or later) on PATH")
    spark = SparkEngine()
    try:
        for name in ("registry_in", "doses_in"):
            spark.register_arrow(name, duck.to_arrow(f"SELECT * FROM {name}"))
        prepare(spark, "registry_in", "doses_in", settings.today, timer, stats)
        table = score_and_decide(spark, model, timer, stats, settings.explain)
        duck.register_arrow("lk_result", spark.to_arrow(f"SELECT * FROM {table}"))
    finally:
        spark.close()

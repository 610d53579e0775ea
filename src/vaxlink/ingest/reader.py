"""Read a CSV, XLSX or Parquet file into a DuckDB table of text columns with Excel row numbers.

The result is `src` (`_row`, one VARCHAR column per canonical name, `_extra` JSON of unknown
columns; a table, or a view over table `src_t` for a CSV read in one pass, dropped by `release`)
and table `src_rejects` (`_row`, `_raw`, `_reason`) for rows the parser could not split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from vaxlink.duck import scalar
from vaxlink.ingest import xlsx
from vaxlink.ingest.errors import FileRejected
from vaxlink.ingest.headers import ColumnSpec, extra_headers, match_headers
from vaxlink.ingest.sniff import file_kind, sniff_delimiter


@dataclass
class LoadedFile:
    """What was read: row counts and how the file's headers were understood."""

    kind: str
    rows_read: int
    rows_rejected: int
    mapping: dict[str, str]
    extra: list[str] = field(default_factory=list)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load(con: duckdb.DuckDBPyConnection, path: Path, spec: Sequence[ColumnSpec]) -> LoadedFile:
    """Load `path` into `src` and table `src_rejects` on `con`; FileRejected for unusable files.

    `src` is a table, or for a CSV without rejected lines a view numbering the rows of table
    `src_t` (the file is then read and trimmed in one pass, with no second copy); `release` drops
    whichever it is.
    """
    kind = file_kind(path)
    release(con)
    con.execute(
        "DROP VIEW IF EXISTS raw_in; DROP TABLE IF EXISTS raw_csv; DROP TABLE IF EXISTS raw_tab; "
        "DROP TABLE IF EXISTS src_rejects"
    )
    con.execute("CREATE TABLE src_rejects (_row BIGINT, _raw VARCHAR, _reason VARCHAR)")
    if kind == "csv":
        mapping, extra = _load_csv(con, path, spec)
    else:
        if kind == "parquet":
            _load_parquet(con, path)
        else:
            _load_arrow(con, xlsx.read_first_sheet(path))
        headers = [
            d[0] for d in con.execute("SELECT * FROM raw_in LIMIT 0").description if d[0] != "_row"
        ]
        mapping = match_headers(headers, spec)
        extra = extra_headers(headers, mapping)
        # raw_in is already in file order and DuckDB keeps insertion order, so no sort is needed.
        con.execute(f"CREATE TABLE src AS SELECT _row, {_select(spec, mapping, extra)} FROM raw_in")
        con.execute("DROP VIEW raw_in; DROP TABLE IF EXISTS raw_tab")
    rows = int(scalar(con, "SELECT count(*) FROM src") or 0)
    rejected = int(scalar(con, "SELECT count(*) FROM src_rejects") or 0)
    if rows + rejected == 0:
        raise FileRejected(f"{path.name} has a header row but no data rows")
    return LoadedFile(kind, int(rows) + int(rejected), int(rejected), mapping, extra)


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop `src` (view or table) and the table behind it, freeing their memory."""
    kinds = dict(
        con.sql(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_name IN ('src', 'src_t') AND table_schema = 'main'"
        ).fetchall()
    )
    if kinds.get("src") == "VIEW":
        con.execute("DROP VIEW src")
    elif "src" in kinds:
        con.execute("DROP TABLE src")
    if "src_t" in kinds:
        con.execute("DROP TABLE src_t")


def _select(spec: Sequence[ColumnSpec], mapping: dict[str, str], extra: Sequence[str]) -> str:
    """Select list: each canonical column as trimmed text (NULL when empty), then `_extra`."""
    cols = []
    for col in spec:
        src = mapping.get(col.name)
        value = f"NULLIF(trim(CAST({_q(src)} AS VARCHAR)), '')" if src else "CAST(NULL AS VARCHAR)"
        cols.append(f"{value} AS {_q(col.name)}")
    if extra:
        packed = ", ".join(f"{_q(h)} := CAST({_q(h)} AS VARCHAR)" for h in extra)
        cols.append(f"CAST(to_json(struct_pack({packed})) AS VARCHAR) AS _extra")
    else:
        cols.append("CAST(NULL AS VARCHAR) AS _extra")
    return ", ".join(cols)


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, spec: Sequence[ColumnSpec]
) -> tuple[dict[str, str], list[str]]:
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        delim = sniff_delimiter(fh.readline())
    opts = (
        f"all_varchar=true, header=true, delim='{delim}', quote='\"', escape='\"', "
        "store_rejects=true, rejects_table='rej', rejects_scan='rej_scan', auto_detect=false, "
        "null_padding=false, max_line_size=1048576"
    )
    try:
        # Column names come from the header; types are all text so nothing is guessed.
        described = con.execute(
            f"SELECT * FROM read_csv(?, {opts.replace('auto_detect=false', 'auto_detect=true')}) LIMIT 0",
            [str(path)],
        ).description
        names = [d[0] for d in described]
        mapping = match_headers(names, spec)
        extra = extra_headers(names, mapping)
        columns = (
            "{" + ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for n in names) + "}"
        )
        # One pass: read, trim and keep the canonical columns. The table keeps file order, so a
        # row's position (rowid) gives its line number.
        con.execute(
            f"CREATE TABLE src_t AS SELECT {_select(spec, mapping, extra)} "
            f"FROM read_csv(?, {opts}, columns={columns})",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise FileRejected(f"{path.name} cannot be read as CSV: {_first_line(exc)}") from exc
    con.execute(
        """
        CREATE TABLE rej_lines AS
        SELECT line AS _row, any_value(trim(csv_line, chr(13) || chr(10))) AS _raw,
               string_agg(DISTINCT CASE error_type
                   WHEN 'TOO MANY COLUMNS' THEN 'the row has more cells than the header'
                   WHEN 'MISSING COLUMNS' THEN 'the row has fewer cells than the header'
                   WHEN 'INVALID ENCODING' THEN 'the row is not valid UTF-8 text'
                   WHEN 'UNQUOTED VALUE' THEN 'a quote character is misplaced in the row'
                   ELSE lower(CAST(error_type AS VARCHAR)) END, '; ') AS _reason
        FROM rej GROUP BY line
        """
    )
    con.execute("INSERT INTO src_rejects SELECT _row, _raw, _reason FROM rej_lines")
    if not int(scalar(con, "SELECT count(*) FROM rej_lines") or 0):
        con.execute("CREATE VIEW src AS SELECT CAST(rowid + 2 AS BIGINT) AS _row, * FROM src_t")
    else:
        # Rejected lines are few; each accepted row's number is shifted past those before it.
        con.execute(
            """
            CREATE TABLE src AS
            WITH a AS (SELECT *, rowid AS _k FROM src_t),
                 r AS (SELECT _row - 2 - (row_number() OVER (ORDER BY _row) - 1) AS slot,
                              row_number() OVER (ORDER BY _row) AS n FROM rej_lines),
                 r2 AS (SELECT slot, max(n) AS n FROM r GROUP BY slot)
            SELECT CAST(a._k + 2 + coalesce(r2.n, 0) AS BIGINT) AS _row, a.* EXCLUDE (_k)
            FROM a ASOF LEFT JOIN r2 ON a._k >= r2.slot ORDER BY a._k
            """
        )
        con.execute("DROP TABLE src_t")
    con.execute("DROP TABLE rej_lines; DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rej_scan")
    return mapping, extra


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        con.execute(
            "CREATE TABLE raw_tab AS SELECT * EXCLUDE (file_row_number), file_row_number + 2 AS _row "
            "FROM read_parquet(?, file_row_number=true)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise FileRejected(f"{path.name} cannot be read as Parquet: {_first_line(exc)}") from exc
    con.execute("CREATE VIEW raw_in AS SELECT * FROM raw_tab")


def _load_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("arrow_in", table)
    con.execute("CREATE TABLE raw_tab AS SELECT * FROM arrow_in")
    con.unregister("arrow_in")
    con.execute("CREATE VIEW raw_in AS SELECT * FROM raw_tab")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]

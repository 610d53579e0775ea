"""Read a CSV, XLSX or Parquet file into a DuckDB table of text columns with Excel row numbers.

The result is `src` (`_row`, one VARCHAR column per canonical name, `_extra` JSON of unknown
columns; a table, or a view over table `src_t` for a CSV read in one pass, dropped by `release`)
and table `src_rejects` (`_row`, `_raw`, `_reason`) for rows the parser could not split.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from vaxlink.duck import scalar
from vaxlink.ingest import xlsx
from vaxlink.ingest.errors import FileRejected
from vaxlink.ingest.headers import ColumnSpec, extra_headers, match_headers, refuse_doubled
from vaxlink.ingest.sniff import TextShape, file_kind, scan_text, sniff_delimiter


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


#: A line longer than this is quarantined (DuckDB's `max_line_size`; no dose record is 1 MB).
MAX_LINE_BYTES = 1 << 20
#: A quoted cell may hold line breaks (Alt+Enter in Excel), over at most this many lines.
MAX_CELL_LINES = 10
#: DuckDB's rejected-line error types as a health station reads them.
_REJECT_REASONS = {
    "TOO MANY COLUMNS": "the row has more cells than the header",
    "MISSING COLUMNS": "the row has fewer cells than the header",
    "INVALID ENCODING": "the row is not valid UTF-8 text",
    "INVALID UNICODE": "the row is not valid UTF-8 text",
    "UNQUOTED VALUE": "a quote character is misplaced in the row",
    "LINE SIZE OVER MAXIMUM": "the line is longer than 1 MB (no dose record is that long)",
}
UNCLOSED_QUOTE = (
    'a quote (") opened in this line is never closed, or only lines later; the following '
    "lines are read on their own. Remove the stray quote or close it"
)


def _csv_header(path: Path) -> tuple[str, list[str]]:
    """The delimiter and the column names of the first line (never guessed by a sniffer)."""
    with path.open("rb") as fh:
        first = fh.readline(MAX_LINE_BYTES + 1)
    if len(first) > MAX_LINE_BYTES:
        raise FileRejected(
            f"{path.name}: the first line is longer than 1 MB; it must hold the column names"
        )
    line = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    delim = sniff_delimiter(line)
    try:
        names = next(csv.reader([line], delimiter=delim, strict=True), [])
    except csv.Error as exc:
        raise FileRejected(
            f"{path.name}: the first line (the column names) has a misplaced quote"
        ) from exc
    names = [n.strip() or f"column_{i + 1}" for i, n in enumerate(names)]
    refuse_doubled(path.name, names)
    return delim, names


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, spec: Sequence[ColumnSpec]
) -> tuple[dict[str, str], list[str]]:
    shape = scan_text(path)  # refuses NUL bytes anywhere, with their line
    delim, names = _csv_header(path)
    mapping = match_headers(names, spec)
    extra = extra_headers(names, mapping)
    opts = (
        f"all_varchar=true, header=true, delim='{_sql_str(delim)}', quote='\"', escape='\"', "
        "store_rejects=true, rejects_table='rej', rejects_scan='rej_scan', auto_detect=false, "
        f"null_padding=false, max_line_size={MAX_LINE_BYTES}"
    )
    columns = "{" + ", ".join(f"'{_sql_str(n)}': 'VARCHAR'" for n in names) + "}"
    try:
        # One pass: read, trim and keep the canonical columns. The table keeps file order, so a
        # row's position (rowid) gives its line number when every row is one line.
        con.execute(
            f"CREATE TABLE src_t AS SELECT {_select(spec, mapping, extra)} "
            f"FROM read_csv(?, {opts}, columns={columns})",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise FileRejected(f"{path.name} cannot be read as CSV: {_first_line(exc)}") from exc
    reasons = " ".join(f"WHEN '{k}' THEN '{_sql_str(v)}'" for k, v in _REJECT_REASONS.items())
    con.execute(
        f"""
        CREATE TABLE rej_lines AS
        SELECT line AS _row, any_value(left(rtrim(csv_line, chr(13) || chr(10)), 10000)) AS _raw,
               string_agg(DISTINCT CASE CAST(error_type AS VARCHAR) {reasons}
                   ELSE lower(CAST(error_type AS VARCHAR)) END, '; ') AS _reason
        FROM rej GROUP BY line
        """
    )
    con.execute("DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rej_scan")
    if _spans_lines(con, shape):
        # Some record took more than one line: a cell with line breaks, or a stray quote that
        # swallowed the lines after it. Read again line by line, deciding which it was.
        con.execute("DROP TABLE src_t; DROP TABLE rej_lines")
        _load_csv_by_line(con, path, delim, names)
        con.execute(f"CREATE TABLE src AS SELECT _row, {_select(spec, mapping, extra)} FROM raw_in")
        con.execute("DROP VIEW raw_in; DROP TABLE IF EXISTS raw_tab")
        return mapping, extra
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
    con.execute("DROP TABLE rej_lines")
    return mapping, extra


def _spans_lines(con: duckdb.DuckDBPyConnection, shape: TextShape) -> bool:
    """Whether any record read (kept or rejected) took more than one line of the file.

    DuckDB skips empty lines and reads every other line as one record unless a quoted cell
    carries a line break, so fewer records than non-empty lines means some record spanned lines.
    (Blank lines are counted by pairs of line breaks, never more than a multi-line record joins.)
    """
    if int(scalar(con, "SELECT count(*) FROM rej_lines WHERE contains(_raw, chr(10))") or 0):
        return True
    records = int(
        scalar(con, "SELECT (SELECT count(*) FROM src_t) + (SELECT count(*) FROM rej_lines)") or 0
    )
    return records < shape.lines - 1 - shape.blank_lines


def _load_csv_by_line(
    con: duckdb.DuckDBPyConnection, path: Path, delim: str, names: list[str]
) -> None:
    """View `raw_in` (`_row` = the record's first line, then the file's columns as text) and rows
    of `src_rejects`, reading the file one line at a time: a record may continue over the next
    lines only inside a quoted cell that closes within MAX_CELL_LINES lines, gives the header's
    number of cells, and swallows no line that would be a whole row by itself."""
    width = len(names)
    schema = pa.schema([(n, pa.string()) for n in names] + [("_row", pa.int64())])
    batches: list[pa.RecordBatch] = []
    cols: list[list[str | None]] = [[] for _ in names]
    numbers: list[int] = []
    rejects: list[tuple[int, str, str]] = []

    def flush() -> None:
        if numbers:
            arrays = [pa.array(c, pa.string()) for c in cols] + [pa.array(numbers, pa.int64())]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            for c in cols:
                c.clear()
            numbers.clear()

    for n, fields, raw, reason in split_lines(path, delim, width):
        if fields is None:
            rejects.append((n, raw[:10_000], reason or "unreadable"))
            continue
        numbers.append(n)
        for j in range(width):
            cols[j].append(fields[j])
        if len(numbers) >= 50_000:
            flush()
    flush()
    con.register("arrow_in", pa.Table.from_batches(batches, schema=schema))
    con.execute("CREATE TABLE raw_tab AS SELECT * FROM arrow_in")
    con.unregister("arrow_in")
    con.execute("CREATE VIEW raw_in AS SELECT * FROM raw_tab")
    if rejects:
        con.executemany("INSERT INTO src_rejects VALUES (?, ?, ?)", rejects)


def split_lines(
    path: Path, delim: str, width: int
) -> Iterator[tuple[int, list[str] | None, str, str | None]]:
    """(line number, cells or None, the line's text, why it was refused) for each record after
    the header; blank lines are skipped. See `_load_csv_by_line` for the rule on line breaks."""
    with path.open("rb") as fh:
        fh.readline()
        numbered = enumerate(fh, start=2)
        pending: deque[tuple[int, bytes]] = deque()

        def take() -> tuple[int, bytes] | None:
            return pending.popleft() if pending else next(numbered, None)

        while (item := take()) is not None:
            n, raw = item
            line, reason = _decode(raw)
            if reason:
                yield n, None, line, reason
                continue
            if not line:
                continue  # DuckDB skips empty lines too
            fields, state = _parse(line, delim)
            if state == "open":
                seen: list[tuple[int, bytes]] = []
                joined = line
                while len(seen) < MAX_CELL_LINES - 1 and (nxt := take()) is not None:
                    seen.append(nxt)
                    more, bad = _decode(nxt[1])
                    if bad:
                        break
                    joined += "\n" + more
                    fields, state = _parse(joined, delim)
                    if state != "open":
                        break
                swallows_row = any(
                    _parse(_decode(r)[0], delim)[1] == "ok"
                    and len(_parse(_decode(r)[0], delim)[0] or ()) >= width
                    for _n, r in seen
                )
                if (
                    state == "ok"
                    and fields is not None
                    and len(fields) == width
                    and not swallows_row
                ):
                    yield n, fields, joined, None
                    continue
                pending.extendleft(reversed(seen))
                yield n, None, line, UNCLOSED_QUOTE
                continue
            if state == "bad" or fields is None:
                yield n, None, line, _REJECT_REASONS["UNQUOTED VALUE"]
            elif len(fields) != width:
                key = "TOO MANY COLUMNS" if len(fields) > width else "MISSING COLUMNS"
                yield n, None, line, _REJECT_REASONS[key]
            else:
                yield n, fields, line, None


def _decode(raw: bytes) -> tuple[str, str | None]:
    if len(raw) > MAX_LINE_BYTES:
        return raw[:200].decode("utf-8", "replace"), _REJECT_REASONS["LINE SIZE OVER MAXIMUM"]
    try:
        return raw.decode("utf-8").lstrip("\ufeff").rstrip("\r\n"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace").rstrip("\r\n"), _REJECT_REASONS["INVALID ENCODING"]


def _parse(text: str, delim: str) -> tuple[list[str] | None, str]:
    """The cells of one record's text and 'ok', or None and 'open' (a quote still open at the
    end) or 'bad' (a misplaced quote)."""
    try:
        rows = list(csv.reader(text.splitlines(keepends=True), delimiter=delim, strict=True))
    except csv.Error as exc:
        return None, "open" if "unexpected end of data" in str(exc) else "bad"
    if len(rows) != 1:
        return None, "bad"
    return rows[0], "ok"


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    import pyarrow.parquet as pq  # only Parquet imports pay for loading it

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"{path.name} cannot be read as Parquet: {_first_line(exc)}") from exc
    refuse_doubled(path.name, names)
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

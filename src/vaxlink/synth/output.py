"""Writing a `SynthResult` to files: registry.csv, doses.{csv,parquet,xlsx}, truth.csv and
facilities.csv."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vaxlink.synth.errors import SynthError
from vaxlink.synth.generate import SynthResult

#: The most data rows one Excel sheet holds (below its header row).
XLSX_MAX_ROWS = 1_048_575


class DoseFormat(StrEnum):
    """File format of the dose records."""

    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


def _csv(table: pa.Table, path: Path) -> None:
    """CSV, UTF-8, header, quotes only where needed, nulls as empty fields."""
    con = duckdb.connect()
    try:
        con.register("t", table)
        # Values are not interpolated: only the path is, and it is passed as a parameter.
        con.execute("COPY (SELECT * FROM t) TO $path (HEADER, DELIMITER ',')", {"path": str(path)})
    finally:
        con.close()


def _xlsx(table: pa.Table, path: Path) -> None:
    """One sheet, text cells (IDs keep their leading zeros), numbers for dose_number."""
    import xlsxwriter  # only needed for this format

    if table.num_rows > XLSX_MAX_ROWS:
        raise SynthError(
            f"{table.num_rows} dose records do not fit one Excel sheet ({XLSX_MAX_ROWS} rows);"
            " use --dose-format csv or parquet"
        )
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": dt.datetime(2022, 1, 1)})  # fixed, so files are reproducible
    ws = wb.add_worksheet("doses")
    names = table.column_names
    ws.write_row(0, 0, names)
    columns = [table.column(c).to_pylist() for c in names]
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
    wb.close()


def write(
    result: SynthResult, out_dir: Path, *, dose_format: DoseFormat | str = DoseFormat.csv
) -> dict[str, Path]:
    """Write the four files into `out_dir` (created if missing); returns their paths."""
    fmt = DoseFormat(dose_format)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "registry": out_dir / "registry.csv",
        "doses": out_dir / f"doses.{fmt.value}",
        "truth": out_dir / "truth.csv",
        "facilities": out_dir / "facilities.csv",
    }
    _csv(result.registry, paths["registry"])
    if fmt is DoseFormat.csv:
        _csv(result.doses, paths["doses"])
    elif fmt is DoseFormat.parquet:
        pq.write_table(result.doses, paths["doses"], compression="zstd")
    else:
        _xlsx(result.doses, paths["doses"])
    errors = result.truth.column("errors")
    truth = result.truth.set_column(
        result.truth.column_names.index("errors"),
        "errors",
        pc.if_else(pc.equal(errors, ""), pa.scalar(None, pa.string()), errors),
    )
    _csv(truth, paths["truth"])
    _csv(result.sites, paths["facilities"])
    return paths

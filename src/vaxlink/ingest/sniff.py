"""Checks that a file is what its name claims before anything is parsed, with advice for the sender."""

from __future__ import annotations

from pathlib import Path

from vaxlink.ingest.errors import FileRejected

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
PARQUET_MAGIC = b"PAR1"
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}


def file_kind(path: Path) -> str:
    """'csv', 'xlsx' or 'parquet' for a readable file; FileRejected with advice for anything else."""
    if not path.is_file():
        raise FileRejected(f"file not found: {path}")
    kind = SUFFIXES.get(path.suffix.lower())
    if path.suffix.lower() == ".xls":
        raise FileRejected(
            f"{path.name} is in the old Excel 97 (.xls) format; open it in Excel and save it as .xlsx"
        )
    if kind is None:
        raise FileRejected(
            f"{path.name}: unsupported file type '{path.suffix}'; send .csv (UTF-8), .xlsx or .parquet"
        )
    if path.stat().st_size == 0:
        raise FileRejected(f"{path.name} is empty (0 bytes)")
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if kind == "csv":
        _check_text(path.name, head)
    elif kind == "xlsx" and not head.startswith(ZIP_MAGIC):
        if head.startswith(OLE_MAGIC):
            raise FileRejected(
                f"{path.name} is an old .xls (or encrypted) workbook renamed to .xlsx; "
                "open it in Excel and save it as .xlsx without a password"
            )
        raise FileRejected(f"{path.name} is not a real .xlsx workbook (its content is not Excel)")
    elif kind == "parquet" and not (head.startswith(PARQUET_MAGIC)):
        raise FileRejected(f"{path.name} is not a Parquet file")
    return kind


def _check_text(name: str, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        raise FileRejected(f"{name} is an Excel workbook named .csv; rename it to .xlsx")
    if head.startswith(OLE_MAGIC):
        raise FileRejected(f"{name} is an old Excel .xls file named .csv; save it as CSV UTF-8")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(
            f"{name} is saved as UTF-16 ('Unicode Text'); in Excel use Save As → 'CSV UTF-8'"
        )
    if b"\x00" in head:
        raise FileRejected(f"{name} contains binary data, not text; send a CSV (UTF-8) file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end of the sample is fine.
        if exc.start < len(head) - 4:
            raise FileRejected(
                f"{name} is not UTF-8 text (byte {exc.start + 1} cannot be read; it is probably "
                "Windows-1258 or a TCVN3/VNI font encoding); in Excel use Save As → 'CSV UTF-8'"
            ) from exc
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileRejected(f"{name} has no content")


def sniff_delimiter(head_line: str) -> str:
    """The delimiter of a CSV header line: the most frequent of , ; tab and |."""
    counts = {d: head_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","

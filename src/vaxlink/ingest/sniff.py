"""Checks that a file is what its name claims before anything is parsed, with advice for the sender."""

from __future__ import annotations

from dataclasses import dataclass
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


#: Byte-order marks of the Unicode encodings Excel and Notepad write, longest first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian), Excel's 'Unicode Text'"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)
_SAVE_AS = "open it in Excel (or Notepad) and use Save As → 'CSV UTF-8'"


def _wide_encoding(head: bytes) -> str | None:
    """UTF-32 or UTF-16 text without a byte-order mark, told apart by where its zero bytes fall."""
    sample = head[: 4096 - 4096 % 4]
    for codec, label in (("utf-32-le", "UTF-32 (little-endian)"), ("utf-32-be", "UTF-32 (big-endian)"),
                         ("utf-16-le", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)")):  # fmt: skip
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if (
            text
            and "\x00" not in text
            and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) > 0.95 * len(text)
        ):
            return label
    return None


def _check_text(name: str, head: bytes) -> None:
    if head.startswith(ZIP_MAGIC):
        raise FileRejected(f"{name} is an Excel workbook named .csv; rename it to .xlsx")
    if head.startswith(OLE_MAGIC):
        raise FileRejected(f"{name} is an old Excel .xls file named .csv; save it as CSV UTF-8")
    for bom, label in _BOMS:
        if head.startswith(bom):
            raise FileRejected(f"{name} is saved as {label}, not UTF-8; {_SAVE_AS}")
    if b"\x00" in head:
        wide = _wide_encoding(head)
        if wide:
            raise FileRejected(f"{name} is saved as {wide}, not UTF-8; {_SAVE_AS}")
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise FileRejected(
            f"{name} contains binary data, not text (a NUL byte on line {line}); "
            "send a CSV (UTF-8) file"
        )
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


@dataclass(frozen=True)
class TextShape:
    """What one pass over a whole text file found: its line breaks and blank lines."""

    lines: int
    blank_lines: int


def scan_text(path: Path, chunk: int = 1 << 20) -> TextShape:
    """Read the whole file once: FileRejected naming the line of the first NUL byte (a NUL is
    never silently dropped), else the count of lines and (about) of blank lines."""
    lines = blank = 0
    last = b""
    with path.open("rb") as fh:
        for data in iter(lambda: fh.read(chunk), b""):
            at = data.find(b"\x00")
            if at >= 0:
                line = lines + data.count(b"\n", 0, at) + 1
                raise FileRejected(
                    f"{path.name}: line {line:,} contains a NUL byte (binary data, often from a "
                    "damaged copy or a file saved as UTF-16); remove it, or export the list "
                    "again as 'CSV UTF-8', and send the file again"
                )
            lines += data.count(b"\n")
            blank += data.count(b"\n\n") + data.count(b"\n\r\n")
            last = data[-1:]
    if last and last != b"\n":
        lines += 1
    return TextShape(lines, blank)


def sniff_delimiter(head_line: str) -> str:
    """The delimiter of a CSV header line: the most frequent of , ; tab and |."""
    counts = {d: head_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","

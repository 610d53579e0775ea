"""The write-back file drop: a batch as one Parquet or CSV file and its manifest, in a folder the
registry collects from (docs/formats.md §6).

Each file is written beside its final name under a temporary name (mode 0600, flushed to disk)
and renamed into place, so a collector never sees half a file; the manifest comes last and says
the data file is complete (row count, SHA-256 of its bytes, the batch's content digest). Writing
a batch already in the folder with the same bytes is a no-op; other bytes under its name are
refused, never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxlink.registry.errors import WriteBackError
from vaxlink.registry.writeback import FORMAT, FULL_RULE, Batch

FORMATS: Final = ("parquet", "csv")
_MODE: Final = 0o600


def file_names(batch_id: str, fmt: str) -> tuple[str, str]:
    """The data file's and the manifest's names for a batch."""
    stem = f"vaxlink-status-{batch_id}"
    return f"{stem}.{fmt}", f"{stem}.manifest.json"


def encode(rows: pa.Table, fmt: str) -> bytes:
    """A batch's rows as file bytes (Parquet zstd, or CSV UTF-8 with a header line)."""
    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(rows, buf, compression="zstd", write_statistics=False)
    elif fmt == "csv":
        pacsv.write_csv(rows, buf, pacsv.WriteOptions(quoting_style="needed"))
    else:
        raise ValueError(f"unknown write-back file format {fmt!r}")
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """`data` at `path`: a temporary file (0600) beside it, flushed, renamed over the name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


class FileDrop:
    """A `StatusSink` writing each batch into `folder`."""

    kind = "file"

    def __init__(self, folder: Path, *, fmt: str = "parquet") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"write-back files are {' or '.join(FORMATS)}, not {fmt!r}")
        self.folder = Path(folder)
        self.fmt = fmt

    def deliver(self, batch: Batch, rows: pa.Table) -> dict[str, Any]:
        """Write the data file, then the manifest; the audit detail (names, digests, counts)."""
        if not self.folder.is_dir():
            raise WriteBackError(
                f"the write-back folder {self.folder} does not exist; create it (mode 0700) "
                "or give another with --to"
            )
        data = encode(rows, self.fmt)
        digest = hashlib.sha256(data).hexdigest()
        data_name, manifest_name = file_names(batch.batch_id, self.fmt)
        manifest = {
            "format": FORMAT, "batch_id": batch.batch_id, "mode": batch.mode,
            "as_of": batch.as_of, "row_count": batch.row_count, "file": data_name,
            "file_format": self.fmt, "sha256": digest, "content_sha256": batch.content_sha256,
            "fully_vaccinated_rule": FULL_RULE,
        }  # fmt: skip
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        written = False
        for name, content in ((data_name, data), (manifest_name, manifest_bytes)):
            path = self.folder / name
            if path.exists():
                if path.read_bytes() != content:
                    raise WriteBackError(
                        f"{path} already exists with other content; move it away to write "
                        f"batch {batch.batch_id} again"
                    )
                continue
            write_atomic(path, content)
            written = True
        return {"file": data_name, "sha256": digest, "written": written}

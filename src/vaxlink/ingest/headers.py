"""Header matching: canonical column names and their Vietnamese aliases, accent- and case-insensitive."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vaxlink.ingest.errors import FileRejected


def header_key(name: str) -> str:
    """Fold a header for matching: no accents (đ→d), lower case, runs of other characters → '_'."""
    text = unicodedata.normalize("NFD", name.strip().lstrip("\ufeff"))
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


@dataclass(frozen=True)
class ColumnSpec:
    """A canonical column: its name, its aliases, and whether a file must have it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


def refuse_doubled(file_name: str, headers: Sequence[str]) -> None:
    """Refuse a header row that names the same column twice (CSV, XLSX and Parquet alike)."""
    seen: set[str] = set()
    for header in headers:
        name = header.strip().lstrip("\ufeff")
        if name and name in seen:
            raise FileRejected(
                f"{file_name}: column '{name}' appears twice in the header row (row 1); "
                "keep one of them and send the file again"
            )
        seen.add(name)


def match_headers(headers: Sequence[str], spec: Sequence[ColumnSpec]) -> dict[str, str]:
    """Map each canonical column to the file's header naming it; refuse missing or doubled columns."""
    lookup: dict[str, str] = {}
    for col in spec:
        for alias in (col.name, *col.aliases):
            lookup[header_key(alias)] = col.name
    found: dict[str, str] = {}
    for header in headers:
        canonical = lookup.get(header_key(header))
        if canonical is None:
            continue  # unknown columns are kept but ignored
        if canonical in found:
            raise FileRejected(
                f"columns '{found[canonical]}' and '{header}' both mean '{canonical}'; "
                "keep one of them"
            )
        found[canonical] = header
    missing = [c.name for c in spec if c.required and c.name not in found]
    if missing:
        shown = ", ".join(f"'{h}'" for h in headers[:20]) or "(none)"
        raise FileRejected(
            f"required column(s) missing: {', '.join(missing)}. "
            f"The first row must hold the column names; found: {shown}"
        )
    return found


def extra_headers(headers: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """The file's headers that matched no canonical column (kept beside the row, not used)."""
    used = set(mapping.values())
    return [h for h in headers if h not in used and h.strip()]

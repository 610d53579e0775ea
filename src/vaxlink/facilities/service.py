"""The facilities front door: look sites up, name them, find their station, write the list.

Other domains import this module only. Services take a Session and flush at most; the caller
owns the transaction. A code with no row is not an error for the readers here: sites existed
in dose records long before the list did, so callers fall back to the bare code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.facilities.errors import FacilityError, FacilityNotFound
from vaxlink.facilities.models import Facility, FacilityKind
from vaxlink.facilities.schemas import FacilityInput, RefusedRow, checked
from vaxlink.settings import Settings

__all__ = [
    "Facility",
    "FacilityError",
    "FacilityInput",
    "FacilityKind",
    "FacilityNotFound",
    "ImportSummary",
    "RefusedRow",
    "SiteLabels",
    "UpsertSummary",
    "find",
    "get",
    "import_file",
    "label",
    "list_facilities",
    "names",
    "station_ward",
    "upsert_many",
]

#: Codes per IN list (well under SQLite's bound-parameter limit).
_CHUNK: Final = 500
#: Columns an upsert compares and writes.
_COLUMNS: Final = ("name", "ward_code", "kind", "head_name", "phone", "email")


def find(session: Session, code: str) -> Facility | None:
    """The site with this code, or None."""
    return session.get(Facility, code)


def get(session: Session, code: str) -> Facility:
    """The site with this code; FacilityNotFound when the list has none."""
    row = find(session, code)
    if row is None:
        raise FacilityNotFound(
            f"no vaccination site has the code {code!r}: import the site list "
            "(`vaxlink facilities import`)"
        )
    return row


def names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Name by code for the codes the list knows (inactive sites included); others are absent."""
    wanted = sorted({c for c in codes if c})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i : i + _CHUNK]
        stmt = select(Facility.code, Facility.name).where(Facility.code.in_(part))
        out.update((code, name) for code, name in session.execute(stmt))
    return out


def label(code: str | None, known: dict[str, str]) -> str:
    """How pages show a site: "Name (CODE)", the bare code when unnamed, "" for no code."""
    if not code:
        return ""
    name = known.get(code)
    return f"{name} ({code})" if name else code


class SiteLabels:
    """Site labels for one page, each name read once in the page's transaction.

    Pages show a handful of sites (a person's doses, one approver's site): a lookup per new code
    costs less than collecting the codes first. `preload` fetches many in one query.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[str, str] = {}
        self._asked: set[str] = set()

    def preload(self, codes: Iterable[str | None]) -> SiteLabels:
        """Read the names of `codes` not asked for yet, in one query per 500 codes."""
        new = {c for c in codes if c and c not in self._asked}
        self._known.update(names(self._session, new))
        self._asked |= new
        return self

    def __call__(self, code: str | None) -> str:
        if code and code not in self._asked:
            self.preload((code,))
        return label(code, self._known)


def station_ward(session: Session, code: str | None) -> str | None:
    """The ward whose health station the site belongs to, or None when the list lacks the site."""
    if not code:
        return None
    return session.scalar(select(Facility.ward_code).where(Facility.code == code))


def list_facilities(
    session: Session, *, ward: str | None = None, active_only: bool = False
) -> list[Facility]:
    """Sites by code, those of one ward (5-digit code) only when `ward` is given."""
    stmt = select(Facility).order_by(Facility.code)
    if ward is not None:
        stmt = stmt.where(Facility.ward_code == ward)
    if active_only:
        stmt = stmt.where(Facility.active.is_(True))
    return list(session.scalars(stmt))


@dataclass
class UpsertSummary:
    """What an upsert did, by code: made, changed (with the fields changed) or left as it was."""

    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)

    def audit_detail(self) -> dict[str, object]:
        """Codes and field names only (no names, phones or e-mails), for an audit entry."""
        return {"created": self.created, "updated": self.updated,
                "unchanged": len(self.unchanged)}  # fmt: skip


@dataclass
class ImportSummary:
    """An imported list: rows read, what the upsert did, and every row refused with reasons."""

    source: str
    rows_read: int
    upsert: UpsertSummary
    refused: list[RefusedRow]

    def audit_detail(self) -> dict[str, object]:
        """Counts, codes and row numbers, for an audit entry."""
        return {"source": self.source, "rows_read": self.rows_read, **self.upsert.audit_detail(),
                "refused_rows": [r.row for r in self.refused]}  # fmt: skip


def upsert_many(
    session: Session, items: Iterable[FacilityInput], *, now: dt.datetime
) -> UpsertSummary:
    """Create or update sites by code; a site given as it is stored is left untouched.

    Idempotent: the same list twice changes nothing the second time (not even `updated_at`).
    Each item is checked first (FacilityError names every problem); a code given twice is
    refused, since which of the two is meant cannot be told.
    """
    wanted: dict[str, FacilityInput] = {}
    for item in items:
        good = checked(item)
        if good.code in wanted:
            raise FacilityError(f"site {good.code!r} is given twice; keep one")
        wanted[good.code] = good
    stored = {f.code: f for f in _rows(session, list(wanted))}
    summary = UpsertSummary()
    for code, item in wanted.items():
        row = stored.get(code)
        if row is None:
            session.add(Facility(code=code, active=True if item.active is None else item.active,
                                 created_at=now, updated_at=now,
                                 **{c: getattr(item, c) for c in _COLUMNS}))  # fmt: skip
            summary.created.append(code)
            continue
        changed = [c for c in _COLUMNS if getattr(row, c) != getattr(item, c)]
        if item.active is not None and row.active != item.active:
            changed.append("active")
        if not changed:
            summary.unchanged.append(code)
            continue
        for c in changed:
            setattr(row, c, getattr(item, c))
        row.updated_at = now
        summary.updated[code] = changed
    session.flush()
    return summary


def _rows(session: Session, codes: list[str]) -> list[Facility]:
    out: list[Facility] = []
    for i in range(0, len(codes), _CHUNK):
        out.extend(
            session.scalars(select(Facility).where(Facility.code.in_(codes[i : i + _CHUNK])))
        )
    return out


def import_file(
    session: Session, path: Path, *, now: dt.datetime, settings: Settings | None = None
) -> ImportSummary:
    """Import a CSV/XLSX site list: good rows upserted by code, every bad row refused with its
    reasons (nothing dropped silently). FileRejected when the file cannot be read as a table."""
    from vaxlink.facilities import importer  # DuckDB and the tabular reader: only when importing

    read = importer.read_list(path, settings)
    upserted = upsert_many(session, read.items, now=now)
    return ImportSummary(path.name, read.rows_read, upserted, read.refused)

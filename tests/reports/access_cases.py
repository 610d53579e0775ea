"""Daily-report downloads for the access-matrix test (tests/auth): a report is scoped by its unit."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.geo.codes import Level, UnitKey
from vaxlink.geo.index import UnitIndex
from vaxlink.reports import phases
from vaxlink.reports.models import DailyReport

#: One report per (day, level, unit): each call takes an earlier day.
_DAYS = itertools.count()


def _report(s: Session, ward: str) -> int:
    """A stored ward report whose files exist (absolute paths: the matrix's data dir is unknown)."""
    path = UnitIndex.for_version("2008-2025").path(UnitKey(Level.WARD, ward))
    folder = Path(tempfile.mkdtemp(prefix="vaxlink-report-case-"))
    (folder / "r.pdf").write_bytes(b"%PDF-1.7\n")
    (folder / "r.xlsx").write_bytes(b"PK\x03\x04")
    now = dt.datetime.now(dt.UTC)
    report = DailyReport(
        day=now.date() - dt.timedelta(days=next(_DAYS)), level="ward", unit_code=ward, province_code=path[1].code,
        district_code=path[2].code, ward_code=ward, generated_at=now, generated_by="matrix",
        xlsx_path=str(folder / "r.xlsx"), pdf_path=str(folder / "r.pdf"), xlsx_sha256="0" * 64,
        pdf_sha256="0" * 64,
    )  # fmt: skip
    s.add(report)
    s.flush()
    return report.id


def _download(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"report_id": _report(s, inside), "kind": "pdf"},
            {"report_id": _report(s, outside), "kind": "pdf"})  # fmt: skip


def _phase(s: Session, ward: str) -> int:
    phase = phases.create(s, name="Đợt 1", unit=f"ward:{ward}", starts_on=dt.date(2021, 10, 1),
                          deadline=dt.date(2021, 11, 30), target_kind="linked_share",
                          target_percent=95, by="matrix", now=dt.datetime.now(dt.UTC))  # fmt: skip
    return phase.id


def _phase_action(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"phase_id": _phase(s, inside), "action": "end"},
            {"phase_id": _phase(s, outside), "action": "end"})  # fmt: skip


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "/reports/{report_id}/{kind}": _download,
    "POST /admin/phases/{phase_id}/{action}": _phase_action,
}
SKIP: dict[str, str] = {}

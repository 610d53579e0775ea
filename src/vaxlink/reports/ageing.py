"""Per-site ageing of unfixed errors: for each vaccination site of an area, its doses still in
the worklist (review, unmatched, invalid), how long they have waited, and the site's head, who
answers for errors not fixed in time (HCMC DoH 2665/SYT-NVY).

A dose's age runs from the last decision about it (`dose_link.decided_at`: the linkage run or a
reviewer) or, with none, from the start of its import. One SQL statement per page: GROUP BY
site, the area filtered by the site's ward (the dose's own ward for a site not in the list).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from vaxlink.db import UtcDateTime
from vaxlink.geo.codes import NATION, Level, UnitKey
from vaxlink.reports import query
from vaxlink.tabular import new_workbook, put

WORKLIST: Final = ("review", "unmatched", "invalid")
#: (key, Vietnamese, English, lower bound in days, upper bound in days or None).
BUCKETS: Final = (
    ("d0_3", "≤ 3 ngày", "≤ 3 days", 0, 3),
    ("d4_7", "4–7 ngày", "4–7 days", 4, 7),
    ("d8_14", "8–14 ngày", "8–14 days", 8, 14),
    ("d15", "> 14 ngày", "> 14 days", 15, None),
)
#: Sort keys a page may ask for -> ORDER BY (never user text in SQL).
SORTS: Final[dict[str, str]] = {
    "oldest": "d15 DESC, d8_14 DESC, total DESC, site_code",
    "total": "total DESC, site_code",
    "site": "site_code",
    "name": "site_name, site_code",
    "head": "head_name, site_code",
}


@dataclass(frozen=True)
class SiteAgeing:
    """One site's unfixed errors."""

    site_code: str
    site_name: str | None
    ward_code: str | None
    head_name: str | None
    phone: str | None
    total: int
    review: int
    unmatched: int
    invalid: int
    buckets: dict[str, int]
    oldest_days: int | None


def wards_of(key: UnitKey) -> list[str] | None:
    """The ward codes inside `key` (None for the nation: no filter)."""
    if key == NATION:
        return None
    if key.level is Level.WARD:
        return [key.code]
    idx = query.index()
    out: list[str] = []
    stack = [key]
    if key not in idx:
        return out
    while stack:
        for child in idx.children(stack.pop()):
            if child.key.level is Level.WARD:
                out.append(child.key.code)
            else:
                stack.append(child.key)
    return out


#: The dose's own place column per level: the worklist indexes (`cleaning.models`) start with it.
_PLACE: Final = {Level.PROVINCE: "province_code", Level.DISTRICT: "district_code",
                 Level.WARD: "ward_code"}  # fmt: skip


def _sql(level: Level, sort: str) -> str:
    """One statement: the worklist doses of the area (status index, then the site's ward), each
    with its last decision (the `dose_link` rows of those doses only, by their index), then one
    row per site. Values never enter the text: statuses and sorts are constants, the rest binds."""
    # The OR form of the worklist indexes' predicate (SQLite uses a partial index only then).
    statuses = " OR ".join(f"d.status = '{s}'" for s in sorted(WORKLIST))
    ages = []
    for key, _vi, _en, lo, hi in BUCKETS:
        if hi is not None and lo == 0:
            cond = f"w.since >= :c{hi}"
        elif hi is None:
            cond = f"w.since < :c{lo - 1}"
        else:
            cond = f"w.since < :c{lo - 1} AND w.since >= :c{hi}"
        ages.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {key}")
    source = "dose_record d"
    where = ""
    if level is not Level.NATION:
        # Candidates by index, as a UNION (an OR of the two would defeat both indexes): the doses
        # placed in the area (the level's worklist index) and the worklist doses of the area's
        # listed sites (facility_code index); then the site's ward decides.
        def worklist(alias: str) -> str:
            return " OR ".join(f"{alias}.status = '{s}'" for s in sorted(WORKLIST))

        source = (
            f"(SELECT p.id FROM dose_record p WHERE p.{_PLACE[level]} = :unit AND "
            f"({worklist('p')}) UNION SELECT s.id FROM facility sf JOIN dose_record s "
            f"ON s.facility_code = sf.code WHERE sf.ward_code IN :wards AND ({worklist('s')})) "
            "c JOIN dose_record d ON d.id = c.id"
        )
        where = " AND COALESCE(f.ward_code, d.ward_code) IN :wards"
    return (
        "SELECT w.site_code, MAX(w.site_name) AS site_name, MAX(w.ward_code) AS ward_code, "
        "MAX(w.head_name) AS head_name, MAX(w.phone) AS phone, COUNT(*) AS total, "
        + ", ".join(f"SUM(CASE WHEN w.status = '{s}' THEN 1 ELSE 0 END) AS {s}" for s in WORKLIST)
        + ", "
        + ", ".join(ages)
        + ", MIN(w.since) AS oldest "
        "FROM (SELECT COALESCE(d.facility_code, '') AS site_code, d.status AS status, "
        "MAX(f.name) AS site_name, MAX(COALESCE(f.ward_code, d.ward_code)) AS ward_code, "
        "MAX(f.head_name) AS head_name, MAX(f.phone) AS phone, "
        "COALESCE(MAX(k.decided_at), MAX(b.started_at)) AS since "
        f"FROM {source} JOIN import_batch b ON b.id = d.batch_id "
        "LEFT JOIN facility f ON f.code = d.facility_code "
        "LEFT JOIN dose_link k ON k.dose_record_id = d.id "
        f"WHERE ({statuses}){where} "
        "GROUP BY d.id, d.facility_code, d.status) w "
        f"GROUP BY w.site_code ORDER BY {SORTS[sort]}"
    )


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns MIN() over timestamps as text
        value = dt.datetime.fromisoformat(value)
    moment: dt.datetime = value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def by_site(
    session: Session, key: UnitKey, *, now: dt.datetime, sort: str = "oldest"
) -> list[SiteAgeing]:
    """Every site of `key`'s area with doses in the worklist, sorted by `sort` (see `SORTS`)."""
    if sort not in SORTS:
        sort = "oldest"
    wards = wards_of(key)
    stmt = text(_sql(key.level, sort))
    cuts = {f"c{d}": now - dt.timedelta(days=d) for d in (3, 7, 14)}
    params: dict[str, Any] = dict(cuts)
    binds = [bindparam(n, type_=UtcDateTime()) for n in cuts]
    if wards is not None:
        binds.append(bindparam("wards", expanding=True))
        params["wards"] = wards or [""]
        params["unit"] = key.code
    rows = session.execute(stmt.bindparams(*binds), params).mappings().all()
    out = []
    for r in rows:
        oldest = _instant(r["oldest"])
        out.append(SiteAgeing(
            site_code=r["site_code"], site_name=r["site_name"], ward_code=r["ward_code"],
            head_name=r["head_name"], phone=r["phone"], total=int(r["total"]),
            review=int(r["review"] or 0), unmatched=int(r["unmatched"] or 0),
            invalid=int(r["invalid"] or 0),
            buckets={b[0]: int(r[b[0]] or 0) for b in BUCKETS},
            oldest_days=None if oldest is None else (now - oldest).days,
        ))  # fmt: skip
    return out


#: XLSX columns: (catalogue key of the header, attribute or bucket key); a bucket's header is
#: `campaign.waiting` filled with the bucket's name (`campaign.bucket.<key>`).
EXPORT_COLUMNS: Final = (
    ("campaign.site_code", "site_code"), ("campaign.site_name", "site_name"),
    ("campaign.ward_code", "ward_code"), ("campaign.head_of_site", "head_name"),
    ("campaign.phone", "phone"), ("campaign.total", "total"),
    ("reports.m.doses_review", "review"), ("reports.m.doses_unmatched", "unmatched"),
    ("reports.m.doses_invalid", "invalid"), *(("campaign.waiting", key) for key, *_ in BUCKETS),
    ("campaign.oldest", "oldest_days"),
)  # fmt: skip


def xlsx(rows: list[SiteAgeing], title: str, headers: Sequence[str], sheet: str) -> bytes:
    """The ageing table as XLSX, with the caller's `headers` (one per `EXPORT_COLUMNS`, in the
    reader's language, from the catalogue) and sheet name; every cell through `tabular.put`."""
    if len(headers) != len(EXPORT_COLUMNS):
        raise ValueError(f"{len(EXPORT_COLUMNS)} headers wanted, {len(headers)} given")
    wb = new_workbook()
    ws = wb.active
    assert ws is not None
    ws.title = re.sub(r"[\[\]:*?/\\]", " ", sheet).strip()[:31] or "Sheet"
    put(ws, 1, 1, title)
    for col, header in enumerate(headers, 1):
        put(ws, 2, col, header)
    for r, row in enumerate(rows, 3):
        for col, (_, attr) in enumerate(EXPORT_COLUMNS, 1):
            value = row.buckets[attr] if attr in row.buckets else getattr(row, attr)
            put(ws, r, col, "" if value is None else value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

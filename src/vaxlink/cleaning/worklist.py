"""The worklist: a unit's doses that need a person, with their latest linkage evidence.

Pages are read with a keyset (the last row's sort value and id), never OFFSET, over the
`(unit, status, id)` indexes, so page 1 000 costs what page 1 costs. The latest `dose_link` of
each dose is found through the `(dose_record_id, run_id)` unique index.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from vaxlink.auth.service import Principal
from vaxlink.auth.service import append as record
from vaxlink.cleaning import links
from vaxlink.cleaning.errors import InvalidCorrection
from vaxlink.cleaning.models import WORKLIST_STATUSES, in_worklist
from vaxlink.identity import fold_name
from vaxlink.linkage.service import DoseLink
from vaxlink.records.service import DoseRecord, DoseStatus

Sort = Literal["id", "vaccination_date", "name"]
State = Literal["open", "closed", "all"]
SORTS: Final = ("id", "vaccination_date", "name")
STATES: Final = ("open", "closed", "all")
PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500
#: The most rows a page asks for on the web (`n`).
MAX_SHOWN: Final = 200
#: The filters a worklist page or file is asked for with, by name.
FILTERS: Final = ("status", "reason", "facility", "date_from", "date_to", "q", "sort", "state", "n")
#: Doses counted at most (the count shows "10 000+" beyond).
COUNT_CAP: Final = 10_000
#: Doses whose reasons fill the reason filter's choices.
REASON_SAMPLE: Final = 2_000
_HUMAN = (links.HUMAN_RULE, links.HUMAN_PROPAGATED_RULE)
_SORT_COLUMN: Final[dict[str, Any]] = {
    "id": DoseRecord.id,
    "vaccination_date": DoseRecord.vaccination_date,
    "name": DoseRecord.name_folded,
}


@dataclass(frozen=True)
class WorklistQuery:
    """Filters, search, sort and the keyset position of one worklist page."""

    statuses: tuple[str, ...] = tuple(str(s) for s in WORKLIST_STATUSES)
    facility: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reason: str | None = None
    #: Digits: an ID-number prefix; anything else: the start of the name (accents ignored).
    search: str | None = None
    sort: Sort = "id"
    #: open: still to decide; closed: an officer marked it "cannot be verified here".
    state: State = "open"
    after: str | None = None
    limit: int = PAGE_SIZE


@dataclass
class WorklistPage:
    """One page of rows, the cursor of the next page (None on the last) and the filtered total."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int
    #: True when more than `total` (COUNT_CAP) doses match.
    more_than: bool = False
    reasons: list[str] = field(default_factory=list)


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def query_from(filters: Mapping[str, str], after: str | None = None) -> WorklistQuery:
    """The query a page's filters ask for (FILTERS, as text); a value that is not one of the
    choices falls back to the default (all worklist statuses, sort by id, open, a page)."""
    status, sort, state, n = (filters.get(k, "") for k in ("status", "sort", "state", "n"))
    return WorklistQuery(
        statuses=(status,) if status in WORKLIST_STATUSES else WorklistQuery.statuses,
        facility=filters.get("facility") or None, date_from=_date(filters.get("date_from")),
        date_to=_date(filters.get("date_to")), reason=filters.get("reason") or None,
        search=filters.get("q") or None,
        sort=sort if sort in SORTS else "id",  # type: ignore[arg-type]
        state=state if state in STATES else "open",  # type: ignore[arg-type]
        after=after or None,
        limit=int(n) if n.isdigit() and 0 < int(n) <= MAX_SHOWN else PAGE_SIZE,
    )  # fmt: skip


def view_worklist(
    session: Session, principal: Principal, q: WorklistQuery, *, now: dt.datetime
) -> WorklistPage:
    """A page of the worklist as a person sees it: a list of people's records is a view of each
    of them, so a page with rows is audited."""
    page = worklist(session, principal, q)
    if page.rows:
        record(session, actor=principal, action="worklist.view", object_type="worklist",
               object_id=str(principal.unit), unit=str(principal.unit),
               detail={"doses": [r["id"] for r in page.rows]}, at=now)  # fmt: skip
    return page


def encode_cursor(value: object, dose_id: int) -> str:
    """An opaque keyset position."""
    shown = value.isoformat() if isinstance(value, dt.date) else value
    return base64.urlsafe_b64encode(json.dumps([shown, dose_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    """The (sort value, id) of a cursor; a damaged one is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, dose_id = json.loads(raw)
        if sort == "vaccination_date":
            value = dt.date.fromisoformat(value)
        return value, int(dose_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCorrection(
            "the page link is damaged; start again from the first page"
        ) from exc


def unit_scope(principal: Principal) -> ColumnElement[bool]:
    """The doses lying inside the principal's unit, as SQL."""
    c = DoseRecord.__table__.c
    return principal.scope_filter(c.province_code, c.district_code, c.ward_code)


def _latest(column: Any) -> Any:
    """A column of the dose's latest linkage decision, as a correlated scalar subquery (one
    probe of the `(dose_record_id, run_id)` index per dose; never a join over all links)."""
    return (
        select(column)
        .where(DoseLink.dose_record_id == DoseRecord.id)
        .order_by(DoseLink.run_id.desc())
        .limit(1)
        .correlate(DoseRecord)
        .scalar_subquery()
    )


def _filtered(principal: Principal, q: WorklistQuery) -> Select[Any]:
    """The filtered worklist (select the columns with `with_only_columns`)."""
    stmt = select(DoseRecord.id).where(
        unit_scope(principal), in_worklist(), DoseRecord.status.in_(q.statuses)
    )
    if q.facility:
        stmt = stmt.where(DoseRecord.facility_code == q.facility.strip())
    if q.date_from:
        stmt = stmt.where(DoseRecord.vaccination_date >= q.date_from)
    if q.date_to:
        stmt = stmt.where(DoseRecord.vaccination_date <= q.date_to)
    if q.reason:
        stmt = stmt.where(_latest(DoseLink.reason) == q.reason)
    # Only an officer's "cannot be verified" closes a dose still in the worklist, and it
    # leaves it unmatched: the other statuses need no look at the links.
    unmatched = DoseRecord.status == DoseStatus.UNMATCHED
    if q.state == "open":
        stmt = stmt.where(or_(~unmatched, func.coalesce(_latest(DoseLink.rule), "").notin_(_HUMAN)))
    elif q.state == "closed":
        stmt = stmt.where(unmatched, _latest(DoseLink.rule).in_(_HUMAN))
    text = (q.search or "").strip()
    if text:
        digits = "".join(text.split())
        if digits.isdigit():
            stmt = stmt.where(DoseRecord.id_number.like(f"{digits}%"))
        else:
            stmt = stmt.where(DoseRecord.name_folded.like(f"{fold_name(text)}%"))
    return stmt


def worklist(session: Session, principal: Principal, q: WorklistQuery) -> WorklistPage:
    """One page of the principal's worklist (the unit's scope is applied in SQL)."""
    if q.sort not in SORTS or q.state not in STATES:
        raise InvalidCorrection(f"sort must be one of {', '.join(SORTS)}")
    limit = max(1, min(q.limit, MAX_PAGE_SIZE))
    d = DoseRecord
    cols = [d.id, d.record_id, d.version, d.status, d.full_name, d.name_folded, d.date_of_birth,
            d.sex, d.id_number, d.vaccine_key, d.vaccination_date, d.dose_number, d.facility_code,
            d.ward_code]  # fmt: skip
    base = _filtered(principal, q)
    stmt = base.with_only_columns(*cols)
    key = _SORT_COLUMN[q.sort]
    if q.after:
        value, after_id = decode_cursor(q.after, q.sort)
        stmt = (
            stmt.where(d.id > after_id)
            if q.sort == "id"
            else stmt.where(or_(key > value, and_(key == value, d.id > after_id)))
        )
    order = [d.id] if q.sort == "id" else [key, d.id]
    rows = [dict(r._mapping) for r in session.execute(stmt.order_by(*order).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    latest = links.latest_links(session, [r["id"] for r in rows])
    for r in rows:
        link = latest.get(r["id"])
        r["reason"] = link.reason if link else None
        r["rule"] = link.rule if link else None
        r["candidates"] = list(link.candidates) if link else []
        r["match_probability"] = link.match_probability if link else None
    nxt = encode_cursor(rows[-1][_key_name(q.sort)], rows[-1]["id"]) if more and rows else None
    # Counted up to a cap: a province's worklist may hold tens of thousands of doses.
    capped = base.with_only_columns(d.id).limit(COUNT_CAP + 1).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    return WorklistPage(rows=rows, next_cursor=nxt, total=min(total, COUNT_CAP),
                        more_than=total > COUNT_CAP, reasons=_reasons(session, principal, q))  # fmt: skip


def _key_name(sort: Sort) -> str:
    return {"id": "id", "vaccination_date": "vaccination_date", "name": "name_folded"}[sort]


def _reasons(session: Session, principal: Principal, q: WorklistQuery) -> list[str]:
    """The reasons seen in (the first REASON_SAMPLE doses of) the unit's worklist, for the
    reason filter's choices, and the one chosen now."""
    sample = (
        _filtered(principal, WorklistQuery(state="all"))
        .with_only_columns(_latest(DoseLink.reason).label("reason"))
        .limit(REASON_SAMPLE)
        .subquery()
    )
    seen = {r for r in session.scalars(select(sample.c.reason).distinct()) if r}
    return sorted(seen | ({q.reason} if q.reason else set()))


def worklist_waiting(session: Session, principal: Principal, *, cap: int) -> int:
    """How many doses wait in the principal's worklist, counted up to `cap` (a LIMIT inside,
    so a province's count reads at most `cap` index entries)."""
    c = DoseRecord.__table__.c
    scope = principal.scope_filter(c.province_code, c.district_code, c.ward_code)
    inner = select(DoseRecord.id).where(in_worklist(), scope).limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)

"""Feed a decision to the person's other doses, in one set-based statement.

The person is recognised by the raw identity key the decided dose carried before the decision:
the same commune (ward) and the same folded name, and the same date of birth or the same ID
number, as the linkage's person clusters join doses. Only doses nobody has decided yet
(pending, review, unmatched) inside the decider's unit are touched, each with a version in its
history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from vaxlink.auth.service import ON_BEHALF_OF, Principal
from vaxlink.cleaning.models import ChangeKind, DoseCorrection
from vaxlink.records.service import DoseRecord, DoseStatus, set_status_many

#: Statuses a decision on another dose of the same person may change.
UNDECIDED = (DoseStatus.PENDING, DoseStatus.REVIEW, DoseStatus.UNMATCHED)


def same_person(before: Mapping[str, Any]) -> Any:
    """SQL condition: another dose carrying the decided dose's identity key (None: no key)."""
    if not before.get("ward_code") or not before.get("name_folded"):
        return None
    alike = (
        [DoseRecord.date_of_birth == before["date_of_birth"]] if before.get("date_of_birth") else []
    )
    if before.get("id_number"):
        alike.append(DoseRecord.id_number == before["id_number"])
    if not alike:
        return None
    return and_(
        DoseRecord.id != before["id"],
        DoseRecord.ward_code == before["ward_code"],
        DoseRecord.name_folded == before["name_folded"],
        or_(*alike),
    )


def _targets(principal: Principal, before: Mapping[str, Any]) -> Any:
    """SELECT of the doses a decision on the dose `before` would be fed to (None: none)."""
    cond = same_person(before)
    if cond is None:
        return None
    c = DoseRecord.__table__.c
    scope = principal.scope_filter(c.province_code, c.district_code, c.ward_code)
    return (
        select(
            DoseRecord.id,
            DoseRecord.status,
            DoseRecord.citizen_id,
            DoseRecord.version,
            DoseRecord.record_id,
            DoseRecord.vaccination_date,
            DoseRecord.dose_number,
            DoseRecord.facility_code,
        )
        .where(cond, scope, DoseRecord.status.in_(UNDECIDED))
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    )


def would_propagate(
    session: Session, principal: Principal, before: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The doses a decision on this dose would also decide, shown before it is made (read only):
    id, record id, vaccination date, dose number, site, status."""
    query = _targets(principal, before)
    if query is None:
        return []
    return [
        {"id": r.id, "record_id": r.record_id, "vaccination_date": r.vaccination_date,
         "dose_number": r.dose_number, "facility_code": r.facility_code, "status": r.status}
        for r in session.execute(query)
    ]  # fmt: skip


def propagate(
    session: Session,
    principal: Principal,
    before: Mapping[str, Any],
    *,
    status: str,
    citizen_id: str | None,
    reason: str | None,
    link_reason: str | None,
    now: dt.datetime,
    source_version: int | None = None,
) -> list[int]:
    """Give the person's other undecided doses the same status and citizen; their ids. Each
    change names its source (the decided dose and `source_version`, its decision's version)."""
    query = _targets(principal, before)
    if query is None:
        return []
    targets = session.execute(query.with_for_update()).all()
    if not targets:
        return []
    seen = {t.id: t for t in targets}
    ids = set_status_many(session, list(seen), status, citizen_id=citizen_id, among=UNDECIDED)
    last: dict[int, int] = {
        int(r[0]): int(r[1])
        for r in session.execute(
            select(DoseCorrection.dose_record_id, func.max(DoseCorrection.version))
            .where(DoseCorrection.dose_record_id.in_(ids))
            .group_by(DoseCorrection.dose_record_id)
        )
    }
    on_behalf = ON_BEHALF_OF.get(principal.role)
    rows = [
        {"dose_record_id": i, "version": int(last.get(i) or 0) + 1,
         "kind": str(ChangeKind.PROPAGATED), "base_version": seen[i].version,
         "changed_by": principal.user_id, "changed_by_username": principal.username,
         "role": str(principal.role), "on_behalf_of": str(on_behalf) if on_behalf else None,
         "at": now, "reason": reason or link_reason or f"same person as dose {before['id']}",
         "field": field, "old_value": old, "new_value": new, "ticket_id": None,
         "source_dose_id": before["id"], "source_version": source_version}
        for i in ids
        for field, old, new in (("status", seen[i].status, status),
                                ("citizen_id", seen[i].citizen_id, citizen_id))
    ]  # fmt: skip
    if rows:
        session.execute(insert(DoseCorrection), rows)
    return ids

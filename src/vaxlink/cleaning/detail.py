"""One dose in full: its values beside each candidate citizen's, the linkage's explanation, the
raw record as sent, the linkage decisions and the correction history. Reading it is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.auth.service import Principal
from vaxlink.auth.service import append as record
from vaxlink.cleaning import links
from vaxlink.cleaning.corrections import dose_row, history, load_dose
from vaxlink.identity import fold_name, normalise_id
from vaxlink.linkage.service import DoseLink, LinkRunRecord
from vaxlink.records.service import RAW_FIELDS
from vaxlink.registry.service import RegistryPerson, RegistryPort, normalise_phone

#: The compared fields, in the order the table shows them.
COMPARED: Final = ("full_name", "date_of_birth", "sex", "id_number", "province_code",
                   "district_code", "ward_code", "phone")  # fmt: skip


@dataclass
class CandidateView:
    """One candidate: the registry's record (None if gone), the linkage's evidence and how each
    compared field agrees with the dose (agree / partly / differ / missing)."""

    citizen_id: str
    probability: float | None
    person: RegistryPerson | None
    evidence: dict[str, Any]
    agreement: dict[str, str]


@dataclass
class DoseDetail:
    """Everything the detail page shows."""

    dose: dict[str, Any]
    raw: dict[str, Any]
    link: DoseLink | None
    candidates: list[CandidateView]
    links: list[dict[str, Any]]
    history: list[dict[str, Any]]


def _agree(field: str, mine: Any, theirs: Any) -> str:
    if not mine or not theirs:
        return "missing"
    a, b = str(mine), str(theirs)
    if field == "full_name":
        fa, fb = fold_name(a), fold_name(b)
        if fa == fb:
            return "agree"
        return "partly" if set(fa.split()) & set(fb.split()) else "differ"
    if field == "date_of_birth":
        if a == b:
            return "agree"
        return "partly" if a[:4] == b[:4] or a[5:] == b[5:] else "differ"
    if field == "phone":
        return "agree" if normalise_phone(a) == normalise_phone(b) else "differ"
    if field == "id_number":
        return "agree" if normalise_id(a) == normalise_id(b) else "differ"
    return "agree" if a == b else "differ"


def _candidate_ids(link: DoseLink | None) -> list[tuple[str, float | None, dict[str, Any]]]:
    out: dict[str, tuple[str, float | None, dict[str, Any]]] = {}
    if link is None:
        return []
    evidence = {e.get("citizen_id"): e for e in (link.explanation or [])}
    for c in [*link.candidates, *(link.explanation or [])]:
        cid = c.get("citizen_id")
        if cid and cid not in out:
            out[cid] = (cid, c.get("probability"), evidence.get(cid, {}))
    if link.citizen_id and link.citizen_id not in out:
        out[link.citizen_id] = (link.citizen_id, link.match_probability, {})
    return list(out.values())[:5]


def dose_detail(
    session: Session, principal: Principal, dose_id: int, registry: RegistryPort,
    *, now: dt.datetime,
) -> DoseDetail:  # fmt: skip
    """The detail of one dose in the principal's unit; the view is written to the audit log."""
    dose = load_dose(session, principal, dose_id, now=now)
    row = dose_row(dose)
    link = links.latest_links(session, [dose.id]).get(dose.id)
    candidates = []
    for cid, p, evidence in _candidate_ids(link):
        person = registry.get(cid)
        theirs = person.model_dump() if person else {}
        if person:
            theirs["id_number"] = person.citizen_id
        agreement = {f: _agree(f, row.get(f), theirs.get(f)) for f in COMPARED}
        if person and person.old_id and row.get("id_number") == person.old_id:
            agreement["id_number"] = "agree"
        candidates.append(CandidateView(cid, p, person, evidence, agreement))
    runs = session.execute(
        select(DoseLink, LinkRunRecord.engine, LinkRunRecord.started_by)
        .join(LinkRunRecord, LinkRunRecord.id == DoseLink.run_id)
        .where(DoseLink.dose_record_id == dose.id)
        .order_by(DoseLink.run_id.desc())
    ).all()
    link_rows = [
        {"run_id": lk.run_id, "engine": engine, "by": by, "status": lk.status, "rule": lk.rule,
         "reason": lk.reason, "citizen_id": lk.citizen_id, "decided_at": lk.decided_at}
        for lk, engine, by in runs
    ]  # fmt: skip
    record(
        session, actor=principal, action="dose.view", object_type="dose_record",
        object_id=str(dose.id), unit=dose.ward_code,
        detail={"version": dose.version, "candidates": len(candidates)}, at=now,
    )  # fmt: skip
    return DoseDetail(
        dose=row,
        raw={f: row.get(f"raw_{f}") for f in ("record_id", *RAW_FIELDS)}
        | {"record_id": dose.record_id},
        link=link,
        candidates=candidates,
        links=link_rows,
        history=history(session, dose.id),
    )

"""Linkage evidence written outside a batch run: people's decisions and the online re-link.

Each write is a `link_run` (engine `human` or `online`) with one `dose_link` per dose, so the
worklist always reads one thing, a dose's latest `dose_link`, whoever decided it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.auth.service import Principal
from vaxlink.linkage.service import (
    MODEL_NAME,
    DoseLink,
    LinkModel,
    LinkResult,
    LinkRunRecord,
    model_digest,
    verify_person,
)
from vaxlink.records.service import DoseRecord, set_status
from vaxlink.registry.service import PersonQuery, RegistryPort, RegistryUnavailable

#: `dose_link.rule` of a person's decision, and of a decision fed to the person's other doses.
HUMAN_RULE = "human"
HUMAN_PROPAGATED_RULE = "human_propagated"
#: `dose_link.rule` when an officer undid a decision: the dose is back to its earlier status.
HUMAN_UNDO_RULE = "human_undo"
ONLINE_RULE = "online"


_DIGESTS: dict[int, tuple[LinkModel, str]] = {}


def _digest(model: LinkModel) -> str:
    """The model's digest, computed once per loaded model."""
    known = _DIGESTS.get(id(model))
    if known is None or known[0] is not model:
        known = _DIGESTS[id(model)] = (model, model_digest(model))
    return known[1]


def latest_links(session: Session, dose_ids: Sequence[int]) -> dict[int, DoseLink]:
    """Each dose's latest linkage decision (the highest run), by dose id."""
    if not dose_ids:
        return {}
    last = (
        select(DoseLink.dose_record_id, func.max(DoseLink.run_id).label("run_id"))
        .where(DoseLink.dose_record_id.in_(dose_ids))
        .group_by(DoseLink.dose_record_id)
        .subquery()
    )
    rows = session.scalars(
        select(DoseLink).join(
            last,
            (last.c.dose_record_id == DoseLink.dose_record_id) & (last.c.run_id == DoseLink.run_id),
        )
    )
    return {link.dose_record_id: link for link in rows}


def _new_run(
    session: Session,
    principal: Principal,
    engine: str,
    statuses: Sequence[str],
    model: LinkModel | None,
    now: dt.datetime,
) -> LinkRunRecord:
    run = LinkRunRecord(
        started_at=now, finished_at=now, started_by=principal.username, engine=engine,
        model_name=MODEL_NAME if model else HUMAN_RULE, model_version=model.version if model else 0,
        model_digest=_digest(model) if model else "", registry_size=0,
        doses_in=len(statuses), doses_written=len(statuses), doses_skipped=0,
        verified=statuses.count("verified"), auto_linked=statuses.count("auto_linked"),
        review=statuses.count("review"), unmatched=statuses.count("unmatched"),
        invalid=statuses.count("invalid"),
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run


def write_human_links(
    session: Session,
    principal: Principal,
    decided: dict[int, str],
    *,
    status: str,
    citizen_id: str | None,
    reason: str | None,
    now: dt.datetime,
) -> None:
    """One human run: a `dose_link` per decided dose (`decided`: dose id -> rule), keeping the
    candidates and explanation the people decided from."""
    if not decided:
        return
    run = _new_run(session, principal, HUMAN_RULE, [status] * len(decided), None, now)
    previous = latest_links(session, list(decided))
    for dose_id, rule in decided.items():
        prev = previous.get(dose_id)
        session.add(
            DoseLink(
                dose_record_id=dose_id, run_id=run.id, status=status, citizen_id=citizen_id,
                match_probability=1.0 if citizen_id else None, corrected_fields=None,
                candidates=list(prev.candidates) if prev else [], reason=reason, rule=rule,
                explanation=prev.explanation if prev else None, decided_at=now,
            )
        )  # fmt: skip
    session.flush()


def query_of(dose: DoseRecord) -> PersonQuery:
    """The dose's current (corrected) identity, as the registry port is asked about it."""
    return PersonQuery(
        full_name=dose.full_name or "?", date_of_birth=dose.date_of_birth, sex=dose.sex,
        id_number=dose.id_number, phone=dose.phone, province_code=dose.province_code,
        district_code=dose.district_code, ward_code=dose.ward_code,
    )  # fmt: skip


def _explanation(result: LinkResult) -> list[dict[str, Any]]:
    return [
        {
            "citizen_id": c.citizen_id, "probability": round(c.probability, 6),
            "match_weight": round(c.match_weight, 2) if math.isfinite(c.match_weight) else None,
            "fields": {k: {"level": lv, "bits": w} for k, (lv, w) in c.fields.items()},
        }
        for c in result.candidates
    ]  # fmt: skip


def relink_one(
    session: Session,
    principal: Principal,
    dose: DoseRecord,
    registry: RegistryPort,
    model: LinkModel,
    now: dt.datetime,
) -> LinkResult | None:
    """Link one (pending) dose again from its corrected identity, online; None when the
    registry cannot be asked (the dose stays pending for the next `vaxlink verify`)."""
    try:
        result = verify_person(query_of(dose), registry, model)
    except RegistryUnavailable:
        return None
    run = _new_run(session, principal, ONLINE_RULE, [result.status], model, now)
    set_status(dose, result.status, citizen_id=result.citizen_id)
    session.add(
        DoseLink(
            dose_record_id=dose.id, run_id=run.id, status=result.status,
            citizen_id=result.citizen_id, match_probability=result.match_probability,
            corrected_fields=";".join(result.corrected_fields) or None,
            candidates=[{"citizen_id": c.citizen_id, "probability": round(c.probability, 6)}
                        for c in result.candidates],
            reason=result.reason, rule=ONLINE_RULE, explanation=_explanation(result),
            decided_at=now,
        )
    )  # fmt: skip
    session.flush()
    return result

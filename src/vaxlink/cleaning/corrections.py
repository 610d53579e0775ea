"""Corrections and decisions on one dose: scoped, permitted per field, versioned, audited.

"Health verifies vaccination, police verify identity": each field needs its permission
(`fields.FIELD_PERMISSION`); decisions about who a dose belongs to need IDENTITY_CORRECT. Every
save names the version it was made from; a stale one raises `EditConflict` with what the other
person saved, and nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from vaxlink.auth import service as auth
from vaxlink.auth.service import ON_BEHALF_OF, OutOfScope, Permission, Principal
from vaxlink.auth.service import append as record
from vaxlink.cleaning import links, police_lists
from vaxlink.cleaning.errors import (
    CannotUndo,
    DoseNotFound,
    EditConflict,
    InvalidCorrection,
    NeedsSecondStep,
    NotInRegistry,
    NotPermitted,
)
from vaxlink.cleaning.fields import (
    FIELD_PERMISSION,
    IDENTITY_FIELDS,
    PARSERS,
    VACCINATION_FIELDS,
    parse_changes,
    shown,
)
from vaxlink.cleaning.models import ChangeKind, DoseCorrection
from vaxlink.cleaning.propagate import UNDECIDED, propagate
from vaxlink.clock import Clock
from vaxlink.identity import classify_id, fold_name, normalise_id
from vaxlink.linkage.service import LinkModel
from vaxlink.records.service import DoseRecord, DoseStatus, restore_status, set_status
from vaxlink.registry.service import RegistryPerson, RegistryPort

Decision = Literal["confirm", "identity", "cannot_verify"]
DECISIONS: Final = ("confirm", "identity", "cannot_verify")
#: Why an officer cannot verify a person here (the first word of a cannot_verify reason).
CANNOT_VERIFY_REASONS: Final = (
    "not_resident", "moved_away", "unknown_person", "deceased", "duplicate_record", "other",
)  # fmt: skip


#: Below this probability the linkage thought a candidate unlikely: confirming it is a second step.
WEAK_BELOW: Final = 0.5
#: The decisions an officer can undo (with what they propagated).
UNDOABLE: Final = (ChangeKind.CONFIRM, ChangeKind.IDENTITY, ChangeKind.CANNOT_VERIFY)


def disagreements(
    row: Mapping[str, Any], person: RegistryPerson, probability: float | None
) -> list[tuple[str, str, str]]:
    """What speaks against the record being this registry person: (what, the record's value,
    the registry's value) for another given name, another date of birth (as far as the record
    gives it), another sex, and a candidate the linkage found unlikely."""
    out: list[tuple[str, str, str]] = []
    mine, theirs = fold_name(str(row.get("full_name") or "")), fold_name(person.full_name)
    if mine and mine != theirs and mine.split()[-1:] != theirs.split()[-1:]:
        out.append(("full_name", str(row.get("full_name")), person.full_name))
    dob = str(row.get("date_of_birth") or "")
    if dob and not person.date_of_birth.startswith(dob):
        out.append(("date_of_birth", dob, person.date_of_birth))
    sex = row.get("sex")
    if sex and person.sex and sex != person.sex:
        out.append(("sex", str(sex), person.sex))
    if probability is not None and probability < WEAK_BELOW:
        out.append(("probability", f"{probability * 100:.1f}%", ""))
    return out


def editable_fields(principal: Principal) -> list[str]:
    """The fields of a dose the principal may correct (health: vaccination, police: identity)."""
    return [
        f for f in (*VACCINATION_FIELDS, *IDENTITY_FIELDS) if principal.can(FIELD_PERMISSION[f])
    ]


def may_decide(principal: Principal) -> bool:
    """Whether the principal decides who a dose belongs to (the commune police)."""
    return principal.can(Permission.IDENTITY_CORRECT)


def dose_row(dose: DoseRecord) -> dict[str, Any]:
    """The dose's columns as a dict."""
    return {c.key: getattr(dose, c.key) for c in DoseRecord.__table__.columns}


def load_dose(
    session: Session, principal: Principal, dose_id: int, *, lock: bool = False,
    now: dt.datetime,
) -> DoseRecord:  # fmt: skip
    """The dose, when it lies in the principal's unit (else OutOfScope, audited as denied)."""
    dose = session.get(DoseRecord, dose_id, with_for_update=lock or None, populate_existing=lock)
    if dose is None:
        raise DoseNotFound(f"dose {dose_id} does not exist")
    if not principal.covers(
        province=dose.province_code, district=dose.district_code, ward=dose.ward_code
    ):
        # Audited in a transaction of its own once the caller's has ended (it survives the
        # request's rollback), as `auth.deps.ensure_in_scope` does for pages.
        auth.append_after_transaction(
            session, actor=principal, action="access.denied", object_type="dose_record",
            object_id=str(dose.id),
            unit=_unit_of(dose.province_code, dose.district_code, dose.ward_code),
            detail={"reason": "out_of_scope", "account_unit": str(principal.unit)}, at=now,
        )  # fmt: skip
        raise OutOfScope(
            f"this dose record lies outside your area ({principal.unit}); it is handled by "
            "the staff of its own commune, district or province"
        )
    return dose


def _unit_of(province: str | None, district: str | None, ward: str | None) -> str | None:
    for level, code in (("ward", ward), ("district", district), ("province", province)):
        if code:
            return f"{level}:{code}"
    return None


def changes_since(session: Session, dose_id: int, base_version: int) -> list[dict[str, Any]]:
    """The saved versions made from `base_version` or later, oldest first, fields grouped."""
    rows = session.scalars(
        select(DoseCorrection)
        .where(
            DoseCorrection.dose_record_id == dose_id, DoseCorrection.base_version >= base_version
        )
        .order_by(DoseCorrection.version, DoseCorrection.id)
    )
    return group_versions(rows)


def history(session: Session, dose_id: int) -> list[dict[str, Any]]:
    """Every saved version of the dose, newest first."""
    rows = session.scalars(
        select(DoseCorrection)
        .where(DoseCorrection.dose_record_id == dose_id)
        .order_by(DoseCorrection.version.desc(), DoseCorrection.id)
    )
    return group_versions(rows)


def group_versions(rows: Any) -> list[dict[str, Any]]:
    """Correction rows grouped into versions: who, when, why, and each field's old and new."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if not out or out[-1]["version"] != r.version:
            out.append({
                "version": r.version, "kind": r.kind, "at": r.at, "by": r.changed_by_username,
                "role": r.role, "on_behalf_of": r.on_behalf_of, "reason": r.reason,
                "ticket_id": r.ticket_id, "base_version": r.base_version, "fields": [],
                "verification_list": r.verification_list_id,
            })  # fmt: skip
        out[-1]["fields"].append({"field": r.field, "old": r.old_value, "new": r.new_value})
    return out


def _check_version(session: Session, dose: DoseRecord, expected_version: int) -> None:
    if dose.version != expected_version:
        raise EditConflict(
            f"dose {dose.record_id} was changed after you opened it (you had version "
            f"{expected_version}, it is now {dose.version}); nothing of yours was saved: "
            "look at the other change and enter yours again if it is still needed",
            current_version=dose.version,
            changes=changes_since(session, dose.id, expected_version),
        )


def next_version(session: Session, dose_id: int) -> int:
    """The next correction version number of a dose."""
    last = session.scalar(
        select(func.max(DoseCorrection.version)).where(DoseCorrection.dose_record_id == dose_id)
    )
    return int(last or 0) + 1


def write_version(
    session: Session,
    principal: Principal,
    dose: DoseRecord,
    *,
    kind: ChangeKind,
    base_version: int,
    changed: Mapping[str, tuple[str | None, str | None]],
    reason: str | None,
    now: dt.datetime,
    ticket_id: int | None = None,
    verification_list_id: int | None = None,
) -> int:
    """One version of the dose's history: a row per changed field (old, new), at `now`."""
    with session.no_autoflush:  # the dose's pending update is flushed by `_flush`, checked
        version = next_version(session, dose.id)
    on_behalf = ON_BEHALF_OF.get(principal.role)
    for field, (old, new) in changed.items():
        session.add(
            DoseCorrection(
                dose_record_id=dose.id, version=version, kind=kind, base_version=base_version,
                changed_by=principal.user_id, changed_by_username=principal.username,
                role=str(principal.role), on_behalf_of=str(on_behalf) if on_behalf else None,
                at=now, reason=reason, field=field, old_value=old, new_value=new,
                ticket_id=ticket_id, verification_list_id=verification_list_id,
            )
        )  # fmt: skip
    return version


def _flush(session: Session, dose: DoseRecord) -> None:
    """Write the dose and its version; a row or a version number taken meanwhile by another
    save (the row's version check, or `dose_correction`'s unique version) is a conflict."""
    record_id = dose.record_id  # the failed flush expires the object
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise EditConflict(
            f"dose {record_id} was changed by someone else while you were saving; "
            "nothing of yours was saved",
            current_version=-1,
            changes=[],
        ) from exc


def correct_dose(
    session: Session,
    principal: Principal,
    dose_id: int,
    *,
    expected_version: int,
    changes: dict[str, object],
    reason: str,
    registry: RegistryPort,
    model: LinkModel,
    clock: Clock,
    ticket_id: int | None = None,
    verification_list: int | None = None,
) -> DoseRecord:
    """Save a correction of some fields of one dose as a new version; an identity change sends
    the dose back to linkage and links it again online, for this one person.

    The commune committee (IDENTITY_TYPE_VERIFIED) may correct identity fields only of a dose on
    a police verification list of its unit that the police marked verified, naming it in
    `verification_list`; the version records the list."""
    denied = sorted(
        f for f in changes if f in FIELD_PERMISSION and not principal.can(FIELD_PERMISSION[f])
    )
    typed_for_police = (
        bool(denied)
        and principal.can(Permission.IDENTITY_TYPE_VERIFIED)
        and all(FIELD_PERMISSION[f] is Permission.IDENTITY_CORRECT for f in denied)
    )
    list_id: int | None = None
    if typed_for_police:
        load_dose(session, principal, dose_id, now=clock.now())  # scope first, audited if not
        list_id = police_lists.require_verified(session, principal, dose_id, verification_list)
        denied = []
    if denied:
        who = (
            "police"
            if FIELD_PERMISSION[denied[0]] is Permission.IDENTITY_CORRECT
            else "health staff"
        )
        raise NotPermitted(f"only {who} may correct {', '.join(denied)} (health verifies "
                           "vaccination, police verify identity)")  # fmt: skip
    if not (reason or "").strip():
        raise InvalidCorrection("say why the dose is corrected (reason)").keyed(
            "error.reason_missing"
        )
    dose = load_dose(session, principal, dose_id, lock=True, now=clock.now())
    _check_version(session, dose, expected_version)
    now = clock.now()
    parsed = parse_changes(changes, dose_row(dose), clock.today())
    if not parsed:
        return dose
    before = dose_row(dose)
    for cols in parsed.values():
        for column, value in cols.items():
            setattr(dose, column, value)
    after = dose_row(dose)
    changed = {f: (shown(f, before), shown(f, after)) for f in parsed}
    identity = any(f in IDENTITY_FIELDS for f in parsed)
    if identity:
        set_status(dose, DoseStatus.PENDING, citizen_id=None)
        changed["status"] = (before["status"], str(DoseStatus.PENDING))
        changed["citizen_id"] = (before["citizen_id"], None)
    note = reason.strip()
    if list_id is not None:
        note = f"theo danh sách công an số {list_id} (police list {list_id}): {note}"
    version = write_version(session, principal, dose, kind=ChangeKind.CORRECTION,
                            base_version=expected_version, changed=changed, reason=note,
                            now=now, ticket_id=ticket_id, verification_list_id=list_id)  # fmt: skip
    _flush(session, dose)
    relinked = None
    if identity:
        relinked = links.relink_one(session, principal, dose, registry, model, now)
        _flush(session, dose)
    record(
        session, actor=principal, action="dose.correct", object_type="dose_record",
        object_id=str(dose.id), unit=dose.ward_code,
        detail={"fields": sorted(parsed), "correction_version": version,
                "from_version": expected_version, "to_version": dose.version,
                "ticket_id": ticket_id, "relinked": relinked.status if relinked else None,
                "verification_list": list_id}, at=now
    )  # fmt: skip
    return dose


def _person(registry: RegistryPort, citizen_id: str) -> RegistryPerson:
    person = registry.get(citizen_id)
    if person is None:
        raise NotInRegistry(
            f"ID number {citizen_id} is not in the population registry: check it on the "
            "person's ID card, or mark the dose as 'cannot be verified here'"
        )
    return person


def _identity_changes(
    identity: Mapping[str, Any], person: RegistryPerson, today: dt.date
) -> dict[str, object]:
    """The identity the officer typed, checked against the registry's record of that ID."""
    given = {k: str(v).strip() for k, v in identity.items()
             if k in IDENTITY_FIELDS and v is not None and str(v).strip()}  # fmt: skip
    wrong = []
    if "full_name" in given and fold_name(given["full_name"]) != fold_name(person.full_name):
        wrong.append("full name")
    dob = given.get("date_of_birth")
    if dob and PARSERS["date_of_birth"](dob, {}, today)["date_of_birth"] != person.date_of_birth:
        wrong.append("date of birth")
    if "sex" in given and PARSERS["sex"](given["sex"], {}, today)["sex"] != person.sex:
        wrong.append("sex")
    if wrong:
        raise InvalidCorrection(
            f"the registry holds another {', '.join(wrong)} for ID number {person.citizen_id}: "
            "check the ID number on the person's ID card"
        )
    return {**given, "id_number": person.citizen_id}


def decide(
    session: Session,
    principal: Principal,
    dose_id: int,
    *,
    expected_version: int,
    decision: Decision | str,
    citizen_id: str | None = None,
    identity: dict[str, Any] | None = None,
    cannot_verify_reason: str | None = None,
    reason: str | None = None,
    registry: RegistryPort,
    model: LinkModel | None = None,
    clock: Clock,
    acknowledged: bool = False,
) -> DoseRecord:
    """An officer's decision on who a dose belongs to, fed to the person's other doses:
    `confirm` a candidate, enter the right `identity` (checked against the registry), or
    `cannot_verify` with `cannot_verify_reason`, one of CANNOT_VERIFY_REASONS. `reason` is the
    officer's note; the history keeps "code: note". Confirming a candidate that `disagreements`
    finds weak or contradicting raises `NeedsSecondStep` unless `acknowledged` (the officer saw
    what disagrees and confirmed again)."""
    if not may_decide(principal):
        raise NotPermitted("only the commune police decide who a dose belongs to")
    if decision not in DECISIONS:
        raise InvalidCorrection(f"decision must be one of {', '.join(DECISIONS)}")
    dose = load_dose(session, principal, dose_id, lock=True, now=clock.now())
    _check_version(session, dose, expected_version)
    if dose.status == DoseStatus.PENDING:
        raise InvalidCorrection(
            f"dose {dose.record_id} is still waiting for linkage; decide it later"
        )
    before = dose_row(dose)
    code = (cannot_verify_reason or "").strip()
    given = (reason or "").strip()
    note = (f"{code}: {given}" if code and given else code or given) or None
    changed: dict[str, tuple[str | None, str | None]] = {}
    if decision == "cannot_verify":
        if code not in CANNOT_VERIFY_REASONS:
            raise InvalidCorrection(f"give a reason: one of {', '.join(CANNOT_VERIFY_REASONS)}")
        status, linked = str(DoseStatus.UNMATCHED), None
        link_reason: str | None = f"cannot_verify:{code}"
        kind = ChangeKind.CANNOT_VERIFY
    else:
        if decision == "confirm":
            cid = normalise_id(citizen_id or "")
            if not cid:
                raise InvalidCorrection("choose the candidate who is this person")
            link = links.latest_links(session, [dose.id]).get(dose.id)
            offered = {c.get("citizen_id") for c in (link.candidates if link else [])}
            offered |= {c.get("citizen_id") for c in (link.explanation or [] if link else [])}
            if cid not in offered:
                raise InvalidCorrection(
                    f"{cid} is not one of this dose's candidates; use 'enter the right identity'"
                )
            person = _person(registry, cid)
            p = next((c.get("probability") for c in (link.candidates if link else [])
                      if c.get("citizen_id") == cid), None)  # fmt: skip
            found = disagreements(before, person, float(p) if p is not None else None)
            if found and not acknowledged:
                raise NeedsSecondStep(
                    f"candidate {cid} disagrees with the record ("
                    + ", ".join(f[0] for f in found)
                    + "): check the person's ID card, then confirm again if it is this person",
                    disagreements=found,
                )
            kind = ChangeKind.CONFIRM
        else:
            typed = dict(identity or {})
            cid = normalise_id(str(typed.get("id_number") or ""))
            if not cid:
                raise InvalidCorrection("enter the person's ID number (CCCD, 12 digits)")
            person = _person(registry, cid)
            edits = parse_changes(
                _identity_changes(typed, person, clock.today()), before, clock.today()
            )
            for cols in edits.values():
                for column, value in cols.items():
                    setattr(dose, column, value)
            after = dose_row(dose)
            changed.update({f: (shown(f, before), shown(f, after)) for f in edits})
            kind = ChangeKind.IDENTITY
        status, linked, link_reason = str(DoseStatus.VERIFIED), person.citizen_id, None
    set_status(dose, status, citizen_id=linked)
    changed["status"] = (before["status"], status)
    changed["citizen_id"] = (before["citizen_id"], linked)
    version = write_version(session, principal, dose, kind=kind, base_version=expected_version,
                            changed=changed, reason=note, now=clock.now())  # fmt: skip
    _flush(session, dose)
    others = propagate(session, principal, before, status=status, citizen_id=linked,
                       reason=note, link_reason=link_reason, now=clock.now(),
                       source_version=version)  # fmt: skip
    decided = {dose.id: links.HUMAN_RULE, **dict.fromkeys(others, links.HUMAN_PROPAGATED_RULE)}
    links.write_human_links(session, principal, decided, status=status, citizen_id=linked,
                            reason=link_reason, now=clock.now())  # fmt: skip
    record(
        session, actor=principal, action=f"dose.decide.{decision}", object_type="dose_record",
        object_id=str(dose.id), unit=dose.ward_code,
        detail={"decision": decision, "correction_version": version,
                "from_version": expected_version, "to_version": dose.version,
                "fields": sorted(f for f in changed if f in IDENTITY_FIELDS),
                "reason_code": link_reason, "propagated_to": others,
                "acknowledged": bool(acknowledged)}, at=clock.now()
    )  # fmt: skip
    return dose


def _restore(dose: DoseRecord, field: str, value: str | None) -> None:
    """Put a field's value from before a decision back, with the columns derived from it."""
    if field == "full_name":
        dose.full_name = value or ""
        dose.name_folded = fold_name(value or "")
    elif field == "date_of_birth":
        dose.date_of_birth = value
        dose.dob_precision = (
            {4: "year", 7: "month", 10: "day"}.get(len(value or "")) if value else None
        )
    elif field == "id_number":
        dose.id_number = value
        dose.id_kind = str(classify_id(value or ""))
    elif field == "sex":
        dose.sex = value


def _last_version(session: Session, dose_id: int) -> list[DoseCorrection]:
    rows = list(session.scalars(
        select(DoseCorrection).where(DoseCorrection.dose_record_id == dose_id)
        .order_by(DoseCorrection.version.desc(), DoseCorrection.id)
    ))  # fmt: skip
    return [r for r in rows if r.version == rows[0].version] if rows else []


def undo_decision(
    session: Session,
    principal: Principal,
    dose_id: int,
    *,
    expected_version: int,
    reason: str,
    clock: Clock,
) -> tuple[DoseRecord, list[int], list[int]]:
    """Undo the police decision that is the dose's last change (reversible, as the CDC/AIRA
    de-duplication guidance asks): the dose gets back its status, citizen and identity from
    before it, and so does every dose the decision was fed to that nobody changed since. Returns
    (the dose, the doses reverted, the doses left because they changed since)."""
    if not may_decide(principal):
        raise NotPermitted("only the commune police undo a decision about who a dose belongs to")
    if not (reason or "").strip():
        raise InvalidCorrection("say why the decision is undone (reason)")
    now = clock.now()
    dose = load_dose(session, principal, dose_id, lock=True, now=now)
    _check_version(session, dose, expected_version)
    last = _last_version(session, dose.id)
    if not last or last[0].kind not in UNDOABLE:
        raise CannotUndo(
            f"the last change of dose {dose.record_id} is not a police decision: there is "
            "nothing to undo (a decision can be undone while it is the dose's last change)"
        )
    decision_version = last[0].version
    before = dose_row(dose)
    for r in last:
        if r.field not in ("status", "citizen_id"):
            _restore(dose, r.field, r.old_value)
    old = {r.field: r.old_value for r in last}
    restore_status(
        dose, old.get("status") or str(DoseStatus.REVIEW), citizen_id=old.get("citizen_id")
    )
    after = dose_row(dose)
    changed = {r.field: (shown(r.field, before), shown(r.field, after)) for r in last}
    note = f"undo v{decision_version}: {reason.strip()}"
    version = write_version(session, principal, dose, kind=ChangeKind.UNDO,
                            base_version=expected_version, changed=changed, reason=note, now=now)  # fmt: skip
    _flush(session, dose)
    # What the decision propagated: reverted where that change is still the dose's last one.
    fed = session.scalars(
        select(DoseCorrection).where(DoseCorrection.source_dose_id == dose.id,
                                     DoseCorrection.source_version == decision_version)
    ).all()  # fmt: skip
    by_dose: dict[int, list[DoseCorrection]] = {}
    for r in fed:
        by_dose.setdefault(r.dose_record_id, []).append(r)
    reverted: list[int] = []
    kept: list[int] = []
    for other_id, rows in sorted(by_dose.items()):
        other = session.get(DoseRecord, other_id, with_for_update=True)
        current = _last_version(session, other_id)
        if other is None or not current or current[0].version != rows[0].version:
            kept.append(other_id)
            continue
        was = {r.field: r.old_value for r in rows}
        other_before = dose_row(other)
        restore_status(
            other, was.get("status") or str(UNDECIDED[1]), citizen_id=was.get("citizen_id")
        )
        other_after = dose_row(other)
        write_version(session, principal, other, kind=ChangeKind.UNDO, base_version=other.version,
                      changed={f: (shown(f, other_before), shown(f, other_after)) for f in was},
                      reason=f"undo of dose {dose.id} v{decision_version}: {reason.strip()}",
                      now=now)  # fmt: skip
        _flush(session, other)
        reverted.append(other_id)
    restored: dict[str, list[int]] = {}
    for d in [dose, *(session.get(DoseRecord, i) for i in reverted)]:
        if d is not None:
            restored.setdefault(str(d.status), []).append(d.id)
    for status, ids in restored.items():
        links.write_human_links(session, principal, dict.fromkeys(ids, links.HUMAN_UNDO_RULE),
                                status=status, citizen_id=None, reason="undone", now=now)  # fmt: skip
    record(
        session, actor=principal, action="dose.decide.undo", object_type="dose_record",
        object_id=str(dose.id), unit=dose.ward_code,
        detail={"undone_version": decision_version, "correction_version": version,
                "from_version": expected_version, "to_version": dose.version,
                "reverted": reverted, "kept": kept}, at=now,
    )  # fmt: skip
    return dose, reverted, kept

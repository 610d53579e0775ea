"""Numbered police verification lists: the evidence that lets the commune committee type
identity fixes.

The procedure (HCMC DoH 2665/SYT-NVY): the health station's records with wrong personal data go
to the commune police, who verify and correct identities on paper; the commune People's Committee
then types the police-verified fixes onto the platform on the station's behalf. Here:

1. Each worklist Excel export made by a police account is a **police verification list**: a
   stored record with a number, the officer, the time, the doses and each dose's version.
2. When the police return the list signed (or check it in the app), an officer of the same unit
   marks it **verified**, naming the signed paper (`paper_ref`).
3. The commune committee may correct identity fields (name, date of birth, sex, ID number) only
   of a dose on a verified list of its unit, citing the list's number; the correction version
   records the list (`dose_correction.verification_list_id`). Anything else is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from vaxlink.auth.service import OutOfScope, Permission, Principal, append_after_transaction
from vaxlink.auth.service import append as record
from vaxlink.cleaning.errors import DoseNotFound, InvalidCorrection, NotPermitted
from vaxlink.cleaning.models import DoseCorrection, PoliceList, PoliceListItem
from vaxlink.errors import VaxlinkError
from vaxlink.geo.codes import Level
from vaxlink.geo.index import UnitIndex
from vaxlink.records.service import DoseRecord


class NotOnVerifiedList(NotPermitted):
    """An identity fix by the committee that no verified police list covers."""

    code = "not_on_verified_list"


@dataclass(frozen=True)
class ListRow:
    """A list as its pages show it."""

    id: int
    unit: str
    created_by: str
    created_at: dt.datetime
    doses: int
    verified: bool
    verified_by: str | None
    verified_at: dt.datetime | None
    paper_ref: str | None


def _row(p: PoliceList) -> ListRow:
    return ListRow(p.id, p.unit, p.created_by_username, p.created_at, p.doses,
                   p.verified_at is not None, p.verified_by_username, p.verified_at,
                   p.paper_ref)  # fmt: skip


def _visible(principal: Principal, unit: str) -> bool:
    """A list lies where it was made (the officer's unit): seen by the accounts of that unit and
    of the units above it; another commune's list is outside."""
    try:
        path = {k.level: k.code for k in UnitIndex.for_version().path(unit)}
    except (KeyError, ValueError, VaxlinkError):
        return unit == str(principal.unit)
    return principal.covers(
        province=path.get(Level.PROVINCE), district=path.get(Level.DISTRICT),
        ward=path.get(Level.WARD),
    )  # fmt: skip


def create_list(
    session: Session, principal: Principal, doses: Sequence[tuple[int, int]], *, now: dt.datetime
) -> int:
    """A new numbered list of (dose id, version) made by a police officer; audited. One
    multi-row insert for the items (a list holds up to the export's 20 000 rows)."""
    if not principal.can(Permission.IDENTITY_CORRECT):
        raise NotPermitted(
            "chỉ công an xã lập danh sách xác minh (only the commune police make a verification "
            "list)"
        )
    plist = PoliceList(unit=str(principal.unit), created_by=principal.user_id,
                       created_by_username=principal.username, created_at=now, doses=len(doses))  # fmt: skip
    session.add(plist)
    session.flush()
    if doses:
        session.execute(
            insert(PoliceListItem),
            [{"list_id": plist.id, "dose_record_id": d, "version": v} for d, v in doses],
        )
    record(session, actor=principal, action="police_list.create", object_type="police_list",
           object_id=str(plist.id), unit=plist.unit, detail={"doses": len(doses)}, at=now)  # fmt: skip
    return plist.id


def get_list(session: Session, principal: Principal, list_id: int, *, now: dt.datetime) -> ListRow:
    """One list of the principal's unit (another unit's is refused, and the refusal audited)."""
    plist = session.get(PoliceList, list_id)
    if plist is None:
        raise DoseNotFound(f"không có danh sách xác minh số {list_id} (no verification list "
                           f"{list_id})")  # fmt: skip
    if not _visible(principal, plist.unit):
        append_after_transaction(
            session, actor=principal, action="access.denied", object_type="police_list",
            object_id=str(list_id), unit=plist.unit,
            detail={"reason": "out_of_scope", "account_unit": str(principal.unit)}, at=now,
        )  # fmt: skip
        raise OutOfScope(
            f"danh sách số {list_id} thuộc đơn vị khác (list {list_id} belongs to another unit)"
        )
    return _row(plist)


def lists(session: Session, principal: Principal, *, limit: int = 100) -> list[ListRow]:
    """The lists of the principal's unit, newest first."""
    rows = session.scalars(
        select(PoliceList).where(PoliceList.unit == str(principal.unit))
        .order_by(PoliceList.id.desc()).limit(limit)
    )  # fmt: skip
    return [_row(p) for p in rows]


def waiting_to_type(session: Session, principal: Principal, *, cap: int) -> int:
    """Doses on the unit's police-verified lists for which nothing has been typed under that
    list or a later one yet: the committee's work (the paper list says which need a fix), up to
    `cap`. Each dose counts once, however many lists hold it; a fix typed under a newer list
    answers the older ones too, while a dose listed again after its fix waits again."""
    i, p, c = PoliceListItem, PoliceList, DoseCorrection
    typed = select(c.id).where(c.dose_record_id == i.dose_record_id,
                               c.verification_list_id >= i.list_id).exists()  # fmt: skip
    inner = (
        select(i.dose_record_id).distinct().join(p, p.id == i.list_id)
        .where(p.unit == str(principal.unit), p.verified_at.is_not(None), ~typed)
        .limit(cap).subquery()
    )  # fmt: skip
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


def list_doses(
    session: Session, principal: Principal, list_id: int, *, now: dt.datetime
) -> list[dict[str, Any]]:
    """The doses on a list (id, record id, listed version, current version, status, name),
    audited as a view of each."""
    get_list(session, principal, list_id, now=now)
    d, i = DoseRecord, PoliceListItem
    stmt = (
        select(d.id, d.record_id, d.version, d.status, d.full_name, i.version.label("listed"))
        .join(i, i.dose_record_id == d.id).where(i.list_id == list_id).order_by(d.id)
    )  # fmt: skip
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    record(session, actor=principal, action="police_list.view", object_type="police_list",
           object_id=str(list_id), unit=str(principal.unit),
           detail={"doses": [r["id"] for r in rows]}, at=now)  # fmt: skip
    return rows


def mark_verified(
    session: Session, principal: Principal, list_id: int, *, paper_ref: str, now: dt.datetime
) -> ListRow:
    """The police mark their list verified (returned signed): from now on the committee may type
    the identity fixes of its doses. `paper_ref` names the signed paper; audited."""
    if not principal.can(Permission.IDENTITY_CORRECT):
        raise NotPermitted("chỉ công an xã xác nhận danh sách (only the commune police verify a "
                           "list)")  # fmt: skip
    get_list(session, principal, list_id, now=now)
    ref = " ".join((paper_ref or "").split())
    if not ref:
        raise InvalidCorrection(
            "ghi số/ngày của bản danh sách đã ký (give the signed paper's number or date)"
        )
    if len(ref) > 200:
        raise InvalidCorrection("số văn bản quá dài, tối đa 200 ký tự (at most 200 characters)")
    plist = session.get(PoliceList, list_id, with_for_update=True, populate_existing=True)
    assert plist is not None
    if plist.verified_at is None:
        plist.verified_at = now
        plist.verified_by = principal.user_id
        plist.verified_by_username = principal.username
        plist.paper_ref = ref
        session.flush()
        record(session, actor=principal, action="police_list.verify", object_type="police_list",
               object_id=str(list_id), unit=plist.unit, detail={"doses": plist.doses}, at=now)  # fmt: skip
    return _row(plist)


def require_verified(
    session: Session, principal: Principal, dose_id: int, list_id: int | None
) -> int:
    """The verified list of the principal's unit that holds the dose, or a refusal saying what
    is missing: the committee types identity fixes only for doses the police verified."""
    if list_id is None:
        raise NotOnVerifiedList(
            "UBND xã chỉ nhập sửa định danh theo danh sách công an đã xác minh: ghi số danh sách "
            "(the commune committee types identity fixes only from a police-verified list: give "
            "the list number)"
        )
    plist = session.get(PoliceList, list_id)
    if plist is None or not _visible(principal, plist.unit):
        raise NotOnVerifiedList(
            f"không có danh sách xác minh số {list_id} của đơn vị (no verification list "
            f"{list_id} in your unit)"
        )
    if plist.verified_at is None:
        raise NotOnVerifiedList(
            f"danh sách số {list_id} chưa được công an xác nhận đã xác minh (list {list_id} is "
            "not yet marked verified by the police)"
        )
    held = session.scalar(
        select(func.count()).select_from(PoliceListItem)
        .where(PoliceListItem.list_id == list_id, PoliceListItem.dose_record_id == dose_id)
    )  # fmt: skip
    if not held:
        raise NotOnVerifiedList(
            f"mũi tiêm này không có trong danh sách số {list_id} công an đã xác minh (this dose "
            f"is not on police list {list_id})"
        )
    return list_id


def verified_lists_of(session: Session, principal: Principal, dose_id: int) -> list[int]:
    """The verified lists of the principal's unit holding the dose (for the dose page)."""
    stmt = (
        select(PoliceList.id).join(PoliceListItem, PoliceListItem.list_id == PoliceList.id)
        .where(PoliceListItem.dose_record_id == dose_id, PoliceList.unit == str(principal.unit),
               PoliceList.verified_at.is_not(None))
        .order_by(PoliceList.id.desc())
    )  # fmt: skip
    return list(session.scalars(stmt))

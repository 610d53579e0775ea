"""Doses given but never entered, collected and entered by the commune committee (backfill).

HCMC DoH 2665/SYT-NVY: doses given but never entered on the platform are collected by the
commune People's Committee (from the person's paper vaccination card or the site's logbook) and
entered with the station's account. Here the committee enters each one with the evidence it
rests on (what it is, its reference, who collected it), recorded in the dose's raw `extra` and
the audit log, on the health station's behalf. The identity is not confirmed by anyone in front
of the person, so the dose is stored `pending`: linkage and then the commune police verify it
like any imported record, and the site's approver signs it like any other dose of the site.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.service import ON_BEHALF_OF, Permission, Principal
from vaxlink.cleaning import schedule
from vaxlink.cleaning.entry import DoseInput, _checked_dose
from vaxlink.cleaning.entry_errors import BackfillInvalid, DoseAlreadyOnRecord, EntryNotAllowed
from vaxlink.cleaning.identify import unit_of
from vaxlink.facilities import service as facilities
from vaxlink.geo.codes import Level
from vaxlink.geo.index import UnitIndex
from vaxlink.identity import (
    IdentityParseError,
    IdKind,
    classify_id,
    fold_name,
    normalise_id,
    normalise_name,
    parse_date,
    parse_sex,
)
from vaxlink.records.service import (
    DoseRecord,
    DoseStatus,
    add_web_dose,
    already_on_record,
    precision,
)

MAX_REF: Final = 200


class Evidence(StrEnum):
    """What a backfilled dose rests on."""

    CARD = "vaccination_card"  # phiếu/giấy xác nhận tiêm của người dân
    LOGBOOK = "site_logbook"  # sổ tiêm chủng tại điểm tiêm


@dataclass(frozen=True, slots=True)
class Person:
    """The person as the evidence names them."""

    full_name: str
    date_of_birth: str
    sex: str
    id_number: str


@dataclass(frozen=True, slots=True)
class Source:
    """The evidence: its kind, its reference (card number, logbook page and line), who
    collected it."""

    kind: str
    reference: str
    collected_by: str


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def _commune(principal: Principal) -> tuple[str, str, str]:
    if principal.unit.level is not Level.WARD:
        raise EntryNotAllowed(
            "chỉ tài khoản cấp xã nhập bổ sung mũi tiêm (only a commune account backfills doses)"
        )
    _nation, province, district, ward = UnitIndex.for_version().path(principal.unit)
    return province.code, district.code, ward.code


def backfill_dose(
    session: Session,
    principal: Principal,
    *,
    person: Person,
    dose: DoseInput,
    site: str,
    source: Source,
    now: dt.datetime,
) -> DoseRecord:
    """Enter a dose given at `site` but never entered, resting on `source`; stored `pending` in
    the site's web batch of the day for the commune of the account; audited."""
    if not principal.can(Permission.DOSE_BACKFILL):
        raise EntryNotAllowed("tài khoản này không được nhập bổ sung mũi tiêm (this account may "
                              "not backfill doses)")  # fmt: skip
    province, district, ward = _commune(principal)
    problems: list[str] = []
    keys: list[tuple[str, dict[str, object]]] = []

    def problem(text: str, key: str, **values: object) -> None:
        problems.append(text)
        keys.append((key, values))

    kind = source.kind if source.kind in set(Evidence) else ""
    ref, collector = _clean(source.reference), _clean(source.collected_by)
    if not kind:
        problem("chọn loại chứng cứ: phiếu tiêm hoặc sổ tiêm (choose the evidence)",
                "backfill.err.evidence")  # fmt: skip
    if not ref or len(ref) > MAX_REF:
        problem("ghi số phiếu / trang, dòng của sổ tiêm (give the evidence's reference)",
                "backfill.err.reference")  # fmt: skip
    if not collector or len(collector) > 120:
        problem("ghi họ tên người thu thập (give who collected it)", "backfill.err.collector")
    code = _clean(site)
    facility = facilities.find(session, code) if code else None
    if facility is None:
        problem(f"mã cơ sở tiêm «{code}» không có trong danh mục (unknown site code)",
                "backfill.err.site", code=code)  # fmt: skip
    name = normalise_name(person.full_name or "")
    if not fold_name(name).strip():
        problem("ghi họ tên người được tiêm (type the person's full name)", "backfill.err.name")
    dob = sex = None
    try:
        dob = parse_date(person.date_of_birth, what="date of birth").iso()
        sex = parse_sex(person.sex)
    except IdentityParseError as exc:
        problem(f"ngày sinh hoặc giới tính không đọc được ({exc})", "backfill.err.birth")
    id_raw = _clean(person.id_number)
    digits = normalise_id(id_raw) if id_raw else ""
    if problems:
        raise BackfillInvalid("; ".join(problems), keys)
    assert facility is not None
    vaccine = _checked_dose(dose, now.date())
    if dob is not None and dob > dose.date.isoformat():
        raise BackfillInvalid("ngày sinh sau ngày tiêm (date of birth after the vaccination date)",
                              [("backfill.err.birth_after", {})])  # fmt: skip
    twin = already_on_record(
        session, vaccination_date=dose.date, district_code=district, name_folded=fold_name(name),
        date_of_birth=dob, citizen_id=digits if digits and classify_id(digits) is IdKind.CCCD12 else None,
    )  # fmt: skip
    if twin is not None:
        raise DoseAlreadyOnRecord(
            f"mũi tiêm ngày {dose.date:%d/%m/%Y} của người này đã có trên hệ thống (bản ghi "
            f"{twin.record_id}, cơ sở {twin.facility_code or '?'}): không nhập bổ sung lần nữa "
            f"(this dose is already on record)"
        )
    found = schedule.check([], schedule.Dose(dose.date, vaccine.key, dose.category, dose.sequence),
                           today=now.date())  # fmt: skip
    on_behalf = ON_BEHALF_OF.get(principal.role)
    extra = {"backfill": {
        "evidence": kind, "reference": ref, "collected_by": collector,
        "entered_by": principal.username, "role": str(principal.role),
        "on_behalf_of": str(on_behalf) if on_behalf else None,
        "category": dose.category, "sequence": dose.sequence,
    }}  # fmt: skip
    raw = {
        "full_name": person.full_name, "date_of_birth": person.date_of_birth, "sex": person.sex,
        "id_number": id_raw or None, "phone": None, "province_code": province,
        "district_code": district, "ward_code": ward, "vaccine": dose.vaccine,
        "lot_number": dose.lot, "vaccination_date": dose.date.isoformat(),
        "dose_number": str(dose.sequence), "facility_code": facility.code,
        "extra": json.dumps(extra, ensure_ascii=False, sort_keys=True),
    }  # fmt: skip
    kind_of_id = classify_id(digits) if digits else IdKind.EMPTY
    warnings = [f"schedule warning: {w.code.value}" for w in found]
    parsed: dict[str, object] = {
        "full_name": name, "name_folded": fold_name(name), "date_of_birth": dob,
        "dob_precision": precision(dob) if dob else None, "sex": sex,
        "id_number": digits or None, "id_kind": kind_of_id.value, "phone": None,
        "province_code": province, "district_code": district, "ward_code": ward,
        "vaccine_key": vaccine.key, "vaccine_mp": vaccine.mp, "lot_number": dose.lot.strip(),
        "vaccination_date": dose.date, "dose_number": dose.sequence,
        "dose_category": dose.category, "dose_sequence": dose.sequence,
        "facility_code": facility.code, "warnings": "; ".join(warnings) or None,
    }  # fmt: skip
    stored = add_web_dose(session, facility=facility.code, now=now, raw=raw, parsed=parsed,
                          status=DoseStatus.PENDING, citizen_id=None)  # fmt: skip
    auth.append(
        session, actor=principal, action="dose.backfill", object_type="dose_record",
        object_id=str(stored.id), unit=unit_of(province, district, ward),
        detail={"record_id": stored.record_id, "facility": facility.code, "evidence": kind,
                "on_behalf_of": str(on_behalf) if on_behalf else None,
                "status": stored.status, "warnings": [w.code.value for w in found]}, at=now,
    )  # fmt: skip
    return stored


__all__ = ["Evidence", "Person", "Source", "backfill_dose"]

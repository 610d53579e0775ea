"""Doses inside and outside a commune for the access-matrix test (tests/auth)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.geo.index import UnitIndex
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord

_serial = itertools.count(1)
Case = Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]


def _dose(s: Session, ward: str) -> int:
    _, province, district, _ = (k.code for k in UnitIndex.for_version().path(f"ward:{ward}"))
    batch = ImportBatch(kind="doses", file_name="matrix.csv", file_sha256="0" * 64,
                        file_kind="csv", started_at=dt.datetime.now(dt.UTC))  # fmt: skip
    s.add(batch)
    s.flush()
    n = next(_serial)
    dose = DoseRecord(
        record_id=f"MATRIX-{ward}-{n}", batch_id=batch.id, source_row=n, row_hash="h",
        full_name="Nguyen Van An", name_folded="nguyen van an", date_of_birth="1985-03-14",
        sex="M", id_kind="empty", province_code=province, district_code=district, ward_code=ward,
        vaccine_key="Comirnaty", vaccine_mp="EU/1/20/1528", vaccination_date=dt.date(2021, 8, 1),
        dose_number=1, dose_category="primary", dose_sequence=1, status="unmatched", version=1,
    )  # fmt: skip
    s.add(dose)
    s.flush()
    return dose.id


def _view(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"dose_id": _dose(s, inside)}, {"dose_id": _dose(s, outside)}


def _decide(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"version": "1", "decision": "cannot_verify", "reason": "other"}
    return ({"dose_id": _dose(s, inside), "data": data},
            {"dose_id": _dose(s, outside), "data": data})  # fmt: skip


def _correct(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # No field changed: allowed to police and health staff alike; a saved no-op.
    data = {"version": "1", "reason": "checked, nothing to change"}
    return ({"dose_id": _dose(s, inside), "data": data},
            {"dose_id": _dose(s, outside), "data": data})  # fmt: skip


def _decided(s: Session, ward: str) -> int:
    """A dose whose last change is a police decision (cannot be verified), so it can be undone."""
    from vaxlink.cleaning.models import DoseCorrection

    dose_id = _dose(s, ward)
    now = dt.datetime.now(dt.UTC)
    for field, old, new in (("status", "review", "unmatched"), ("citizen_id", None, None)):
        s.add(DoseCorrection(dose_record_id=dose_id, version=1, kind="cannot_verify",
                             base_version=1, changed_by=None, changed_by_username="matrix",
                             role="commune_police", at=now, reason="other", field=field,
                             old_value=old, new_value=new))  # fmt: skip
    s.flush()
    return dose_id


def _undo(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"version": "1", "reason": "matrix"}
    return ({"dose_id": _decided(s, inside), "data": data},
            {"dose_id": _decided(s, outside), "data": data})  # fmt: skip


def _list(s: Session, ward: str) -> int:
    """A police verification list made in `ward`, holding one dose of it."""
    from vaxlink.cleaning.models import PoliceList, PoliceListItem

    plist = PoliceList(unit=f"ward:{ward}", created_by=None, created_by_username="matrix",
                       created_at=dt.datetime.now(dt.UTC), doses=1)  # fmt: skip
    s.add(plist)
    s.flush()
    s.add(PoliceListItem(list_id=plist.id, dose_record_id=_dose(s, ward), version=1))
    s.flush()
    return plist.id


def _plist(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"list_id": _list(s, inside)}, {"list_id": _list(s, outside)}


def _plist_verify(s: Session, inside: str, outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"paper_ref": "DS 1/CAX"}
    return ({"list_id": _list(s, inside), "data": data},
            {"list_id": _list(s, outside), "data": data})  # fmt: skip


CASES: dict[str, Case] = {
    "/worklist/police-lists/{list_id}": _plist,
    "POST /worklist/police-lists/{list_id}/verified": _plist_verify,
    "/worklist/doses/{dose_id}": _view,
    "POST /worklist/doses/{dose_id}/decision": _decide,
    "POST /worklist/doses/{dose_id}/correction": _correct,
    "POST /worklist/doses/{dose_id}/undo": _undo,
}
SKIP: dict[str, str] = {}

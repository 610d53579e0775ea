"""The front door on a store (SQLite and PostgreSQL): upsert by code, names, stations, lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.facilities import service
from vaxlink.facilities.service import Facility, FacilityInput, FacilityKind

T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
PHUC_XA = FacilityInput("F001", "Trạm Y tế Phường Phúc Xá", "00001", "Trạm y tế",
                        head_name="Nguyễn Văn A", phone="0912345678")  # fmt: skip
BV = FacilityInput("F002", "Bệnh viện Đa khoa Ba Đình", "00004", FacilityKind.HOSPITAL)


def test_upsert_creates_then_changes_nothing_then_updates_what_changed(session: Session) -> None:
    first = service.upsert_many(session, [PHUC_XA, BV], now=T0)
    assert (first.created, first.updated, first.unchanged) == (["F001", "F002"], {}, [])
    again = service.upsert_many(session, [PHUC_XA, BV], now=T1)
    assert (again.created, again.updated, again.unchanged) == ([], {}, ["F001", "F002"])
    assert service.get(session, "F001").updated_at == T0  # untouched, not rewritten
    moved = FacilityInput("F001", "Trạm Y tế Phường Phúc Xá", "00004", "Trạm y tế",
                          head_name="Trần Thị B", phone="0912345678", active=False)  # fmt: skip
    third = service.upsert_many(session, [moved], now=T1)
    assert third.updated == {"F001": ["ward_code", "head_name", "active"]}
    row = service.get(session, "F001")
    assert (row.ward_code, row.head_name, row.active) == ("00004", "Trần Thị B", False)
    assert (row.created_at, row.updated_at) == (T0, T1)
    # a list without an active column keeps the flag as stored
    assert service.upsert_many(session, [moved.__class__(**{**moved.__dict__, "active": None})],
                               now=T1).unchanged == ["F001"]  # fmt: skip
    assert service.get(session, "F001").active is False
    assert third.audit_detail() == {"created": [], "updated": {"F001": ["ward_code", "head_name",
                                    "active"]}, "unchanged": 0}  # fmt: skip


def test_upsert_refuses_bad_and_doubled_items(session: Session) -> None:
    with pytest.raises(service.FacilityError, match="ward code 99999 does not exist"):
        service.upsert_many(session, [FacilityInput("F9", "X", "99999", "other")], now=T0)
    with pytest.raises(service.FacilityError, match="given twice"):
        service.upsert_many(session, [BV, BV], now=T0)
    assert session.scalars(select(Facility)).all() == []


def test_readers(session: Session) -> None:
    service.upsert_many(session, [PHUC_XA, BV], now=T0)
    assert service.find(session, "F404") is None
    with pytest.raises(service.FacilityNotFound, match="F404"):
        service.get(session, "F404")
    assert service.names(session, ["F001", None, "F404", "", "F002", "F001"]) == {
        "F001": "Trạm Y tế Phường Phúc Xá", "F002": "Bệnh viện Đa khoa Ba Đình"}  # fmt: skip
    many = [f"X{i}" for i in range(1200)] + ["F002"]  # more codes than one IN list holds
    assert service.names(session, many) == {"F002": "Bệnh viện Đa khoa Ba Đình"}
    assert service.station_ward(session, "F002") == "00004"
    assert service.station_ward(session, "F404") is None
    assert service.station_ward(session, None) is None
    assert [f.code for f in service.list_facilities(session)] == ["F001", "F002"]
    assert [f.code for f in service.list_facilities(session, ward="00004")] == ["F002"]
    service.upsert_many(session, [FacilityInput(**{**BV.__dict__, "active": False})], now=T1)
    assert [f.code for f in service.list_facilities(session, active_only=True)] == ["F001"]


def test_labels(session: Session) -> None:
    assert service.label("F001", {"F001": "Trạm"}) == "Trạm (F001)"
    assert service.label("F404", {"F001": "Trạm"}) == "F404"
    assert service.label(None, {}) == ""
    labels = service.SiteLabels(session)
    assert labels("F001") == "F001"  # not listed yet
    service.upsert_many(session, [PHUC_XA], now=T0)
    assert service.SiteLabels(session).preload(["F001", None])("F001") == (
        "Trạm Y tế Phường Phúc Xá (F001)")  # fmt: skip
    assert service.SiteLabels(session)("") == ""

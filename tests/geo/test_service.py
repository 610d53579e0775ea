"""Units in the store (SQLite and PostgreSQL): loading, look-ups, scope checks, successions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vaxlink.geo.codes import NATION, Level, ListVersion, UnitKey
from vaxlink.geo.errors import GeoError, UnitsNotLoadedError, UnknownUnitError
from vaxlink.geo.index import UnitIndex
from vaxlink.geo.models import AdminUnit, AdminUnitSuccession
from vaxlink.geo.service import (
    ancestors,
    children,
    get_unit,
    is_within,
    load_successions,
    load_units,
    successors,
)
from vaxlink.geo.source import package_successions

LEGACY = UnitIndex.for_version(ListVersion.LEGACY)
SAMPLE_WARDS = [u.code for u in LEGACY if u.level is Level.WARD][::97]
SAMPLE_SCOPES = [
    *(u.key for u in LEGACY if u.level is Level.PROVINCE),
    *[u.key for u in LEGACY if u.level is Level.DISTRICT][::7],
    NATION,
]


def _count(session: Session, version: ListVersion, level: Level) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AdminUnit)
            .where(AdminUnit.list_version == version, AdminUnit.level == level)
        )
        or 0
    )


def test_load_everything_then_reload_adds_nothing(geo_session: Session) -> None:
    counts = load_units(geo_session)
    assert counts == {
        ListVersion.LEGACY: {
            Level.NATION: 1,
            Level.PROVINCE: 63,
            Level.DISTRICT: 696,
            Level.WARD: 10_035,
        },
        ListVersion.V2025: {
            Level.NATION: 1,
            Level.PROVINCE: 34,
            Level.DISTRICT: 0,
            Level.WARD: 3_321,
        },
    }
    assert _count(geo_session, ListVersion.LEGACY, Level.WARD) == 10_035
    assert _count(geo_session, ListVersion.V2025, Level.PROVINCE) == 34
    assert load_successions(geo_session) == 10_602

    again = load_units(geo_session)
    assert all(n == 0 for per_level in again.values() for n in per_level.values())
    assert load_successions(geo_session) == 0
    assert geo_session.scalar(select(func.count()).select_from(AdminUnit)) == 10_795 + 3_356
    assert geo_session.scalar(select(func.count()).select_from(AdminUnitSuccession)) == 10_602

    # Both lists side by side: the same ward code means two different wards.
    assert get_unit(geo_session, "26740").name == "Phường Bến Nghé"
    assert get_unit(geo_session, "26740", "2025").name == "Phường Sài Gòn"
    assert [u.code for u in ancestors(geo_session, "26740", "2025")] == ["079", "VN"]
    assert len(children(geo_session, "province:001", "2025")) == 126

    # Phúc Xá went whole into the new Hồng Hà ward; Côn Đảo district became a special zone.
    (phuc_xa,) = successors(geo_session, "00001")
    assert (phuc_xa.new_code, phuc_xa.whole, phuc_xa.default) == ("00097", True, True)
    assert get_unit(geo_session, "00097", "2025").name == "Phường Hồng Hà"
    (con_dao,) = successors(geo_session, "district:755")
    assert get_unit(geo_session, UnitKey(Level.WARD, con_dao.new_code), "2025").name == (
        "Đặc khu Côn Đảo"
    )
    split = next(s.old for s in package_successions() if not s.whole)
    parts = successors(geo_session, split)
    assert len(parts) > 1
    assert parts[0].default
    assert [p.default for p in parts].count(True) == 1
    assert not any(p.whole for p in parts)
    assert successors(geo_session, "province:001") == []


def test_partial_load_completes_without_duplicates(geo_session: Session) -> None:
    load_units(geo_session, "2025")
    geo_session.execute(
        delete(AdminUnit).where(
            AdminUnit.list_version == ListVersion.V2025, AdminUnit.level == Level.WARD
        )
    )
    assert load_units(geo_session, "2025")[ListVersion.V2025] == {
        Level.NATION: 0,
        Level.PROVINCE: 0,
        Level.DISTRICT: 0,
        Level.WARD: 3_321,
    }
    assert _count(geo_session, ListVersion.V2025, Level.WARD) == 3_321
    assert _count(geo_session, ListVersion.LEGACY, Level.WARD) == 0


def test_get_children_ancestors(legacy_session: Session) -> None:
    ward = get_unit(legacy_session, "ward:1")
    assert (ward.version, ward.level, ward.code, ward.name) == (
        ListVersion.LEGACY,
        Level.WARD,
        "00001",
        "Phường Phúc Xá",
    )
    assert ward.parent == UnitKey(Level.DISTRICT, "001")
    assert ward == LEGACY.get("00001")  # store and index give the same unit
    assert [(u.level, u.code) for u in ancestors(legacy_session, "00001")] == [
        (Level.DISTRICT, "001"),
        (Level.PROVINCE, "001"),
        (Level.NATION, "VN"),
    ]
    districts = children(legacy_session, "province:001")
    assert len(districts) == 30
    assert districts[0].name == "Quận Ba Đình"
    assert children(legacy_session, "district:001") == list(LEGACY.children("district:001"))
    assert ancestors(legacy_session, "VN") == []


def test_scope_checks_in_the_store(legacy_session: Session) -> None:
    assert is_within(legacy_session, "00001", "province:001")
    assert is_within(legacy_session, "00001", "district:001")
    assert is_within(legacy_session, "00001", "VN")
    assert is_within(legacy_session, "00001", "00001")
    assert not is_within(legacy_session, "00001", "province:079")
    assert not is_within(legacy_session, "province:001", "00001")
    with pytest.raises(UnknownUnitError):
        is_within(legacy_session, "99999", "province:001")
    with pytest.raises(UnknownUnitError):
        is_within(legacy_session, "00001", "province:099")
    with pytest.raises(GeoError, match="ambiguous"):
        is_within(legacy_session, "00001", "001")
    with pytest.raises(UnitsNotLoadedError, match="vaxlink geo load"):
        is_within(legacy_session, "26740", "province:079", "2025")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(SAMPLE_WARDS), st.sampled_from(SAMPLE_SCOPES))
def test_store_and_index_agree(legacy_session: Session, ward: str, scope: UnitKey) -> None:
    assert is_within(legacy_session, ward, scope) is LEGACY.contains(scope, ward)
    assert is_within(legacy_session, ward, LEGACY.path(ward)[1])


def test_unknown_and_unloaded(geo_session: Session) -> None:
    with pytest.raises(UnitsNotLoadedError, match="no units of the 2008-2025 list"):
        get_unit(geo_session, "00001")
    with pytest.raises(UnitsNotLoadedError):
        load_successions(geo_session)
    load_units(geo_session, "2008-2025")
    with pytest.raises(UnknownUnitError, match="ward code 99999 does not exist"):
        get_unit(geo_session, "99999")
    with pytest.raises(UnknownUnitError):
        children(geo_session, "district:999")
    with pytest.raises(UnitsNotLoadedError, match="2025"):
        load_successions(geo_session)
    with pytest.raises(GeoError, match="unknown list"):
        load_units(geo_session, "2030")


def test_the_store_refuses_an_orphan_unit(geo_session: Session) -> None:
    geo_session.add(
        AdminUnit(
            list_version=ListVersion.LEGACY,
            level=Level.WARD,
            code="99999",
            name="Xã Không Có",
            short_name="Không Có",
            parent_level=Level.DISTRICT,
            parent_code="999",
        )
    )
    with pytest.raises(IntegrityError):
        geo_session.flush()

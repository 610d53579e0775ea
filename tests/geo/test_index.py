"""The in-memory index and the normalisers: known answers from real Vietnamese units."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.geo.codes import NATION, Level, ListVersion, UnitKey
from vaxlink.geo.errors import GeoError, UnknownUnitError
from vaxlink.geo.index import (
    UnitIndex,
    normalise_district_code,
    normalise_province_code,
    normalise_ward_code,
)
from vaxlink.geo.service import is_within
from vaxlink.geo.source import Unit

LEGACY = UnitIndex.for_version(ListVersion.LEGACY)
NEW = UnitIndex.for_version(ListVersion.V2025)
LEGACY_WARDS = sorted(u.code for u in LEGACY if u.level is Level.WARD)
LEGACY_PROVINCES = sorted(u.code for u in LEGACY if u.level is Level.PROVINCE)


def test_index_is_built_once_per_version() -> None:
    assert UnitIndex.for_version("2008-2025") is LEGACY
    assert UnitIndex.for_version() is LEGACY  # the campaign list is the default
    assert UnitIndex.for_version("2025") is NEW


def test_phuc_xa_ward_and_its_ancestors() -> None:
    ward = LEGACY.get("00001")
    assert (ward.name, ward.short_name) == ("Phường Phúc Xá", "Phúc Xá")
    assert [(u.level, u.code, u.name) for u in LEGACY.ancestors("ward:1")] == [
        (Level.DISTRICT, "001", "Quận Ba Đình"),
        (Level.PROVINCE, "001", "Thành phố Hà Nội"),
        (Level.NATION, "VN", "Việt Nam"),
    ]
    assert LEGACY.path("00001") == (
        NATION,
        UnitKey(Level.PROVINCE, "001"),
        UnitKey(Level.DISTRICT, "001"),
        UnitKey(Level.WARD, "00001"),
    )


def test_hanoi_ward_is_in_hanoi_not_in_ho_chi_minh_city() -> None:
    assert LEGACY.contains("province:001", "00001")
    assert LEGACY.contains("province:1", "ward:00001")
    assert LEGACY.contains("district:001", "00001")
    assert LEGACY.contains("VN", "00001")
    assert LEGACY.contains("00001", "00001")  # a unit is inside itself
    assert not LEGACY.contains("province:079", "00001")
    assert not LEGACY.contains("district:760", "00001")
    assert not LEGACY.contains("00004", "00001")  # siblings do not contain each other
    assert not LEGACY.contains("00001", "province:001")  # containment is not symmetric


def test_province_001_and_district_001_are_different_scopes() -> None:
    # Ba Đình (district 001) is in Hà Nội; Hà Nội is not in Ba Đình.
    assert LEGACY.contains("province:001", "district:001")
    assert not LEGACY.contains("district:001", "province:001")
    ho_chi_minh_district = LEGACY.get("district:760")
    assert ho_chi_minh_district.name == "Quận 1"
    assert not LEGACY.contains("district:001", "district:760")


def test_same_code_means_different_wards_in_different_lists() -> None:
    assert LEGACY.get("26740").name == "Phường Bến Nghé"
    assert LEGACY.get("26740").parent == UnitKey(Level.DISTRICT, "760")
    assert NEW.get("26740").name == "Phường Sài Gòn"
    assert NEW.get("26740").parent == UnitKey(Level.PROVINCE, "079")
    assert NEW.contains("province:079", "26740")


def test_unknown_codes_raise_rather_than_deny() -> None:
    with pytest.raises(UnknownUnitError, match="ward code 99999 does not exist in the 2008-2025"):
        LEGACY.contains("province:001", "99999")
    with pytest.raises(UnknownUnitError, match="province code 099"):
        LEGACY.contains("province:099", "00001")
    with pytest.raises(UnknownUnitError):
        NEW.get("district:001")  # the 2025 list has no districts
    with pytest.raises(GeoError, match="ambiguous"):
        LEGACY.contains("001", "00001")


def test_counts_per_level() -> None:
    assert {lv: LEGACY.count(lv) for lv in Level} == {
        Level.NATION: 1,
        Level.PROVINCE: 63,
        Level.DISTRICT: 696,
        Level.WARD: 10_035,
    }
    assert {lv: NEW.count(lv) for lv in Level} == {
        Level.NATION: 1,
        Level.PROVINCE: 34,
        Level.DISTRICT: 0,
        Level.WARD: 3_321,
    }
    assert len(LEGACY) == 1 + 63 + 696 + 10_035


def test_2025_wards_hang_directly_below_provinces() -> None:
    # Resolution 1656/NQ-UBTVQH15: Hà Nội has 126 communes (51 wards, 75 communes);
    # HCM City has 168 (113 wards, 54 communes, 1 special zone: Côn Đảo).
    hanoi = NEW.children("province:001")
    assert len(hanoi) == 126
    assert sum(u.name.startswith("Phường ") for u in hanoi) == 51
    hcm = NEW.children("province:079")
    assert len(hcm) == 168
    assert [u.name for u in hcm if u.name.startswith("Đặc khu")] == ["Đặc khu Côn Đảo"]
    assert all(u.parent == UnitKey(Level.PROVINCE, "079") for u in hcm)
    assert NEW.ancestors("26740") == (NEW.get("province:079"), NEW.get("VN"))


def test_children_of_hanoi_in_the_legacy_list() -> None:
    districts = LEGACY.children("province:001")
    assert len(districts) == 30
    assert districts[0].name == "Quận Ba Đình"
    assert [u.code for u in districts] == sorted(u.code for u in districts)
    assert len(LEGACY.children("VN")) == 63
    assert LEGACY.children("00001") == ()


def test_membership() -> None:
    assert "province:001" in LEGACY
    assert "00001" in LEGACY
    assert "99999" not in LEGACY
    assert "001" not in LEGACY  # ambiguous is not a member
    assert 1 not in LEGACY


@pytest.mark.parametrize(
    ("fn", "raw", "expected"),
    [
        (normalise_province_code, "1", "001"),
        (normalise_province_code, "01", "001"),
        (normalise_province_code, "001", "001"),
        (normalise_province_code, 79, "079"),
        (normalise_district_code, "1", "001"),
        (normalise_district_code, "760", "760"),
        (normalise_ward_code, "1", "00001"),
        (normalise_ward_code, 26740, "26740"),
    ],
)
def test_normalisers(fn: Callable[[str | int], str], raw: str | int, expected: str) -> None:
    assert fn(raw) == expected


def test_normalisers_reject_codes_absent_from_the_list() -> None:
    with pytest.raises(
        UnknownUnitError, match=r"^province code 099 does not exist in the 2008-2025 list$"
    ):
        normalise_province_code("99")
    with pytest.raises(UnknownUnitError):
        normalise_province_code("0")
    with pytest.raises(UnknownUnitError):
        normalise_province_code("002", "2025")  # Hà Giang merged into Tuyên Quang
    assert normalise_province_code("002") == "002"
    with pytest.raises(GeoError, match="the 2025 list has no districts"):
        normalise_district_code("001", "2025")
    with pytest.raises(UnknownUnitError):
        normalise_ward_code("00002")
    with pytest.raises(GeoError, match="digits"):
        normalise_ward_code("Phúc Xá")
    with pytest.raises(GeoError, match="unknown list"):
        normalise_province_code("001", "2021")


def test_is_within_accepts_an_index() -> None:
    assert is_within(LEGACY, "00001", "province:001")
    assert not is_within(LEGACY, "00001", "province:079")
    assert is_within(NEW, "26740", "province:079", version="2025")
    with pytest.raises(GeoError, match="holds the 2025 list"):
        is_within(NEW, "26740", "province:079", version="2008-2025")


def test_index_refuses_inconsistent_units() -> None:
    v = ListVersion.LEGACY
    nation = Unit(v, Level.NATION, "VN", "Việt Nam", "Việt Nam", None)
    orphan = Unit(v, Level.WARD, "00001", "X", "X", UnitKey(Level.DISTRICT, "001"))
    with pytest.raises(GeoError, match="bad parent"):
        UnitIndex(v, [nation, orphan])
    rootless = Unit(v, Level.PROVINCE, "001", "X", "X", None)
    with pytest.raises(GeoError, match="no parent"):
        UnitIndex(v, [nation, rootless])
    with pytest.raises(GeoError, match="cannot join"):
        UnitIndex(ListVersion.V2025, [nation])
    upside_down = Unit(v, Level.PROVINCE, "001", "X", "X", UnitKey(Level.WARD, "00001"))
    ward = Unit(v, Level.WARD, "00001", "X", "X", NATION)
    with pytest.raises(GeoError, match="bad parent"):
        UnitIndex(v, [nation, ward, upside_down])


@settings(max_examples=200)
@given(st.sampled_from(LEGACY_WARDS), st.sampled_from(LEGACY_PROVINCES))
def test_a_ward_is_inside_exactly_its_own_province(ward: str, province: str) -> None:
    path = LEGACY.path(ward)
    own_province = path[1].code
    assert path[0] == NATION
    assert [k.level for k in path] == [Level.NATION, Level.PROVINCE, Level.DISTRICT, Level.WARD]
    assert LEGACY.contains(f"province:{province}", ward) is (province == own_province)
    assert LEGACY.contains(path[2], ward)


@settings(max_examples=200)
@given(st.sampled_from(LEGACY_WARDS))
def test_lost_leading_zeros_normalise_back(ward: str) -> None:
    assert normalise_ward_code(str(int(ward))) == ward
    assert normalise_ward_code(int(ward)) == ward


def test_scope_check_is_fast() -> None:
    keys = [UnitKey(Level.WARD, c) for c in LEGACY_WARDS[:2000]]
    scope = UnitKey(Level.PROVINCE, "001")
    start = time.perf_counter()
    inside = sum(LEGACY.contains(scope, k) for k in keys)
    elapsed = time.perf_counter() - start
    assert inside > 0
    # ~5 µs per check on a laptop; 100 µs is a generous ceiling for a shared CI core.
    assert elapsed / len(keys) < 100e-6

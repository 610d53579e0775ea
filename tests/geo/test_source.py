"""What the vietnamadminunits data holds, checked against independent facts."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from vaxlink.geo import source
from vaxlink.geo.codes import Level, ListVersion, UnitKey
from vaxlink.geo.errors import GeoError
from vaxlink.geo.index import UnitIndex
from vaxlink.geo.source import Succession, package_successions, package_units
from vaxlink.identity.provinces import BIRTH_PROVINCES

SUCCESSIONS = package_successions()
LEGACY = UnitIndex.for_version(ListVersion.LEGACY)
NEW = UnitIndex.for_version(ListVersion.V2025)


def test_the_package_itself_is_never_imported() -> None:
    # Importing it would load megabytes of JSON and instantiate a geocoder.
    probe = (
        "import sys; from vaxlink.geo.index import UnitIndex; "
        "from vaxlink.geo.source import package_successions; "
        "UnitIndex.for_version('2025'); package_successions(); "
        "assert 'vietnamadminunits' not in sys.modules, 'imported'"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_legacy_provinces_are_the_63_of_the_id_number_table() -> None:
    provinces = {u.code: u.short_name for u in LEGACY if u.level is Level.PROVINCE}
    assert set(provinces) == set(BIRTH_PROVINCES)
    assert provinces["001"] == BIRTH_PROVINCES["001"] == "Hà Nội"
    assert provinces["079"] == BIRTH_PROVINCES["079"] == "Hồ Chí Minh"


def test_units_come_parents_first_and_once() -> None:
    units = package_units(ListVersion.LEGACY)
    depths = [u.level.depth for u in units]
    assert depths == sorted(depths)
    assert len({u.key for u in units}) == len(units) == 10_795
    assert all(u.version is ListVersion.LEGACY for u in units)


def test_names_are_nfc_and_trimmed() -> None:
    for u in (*LEGACY, *NEW):
        assert u.name == unicodedata.normalize("NFC", u.name).strip()
        assert u.short_name
        assert u.short_name == unicodedata.normalize("NFC", u.short_name).strip()


def test_every_old_unit_has_successors_and_exactly_one_default() -> None:
    by_old: dict[UnitKey, list[Succession]] = defaultdict(list)
    for s in SUCCESSIONS:
        by_old[s.old].append(s)
    old_wards = {u.key for u in LEGACY if u.level is Level.WARD}
    island_districts = {k for k in by_old if k.level is Level.DISTRICT}
    assert set(by_old) == old_wards | island_districts
    assert len(island_districts) == 5
    assert all(LEGACY.children(k) == () for k in island_districts)
    assert Counter(sum(s.default for s in rows) for rows in by_old.values()) == {1: len(by_old)}
    split = {k for k, rows in by_old.items() if len(rows) > 1}
    assert all(not s.whole for k in split for s in by_old[k])
    assert all(rows[0].whole for k, rows in by_old.items() if k not in split)
    assert len(SUCCESSIONS) == 10_602
    assert len(split) == 471


def test_every_2025_ward_has_a_predecessor() -> None:
    new_wards = {u.code for u in NEW if u.level is Level.WARD}
    assert {s.new_code for s in SUCCESSIONS} == new_wards


def _new_provinces_of(old_province: str) -> set[str]:
    return {
        NEW.path(UnitKey(Level.WARD, s.new_code))[1].code
        for s in SUCCESSIONS
        if LEGACY.contains(f"province:{old_province}", s.old)
    }


@pytest.mark.parametrize(
    ("old_province", "new_province"),
    [
        ("074", "079"),  # Bình Dương → Hồ Chí Minh City
        ("077", "079"),  # Bà Rịa - Vũng Tàu → Hồ Chí Minh City
        ("079", "079"),
        ("002", "008"),  # Hà Giang → Tuyên Quang
        ("001", "001"),  # Hà Nội unchanged
        ("093", "092"),  # Hậu Giang → Cần Thơ
    ],
)
def test_provinces_merged_in_2025(old_province: str, new_province: str) -> None:
    assert _new_provinces_of(old_province) == {new_province}


def test_con_dao_district_became_a_special_zone_of_hcm_city() -> None:
    (con_dao,) = [s for s in SUCCESSIONS if s.old == UnitKey(Level.DISTRICT, "755")]
    assert LEGACY.get("district:755").name == "Huyện Côn Đảo"
    assert NEW.get(UnitKey(Level.WARD, con_dao.new_code)).name == "Đặc khu Côn Đảo"
    assert NEW.contains("province:079", UnitKey(Level.WARD, con_dao.new_code))


def test_missing_package_data_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(source, "data_dir", lambda: tmp_path)
    with pytest.raises(GeoError, match="cannot read the unit lists"):
        package_units(ListVersion.V2025)
    with pytest.raises(GeoError, match="cannot read the 2025 conversion table"):
        package_successions()

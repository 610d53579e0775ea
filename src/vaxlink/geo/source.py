"""Adapter to the data files of the MIT-licensed `vietnamadminunits` package.

The package's own modules are never imported: importing it loads megabytes of JSON and a geocoder.
Its SQLite dataset (`admin_units_legacy`: 63 provinces, `admin_units`: 34 provinces) and its
converter table (63 → 34, keyed by folded names) are read directly, read-only.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaxlink.geo.codes import (
    NATION,
    NATION_NAME,
    Level,
    ListVersion,
    UnitKey,
    format_code,
)
from vaxlink.geo.errors import GeoError

PACKAGE = "vietnamadminunits"


@dataclass(frozen=True, slots=True)
class Unit:
    """One administrative unit of one list; `parent` is None only for the nation."""

    version: ListVersion
    level: Level
    code: str
    name: str
    short_name: str
    parent: UnitKey | None

    @property
    def key(self) -> UnitKey:
        """The unit's identity within its list."""
        return UnitKey(self.level, self.code)


@dataclass(frozen=True, slots=True)
class Succession:
    """Where a unit of the 2008-2025 list went on 1 July 2025.

    `whole`: the old unit lies entirely in the new ward. An old ward split between several new
    wards has one row per new ward, exactly one of them `default` (the package's choice when an
    address says nothing more precise).
    """

    old: UnitKey
    new_code: str
    whole: bool
    default: bool


def data_dir() -> Path:
    """The package's data folder, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GeoError(f"the {PACKAGE} package is not installed: it holds the unit lists")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _rows(sql: str) -> list[sqlite3.Row]:
    path = data_dir() / "dataset.db"
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise GeoError(f"cannot read the unit lists in {path}: {exc}") from exc


def _text(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value)).strip()


def _nation(version: ListVersion) -> Unit:
    return Unit(version, Level.NATION, NATION.code, NATION_NAME, NATION_NAME, None)


def _legacy_units() -> Iterator[Unit]:
    v = ListVersion.LEGACY
    rows = _rows(
        "SELECT provinceCode, province, provinceShort, districtCode, district, districtShort,"
        " wardCode, ward, wardShort FROM admin_units_legacy"
    )
    yield _nation(v)
    for r in rows:
        p = format_code(Level.PROVINCE, r["provinceCode"])
        d = format_code(Level.DISTRICT, r["districtCode"])
        yield Unit(v, Level.PROVINCE, p, _text(r["province"]), _text(r["provinceShort"]), NATION)
        parent = UnitKey(Level.PROVINCE, p)
        yield Unit(v, Level.DISTRICT, d, _text(r["district"]), _text(r["districtShort"]), parent)
        if r["wardCode"]:  # island districts (Bạch Long Vĩ, Cồn Cỏ, ...) have no wards
            w = format_code(Level.WARD, r["wardCode"])
            parent = UnitKey(Level.DISTRICT, d)
            yield Unit(v, Level.WARD, w, _text(r["ward"]), _text(r["wardShort"]), parent)


def _units_2025() -> Iterator[Unit]:
    v = ListVersion.V2025
    rows = _rows(
        "SELECT provinceCode, province, provinceShort, wardCode, ward, wardShort FROM admin_units"
    )
    yield _nation(v)
    for r in rows:
        p = format_code(Level.PROVINCE, r["provinceCode"])
        w = format_code(Level.WARD, r["wardCode"])
        yield Unit(v, Level.PROVINCE, p, _text(r["province"]), _text(r["provinceShort"]), NATION)
        parent = UnitKey(Level.PROVINCE, p)
        yield Unit(v, Level.WARD, w, _text(r["ward"]), _text(r["wardShort"]), parent)


def package_units(version: ListVersion) -> list[Unit]:
    """Every unit of `version`, parents before children, each once (the dataset is flat)."""
    found: dict[UnitKey, Unit] = {}
    units = _legacy_units() if version is ListVersion.LEGACY else _units_2025()
    for unit in units:
        seen = found.setdefault(unit.key, unit)
        if seen != unit:
            raise GeoError(f"the {version} list describes {unit.key} twice, differently")
    return sorted(found.values(), key=lambda u: (u.level.depth, u.code))


def package_successions() -> list[Succession]:
    """The package's 63 → 34 table, with its folded-name keys resolved to unit codes."""
    path = data_dir() / "converter_2025.json"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        whole: dict[str, dict[str, list[str]]] = table["DICT_PROVINCE_WARD_NO_DIVIDED"]
        split: dict[str, dict[str, list[dict[str, Any]]]] = table["DICT_PROVINCE_WARD_DIVIDED"]
    except (OSError, ValueError, KeyError) as exc:
        raise GeoError(f"cannot read the 2025 conversion table {path}: {exc!r}") from exc

    old_units: dict[str, UnitKey] = {}
    for r in _rows(
        "SELECT provinceKey, districtKey, wardKey, districtCode, wardCode FROM admin_units_legacy"
    ):
        folded = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        old_units[folded] = (
            UnitKey(Level.WARD, format_code(Level.WARD, r["wardCode"]))
            if r["wardCode"]
            else UnitKey(Level.DISTRICT, format_code(Level.DISTRICT, r["districtCode"]))
        )
    new_wards = {
        (r["provinceKey"], r["wardKey"]): format_code(Level.WARD, r["wardCode"])
        for r in _rows("SELECT provinceKey, wardKey, wardCode FROM admin_units")
    }

    def resolve(old: str, province: str, ward: str) -> tuple[UnitKey, str]:
        try:
            return old_units[old], new_wards[(province, ward)]
        except KeyError as exc:
            raise GeoError(f"the 2025 conversion table names an unknown unit {exc}") from None

    out: list[Succession] = []
    for province, wards in whole.items():
        for ward, olds in wards.items():
            for old in olds:
                key, new = resolve(old, province, ward)
                out.append(Succession(key, new, whole=True, default=True))
    for province, parts in split.items():
        for old, targets in parts.items():
            for t in targets:
                key, new = resolve(old, province, t["newWardKey"])
                out.append(Succession(key, new, whole=False, default=bool(t["isDefaultNewWard"])))
    return sorted(out, key=lambda s: (s.old.level.depth, s.old.code, s.new_code))

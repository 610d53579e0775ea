"""In-memory index of one unit list: lookups, ancestors and scope checks without a database.

Built once per list from the package data and cached for the life of the process, so that every
web request can check a user's geographic scope in a few dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache

from vaxlink.geo.codes import (
    DEFAULT_VERSION,
    Level,
    ListVersion,
    UnitKey,
    format_code,
    list_version,
    unit_key,
)
from vaxlink.geo.errors import GeoError, UnknownUnitError
from vaxlink.geo.source import Unit, package_units


def unknown(version: ListVersion, key: UnitKey) -> UnknownUnitError:
    """The error for a well-formed code absent from `version`."""
    return UnknownUnitError(f"{key.level} code {key.code} does not exist in the {version} list")


class UnitIndex:
    """Every unit of one list, with each unit's path from the nation precomputed."""

    __slots__ = ("_children", "_counts", "_paths", "_units", "version")

    def __init__(self, version: ListVersion, units: Iterable[Unit]) -> None:
        self.version = version
        self._units: dict[UnitKey, Unit] = {}
        self._paths: dict[UnitKey, tuple[UnitKey, ...]] = {}
        self._children: dict[UnitKey, list[Unit]] = {}
        self._counts: dict[Level, int] = dict.fromkeys(Level, 0)
        for unit in sorted(units, key=lambda u: (u.level.depth, u.code)):
            self._add(unit)

    def _add(self, unit: Unit) -> None:
        key = unit.key
        if unit.version is not self.version or key in self._units:
            raise GeoError(f"{key} of list {unit.version} cannot join the {self.version} index")
        if unit.parent is None:
            if unit.level is not Level.NATION:
                raise GeoError(f"{key} of the {self.version} list has no parent")
            path: tuple[UnitKey, ...] = (key,)
        else:
            parent_path = self._paths.get(unit.parent)
            if parent_path is None or unit.parent.level.depth >= unit.level.depth:
                raise GeoError(f"{key} of the {self.version} list has a bad parent {unit.parent}")
            path = (*parent_path, key)
            self._children[unit.parent].append(unit)
        self._units[key] = unit
        self._paths[key] = path
        self._children[key] = []
        self._counts[unit.level] += 1

    @classmethod
    def for_version(cls, version: str | ListVersion = DEFAULT_VERSION) -> UnitIndex:
        """The process-wide index of `version`, built from the package data on first use."""
        return _index(list_version(version))

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[Unit]:
        """Units parents first, then by code."""
        return iter(self._units.values())

    def __contains__(self, ref: object) -> bool:
        if not isinstance(ref, str | UnitKey):
            return False
        try:
            return unit_key(ref) in self._units
        except GeoError:
            return False

    def count(self, level: Level) -> int:
        """How many units of `level` the list has."""
        return self._counts[level]

    def get(self, ref: str | UnitKey) -> Unit:
        """The unit `ref` names (see `unit_key` for the accepted spellings)."""
        key = unit_key(ref)
        unit = self._units.get(key)
        if unit is None:
            raise unknown(self.version, key)
        return unit

    def path(self, ref: str | UnitKey) -> tuple[UnitKey, ...]:
        """Keys from the nation down to the unit itself."""
        key = unit_key(ref)
        path = self._paths.get(key)
        if path is None:
            raise unknown(self.version, key)
        return path

    def ancestors(self, ref: str | UnitKey) -> tuple[Unit, ...]:
        """The unit's parent, grandparent, ... up to the nation (nearest first)."""
        return tuple(self._units[k] for k in reversed(self.path(ref)[:-1]))

    def children(self, ref: str | UnitKey) -> tuple[Unit, ...]:
        """Units directly below `ref`, by code."""
        return tuple(self._children[self.get(ref).key])

    def contains(self, scope: str | UnitKey, unit: str | UnitKey) -> bool:
        """Whether `unit` lies inside `scope` (a unit is inside itself); unknown codes raise."""
        scope_key = self.get(scope).key
        return scope_key in self.path(unit)

    def normalise(self, level: Level, raw: str | int) -> str:
        """The canonical code of `level` written as `raw`, checked to exist in this list."""
        if not self._counts[level]:
            raise GeoError(f"the {self.version} list has no {level}s (got {level} code {raw!r})")
        key = UnitKey(level, format_code(level, raw))
        if key not in self._units:
            raise unknown(self.version, key)
        return key.code


@cache
def _index(version: ListVersion) -> UnitIndex:
    return UnitIndex(version, package_units(version))


def normalise_province_code(raw: str | int, version: str | ListVersion = DEFAULT_VERSION) -> str:
    """Province code as vaxlink writes it (3 digits, "1" → "001"), checked against `version`."""
    return UnitIndex.for_version(version).normalise(Level.PROVINCE, raw)


def normalise_district_code(raw: str | int, version: str | ListVersion = DEFAULT_VERSION) -> str:
    """District code as GSO writes it (3 digits), checked against `version`."""
    return UnitIndex.for_version(version).normalise(Level.DISTRICT, raw)


def normalise_ward_code(raw: str | int, version: str | ListVersion = DEFAULT_VERSION) -> str:
    """Ward code as GSO writes it (5 digits, "1" → "00001"), checked against `version`."""
    return UnitIndex.for_version(version).normalise(Level.WARD, raw)

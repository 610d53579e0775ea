"""Operations on administrative units in the store, and scope checks against store or index.

Services take a Session and flush at most; the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from vaxlink.geo.codes import (
    DEFAULT_VERSION,
    Level,
    ListVersion,
    UnitKey,
    list_version,
    unit_key,
)
from vaxlink.geo.errors import GeoError, UnitsNotLoadedError
from vaxlink.geo.index import (
    UnitIndex,
    normalise_district_code,
    normalise_province_code,
    normalise_ward_code,
    unknown,
)
from vaxlink.geo.models import AdminUnit, AdminUnitSuccession
from vaxlink.geo.source import Succession, Unit, package_successions

__all__ = [
    "Succession",
    "Unit",
    "UnitIndex",
    "ancestors",
    "children",
    "get_unit",
    "is_within",
    "load_successions",
    "load_units",
    "normalise_district_code",
    "normalise_province_code",
    "normalise_ward_code",
    "successors",
]

#: Units inserted by `load_units`, per list and level.
LoadCounts = dict[ListVersion, dict[Level, int]]


def load_units(session: Session, version: str | ListVersion | None = None) -> LoadCounts:
    """Insert the units of `version` (every list when None) that the store lacks; returns counts.

    Idempotent: a second run inserts nothing. One SELECT of existing keys and one multi-row
    INSERT per level, parents first so that the self-referencing foreign key holds.
    """
    versions = list(ListVersion) if version is None else [list_version(version)]
    counts: LoadCounts = {}
    for v in versions:
        existing = {
            UnitKey(level, code)
            for level, code in session.execute(
                select(AdminUnit.level, AdminUnit.code).where(AdminUnit.list_version == v)
            )
        }
        missing = [u for u in UnitIndex.for_version(v) if u.key not in existing]
        counts[v] = {}
        for level in sorted(Level, key=lambda lv: lv.depth):
            rows = [_row(u) for u in missing if u.level is level]
            if rows:
                session.execute(insert(AdminUnit), rows)
                _refresh_statistics(session)
            counts[v][level] = len(rows)
    session.flush()
    return counts


def _refresh_statistics(session: Session) -> None:
    """Let PostgreSQL plan the next level's foreign-key checks on the rows just inserted.

    On a freshly created table the checks keep a sequential-scan plan and loading ~10k wards
    becomes quadratic (10 s instead of under one). Without the privilege, PostgreSQL skips the
    ANALYZE with a notice; it never fails the load.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE admin_unit"))


def _row(unit: Unit) -> dict[str, object]:
    return {
        "list_version": unit.version,
        "level": unit.level,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "parent_level": unit.parent.level if unit.parent else None,
        "parent_code": unit.parent.code if unit.parent else None,
    }


def load_successions(session: Session) -> int:
    """Insert the 2008-2025 → 2025 successions the store lacks; returns how many were added.

    Both lists must be loaded first (`load_units`): each row references a unit of each.
    """
    for v in (ListVersion.LEGACY, ListVersion.V2025):
        _require_loaded(session, v)
    existing = {
        (level, old_code, new_code)
        for level, old_code, new_code in session.execute(
            select(
                AdminUnitSuccession.old_level,
                AdminUnitSuccession.old_code,
                AdminUnitSuccession.new_code,
            ).where(
                AdminUnitSuccession.old_version == ListVersion.LEGACY,
                AdminUnitSuccession.new_version == ListVersion.V2025,
            )
        )
    }
    rows = [
        {
            "old_version": ListVersion.LEGACY,
            "old_level": s.old.level,
            "old_code": s.old.code,
            "new_version": ListVersion.V2025,
            "new_level": Level.WARD,
            "new_code": s.new_code,
            "whole": s.whole,
            "is_default": s.default,
        }
        for s in package_successions()
        if (s.old.level, s.old.code, s.new_code) not in existing
    ]
    if rows:
        session.execute(insert(AdminUnitSuccession), rows)
        session.flush()
    return len(rows)


def _require_loaded(session: Session, version: ListVersion) -> None:
    n = session.scalar(
        select(func.count()).select_from(AdminUnit).where(AdminUnit.list_version == version)
    )
    if not n:
        raise UnitsNotLoadedError(
            f"the store holds no units of the {version} list: run `vaxlink geo load` first"
        )


def _unit(row: AdminUnit) -> Unit:
    parent = (
        UnitKey(row.parent_level, row.parent_code)
        if row.parent_level is not None and row.parent_code is not None
        else None
    )
    return Unit(row.list_version, row.level, row.code, row.name, row.short_name, parent)


def _get(session: Session, version: ListVersion, key: UnitKey) -> Unit:
    row = session.get(AdminUnit, (version, key.level, key.code))
    if row is None:
        _require_loaded(session, version)
        raise unknown(version, key)
    return _unit(row)


def get_unit(
    session: Session, ref: str | UnitKey, version: str | ListVersion = DEFAULT_VERSION
) -> Unit:
    """The stored unit `ref` names ("province:001", "ward:00001", a 5-digit ward code, "VN")."""
    return _get(session, list_version(version), unit_key(ref))


def children(
    session: Session, ref: str | UnitKey, version: str | ListVersion = DEFAULT_VERSION
) -> list[Unit]:
    """Stored units directly below `ref`, by code."""
    parent = get_unit(session, ref, version)
    rows = session.scalars(
        select(AdminUnit)
        .where(
            AdminUnit.list_version == parent.version,
            AdminUnit.parent_level == parent.level,
            AdminUnit.parent_code == parent.code,
        )
        .order_by(AdminUnit.code)
    )
    return [_unit(r) for r in rows]


def ancestors(
    session: Session, ref: str | UnitKey, version: str | ListVersion = DEFAULT_VERSION
) -> list[Unit]:
    """The stored unit's parent, grandparent, ... up to the nation (nearest first)."""
    unit = get_unit(session, ref, version)
    out: list[Unit] = []
    while unit.parent is not None:
        unit = _get(session, unit.version, unit.parent)
        out.append(unit)
    return out


def is_within(
    source: Session | UnitIndex,
    unit: str | UnitKey,
    scope: str | UnitKey,
    version: str | ListVersion | None = None,
) -> bool:
    """Whether `unit` lies inside `scope` (itself included): the geographic access check.

    `source` is the store or an in-memory index (the fast path for every request). `version`
    defaults to the index's list, or to the campaign list for the store. Unknown codes raise
    `UnknownUnitError`: an access check must not quietly answer about a unit that is not there.
    """
    if isinstance(source, UnitIndex):
        if version is not None and list_version(version) is not source.version:
            raise GeoError(f"the index holds the {source.version} list, not {version}")
        return source.contains(scope, unit)
    v = DEFAULT_VERSION if version is None else list_version(version)
    scope_key = _get(source, v, unit_key(scope)).key
    current = get_unit(source, unit, v)
    while current.key != scope_key:
        if current.parent is None:
            return False
        current = _get(source, v, current.parent)
    return True


def successors(session: Session, ref: str | UnitKey) -> list[Succession]:
    """The 2025 wards a 2008-2025 ward (or island district) went into, the default first."""
    old = get_unit(session, ref, ListVersion.LEGACY).key
    rows = session.scalars(
        select(AdminUnitSuccession)
        .where(
            AdminUnitSuccession.old_version == ListVersion.LEGACY,
            AdminUnitSuccession.old_level == old.level,
            AdminUnitSuccession.old_code == old.code,
            AdminUnitSuccession.new_version == ListVersion.V2025,
        )
        .order_by(AdminUnitSuccession.is_default.desc(), AdminUnitSuccession.new_code)
    )
    out = [Succession(old, r.new_code, r.whole, r.is_default) for r in rows]
    if (
        not out
        and old.level is Level.WARD
        and not session.scalar(select(func.count()).select_from(AdminUnitSuccession))
    ):
        raise UnitsNotLoadedError(
            "the store holds no 2025 successions: run `vaxlink geo load` first"
        )
    return out

"""Tables of administrative units and of the 2025 successions between two lists.

Natural composite keys: a unit is (list_version, level, code) everywhere, in the store, in files
and in the in-memory index, so reloading or moving data never renumbers anything, and a row from
another list or level (province 001 vs district 001, ward 26740 in 2008-2025 vs in 2025) can never
be mistaken for it.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Enum, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.db import Base
from vaxlink.geo.codes import Level, ListVersion

CODE_LENGTH = 8
NAME_LENGTH = 120


def _enum(cls: type[Level] | type[ListVersion], name: str) -> Enum:
    """A portable VARCHAR + CHECK enum storing the member values ("ward", "2008-2025")."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class AdminUnit(Base):
    """One unit of one list; the parent's level is kept: a 2025 ward's parent is a province."""

    __tablename__ = "admin_unit"

    list_version: Mapped[ListVersion] = mapped_column(
        _enum(ListVersion, "list_version"), primary_key=True
    )
    level: Mapped[Level] = mapped_column(_enum(Level, "level"), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    short_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    parent_level: Mapped[Level | None] = mapped_column(_enum(Level, "parent_level"))
    parent_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH))

    __table_args__ = (
        ForeignKeyConstraint(
            ["list_version", "parent_level", "parent_code"],
            ["admin_unit.list_version", "admin_unit.level", "admin_unit.code"],
        ),
        CheckConstraint("(parent_code IS NULL) = (parent_level IS NULL)", name="parent_complete"),
        CheckConstraint("(parent_code IS NULL) = (level = 'nation')", name="only_nation_is_root"),
        Index(None, "list_version", "parent_level", "parent_code"),
    )


class AdminUnitSuccession(Base):
    """An old unit (2008-2025 ward, or an island district) and a new 2025 ward it went into."""

    __tablename__ = "admin_unit_succession"

    old_version: Mapped[ListVersion] = mapped_column(
        _enum(ListVersion, "old_version"), primary_key=True
    )
    old_level: Mapped[Level] = mapped_column(_enum(Level, "old_level"), primary_key=True)
    old_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    new_version: Mapped[ListVersion] = mapped_column(
        _enum(ListVersion, "new_version"), primary_key=True
    )
    new_level: Mapped[Level] = mapped_column(_enum(Level, "new_level"), primary_key=True)
    new_code: Mapped[str] = mapped_column(String(CODE_LENGTH), primary_key=True)
    #: The whole old unit lies in this new ward (False: the old ward was split).
    whole: Mapped[bool]
    #: The new ward to use when an address gives nothing more precise (one per old unit).
    is_default: Mapped[bool]

    __table_args__ = (
        ForeignKeyConstraint(
            ["old_version", "old_level", "old_code"],
            ["admin_unit.list_version", "admin_unit.level", "admin_unit.code"],
        ),
        ForeignKeyConstraint(
            ["new_version", "new_level", "new_code"],
            ["admin_unit.list_version", "admin_unit.level", "admin_unit.code"],
        ),
        Index(None, "new_version", "new_level", "new_code"),
    )

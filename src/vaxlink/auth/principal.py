"""Who is asking: an authenticated account, its role and the administrative unit it answers for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true

from vaxlink.auth.roles import ROLE_PERMISSIONS, Permission, Role
from vaxlink.geo.codes import Level, UnitKey


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated staff account. Unit codes are canonical legacy-list codes (province 3
    digits, district 3, ward 5; district and ward codes are unique nationwide)."""

    user_id: int
    username: str
    role: Role
    unit: UnitKey
    #: The vaccination site an approver or entry clerk works for, if any.
    facility_code: str | None = None

    def can(self, permission: Permission) -> bool:
        """True when the role holds the permission."""
        return permission in ROLE_PERMISSIONS[self.role]

    def covers(
        self, *, province: str | None, district: str | None = None, ward: str | None = None
    ) -> bool:
        """True when a thing located at (province, district, ward) lies inside the account's
        unit. A thing with no location at the account's level is outside (never guessed in)."""
        level, code = self.unit.level, self.unit.code
        if level is Level.NATION:
            return True
        if level is Level.PROVINCE:
            return province == code
        if level is Level.DISTRICT:
            return district == code
        return ward == code

    def scope_filter(
        self, province: ColumnElement[Any], district: ColumnElement[Any], ward: ColumnElement[Any]
    ) -> ColumnElement[bool]:
        """The same test as `covers`, as a SQL condition over the given columns."""
        level, code = self.unit.level, self.unit.code
        if level is Level.NATION:
            return true()
        column = {Level.PROVINCE: province, Level.DISTRICT: district, Level.WARD: ward}.get(level)
        return column == code if column is not None else false()

"""Shapes of administrative-unit codes: list versions, levels, unit keys (pure, no data needed).

Only the shape is checked here (digits, width, level); whether a code names a real unit is the
index's business (`vaxlink.geo.index`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, NamedTuple

from vaxlink.geo.errors import GeoError


class ListVersion(StrEnum):
    """A list of administrative units; a code only means something together with its list."""

    #: The 63 provinces with districts and wards, in force through the COVID campaign until
    #: 30 June 2025 (the package holds its final state, not a snapshot per year).
    LEGACY = "2008-2025"
    #: The 34 provinces of 1 July 2025, with wards directly below provinces (no districts).
    V2025 = "2025"


#: The list dose records, registry snapshots and ID numbers of the campaign refer to.
DEFAULT_VERSION: Final = ListVersion.LEGACY


class Level(StrEnum):
    """Tier of an administrative unit, from the whole country down to the ward (xã/phường)."""

    NATION = "nation"
    PROVINCE = "province"
    DISTRICT = "district"
    WARD = "ward"

    @property
    def depth(self) -> int:
        """0 for the nation, 3 for a ward: a parent always has a smaller depth than its child."""
        return _DEPTH[self]


_DEPTH: Final = {Level.NATION: 0, Level.PROVINCE: 1, Level.DISTRICT: 2, Level.WARD: 3}

#: The one nation-level unit of every list.
NATION_CODE: Final = "VN"
NATION_NAME: Final = "Việt Nam"

#: Digits of a canonical code: provinces as in vaxlink files and CCCD numbers (GSO code padded
#: to 3), districts and wards as GSO writes them.
CODE_WIDTH: Final = {Level.PROVINCE: 3, Level.DISTRICT: 3, Level.WARD: 5}

_DIGITS = re.compile(r"[0-9]+")


class UnitKey(NamedTuple):
    """Identity of a unit in one list: level and canonical code (province 001 ≠ district 001)."""

    level: Level
    code: str

    def __str__(self) -> str:
        return f"{self.level}:{self.code}"


NATION: Final = UnitKey(Level.NATION, NATION_CODE)


def list_version(raw: str | ListVersion) -> ListVersion:
    """The list version named by `raw` ("2008-2025" or "2025")."""
    try:
        return ListVersion(str(raw).strip())
    except ValueError:
        known = ", ".join(v.value for v in ListVersion)
        raise GeoError(f"unknown list of administrative units {raw!r}; known: {known}") from None


def level_of(raw: str | Level) -> Level:
    """The level named by `raw` (nation, province, district or ward; any case)."""
    try:
        return Level(str(raw).strip().lower())
    except ValueError:
        known = ", ".join(lv.value for lv in Level)
        raise GeoError(f"unknown administrative level {raw!r}; known: {known}") from None


def format_code(level: Level, raw: str | int) -> str:
    """Canonical form of a code of `level`: "1", "01" and "001" are all province 001.

    Leading zeros lost in spreadsheets are restored; anything but ASCII digits is refused.
    """
    if level is Level.NATION:
        if isinstance(raw, str) and raw.strip().upper() == NATION_CODE:
            return NATION_CODE
        raise GeoError(f"nation code {raw!r} is not {NATION_CODE}")
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise GeoError(f"{level} code must be digits, got {type(raw).__name__} {raw!r}")
    text = str(raw).strip() if isinstance(raw, str) else (str(raw) if raw >= 0 else "")
    if not _DIGITS.fullmatch(text):
        raise GeoError(f"{level} code {raw!r} must be made of digits only")
    width = CODE_WIDTH[level]
    significant = text.lstrip("0")
    if len(significant) > width:
        raise GeoError(f"{level} code {raw!r} is too long: at most {width} digits")
    return significant.zfill(width)


def unit_key(ref: str | UnitKey) -> UnitKey:
    """Parse a unit reference: "province:1", "district:001", "ward:00001", "00001" or "VN".

    A bare 3-digit code is refused: province 001 (Hà Nội) and district 001 (Ba Đình) differ, and
    a scope check must never guess which one was meant.
    """
    if isinstance(ref, tuple):
        level, code = ref
        lv = level_of(level)
        return UnitKey(lv, format_code(lv, code))
    if not isinstance(ref, str):
        raise GeoError(f"unit reference must be text, got {type(ref).__name__}")
    text = ref.strip()
    if ":" in text:
        level_part, code_part = text.split(":", 1)
        lv = level_of(level_part)
        return UnitKey(lv, format_code(lv, code_part))
    if text.upper() == NATION_CODE or text.lower() == Level.NATION:
        return NATION
    if len(text) == CODE_WIDTH[Level.WARD] and _DIGITS.fullmatch(text):
        return UnitKey(Level.WARD, text)
    raise GeoError(
        f"unit reference {ref!r} is ambiguous: write level:code, "
        "e.g. province:001, district:001, ward:00001 (or a 5-digit ward code, or VN)"
    )

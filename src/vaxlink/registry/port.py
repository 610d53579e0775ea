"""The population-registry port and its local adapter (the store's citizen table).

The port answers one question for online verification: which citizens could this person be?
Every lookup is an index probe, so one call stays in milliseconds at a million citizens.
"""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import ColumnElement, func, select, union
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.identity import (
    DateParseError,
    IdKind,
    classify_id,
    fold_name,
    normalise_id,
    pad_lost_zeros,
    parse_date,
)
from vaxlink.registry.keys import id_variants, name_key
from vaxlink.registry.models import Citizen
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson

#: Family names that sites write one for the other (regional spellings of the same name).
_FAMILY_TWINS = {"hoang": "huynh", "huynh": "hoang", "vu": "vo", "vo": "vu"}
MAX_CANDIDATES = 60


class RegistryPort(Protocol):
    """Where citizens are looked up: the local snapshot, or the national registry over HTTP."""

    def candidates(self, query: PersonQuery) -> CandidateAnswer:
        """Citizens that could be this person (an over-complete list; scoring decides)."""
        ...

    def get(self, citizen_id: str) -> RegistryPerson | None:
        """One citizen by ID number, or None."""
        ...


def normalise_phone(raw: str | None) -> str | None:
    """A mobile number as 10 digits starting with 0 (the twin of SQL vx_phone)."""
    x = re.sub(r"[^0-9]", "", raw or "")
    if x.startswith("84") and len(x) == 11:
        return "0" + x[2:]
    if len(x) == 9 and not x.startswith("0"):
        return "0" + x
    return x if len(x) == 10 and x.startswith("0") else None


def _names(full_name: str) -> tuple[set[str], set[str]]:
    """Folded full names and family+given keys to try: as written, reversed, family-name twins."""
    words = fold_name(full_name).split()
    if not words:
        return set(), set()
    variants = [words, list(reversed(words))]
    if words[0] in _FAMILY_TWINS:
        variants.append([_FAMILY_TWINS[words[0]], *words[1:]])
    folded = {" ".join(w) for w in variants}
    keys = {k for k in (name_key(" ".join(w)) for w in variants) if k}
    return folded, keys


def _person(c: Citizen) -> RegistryPerson:
    return RegistryPerson(
        citizen_id=c.citizen_id, full_name=c.full_name, date_of_birth=c.date_of_birth, sex=c.sex,
        province_code=c.province_code, district_code=c.district_code, ward_code=c.ward_code,
        old_id=c.old_id, phone=c.phone,
    )  # fmt: skip


class LocalRegistry:
    """The port over the store's `citizen` table (a loaded snapshot)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._size: int | None = None

    def _filters(self, q: PersonQuery) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        raw_id = q.id_number or ""
        kind = classify_id(raw_id)
        digits = normalise_id(raw_id)
        padded = pad_lost_zeros(raw_id)
        id12 = (
            digits
            if kind is IdKind.CCCD12
            else padded
            if kind is IdKind.CCCD12_LOST_ZEROS
            else None
        )
        cmnd = (
            digits if kind is IdKind.CMND9 else padded if kind is IdKind.CMND9_LOST_ZEROS else None
        )
        if id12:
            conds.append(Citizen.citizen_id.in_([id12, *id_variants(id12)]))
        if cmnd:
            conds.append(Citizen.old_id == cmnd)
        phone = normalise_phone(q.phone)
        if phone:
            conds.append(Citizen.phone == phone)
        folded, keys = _names(q.full_name)
        year = self._year(q.date_of_birth)
        if year:
            lo, hi = str(year - 1), str(year + 2)  # off-by-one years, swaps and 1 January inside
            window = (Citizen.date_of_birth >= lo) & (Citizen.date_of_birth < hi)
            if folded:
                conds.append(Citizen.name_folded.in_(sorted(folded)) & window)
            if keys:
                conds.append(Citizen.name_key.in_(sorted(keys)) & window)
        exact = self._iso(q.date_of_birth)
        if exact and len(exact) == 10:
            conds.append(Citizen.date_of_birth == exact)  # a typo in the name: same birthday
        return conds

    @staticmethod
    def _iso(raw: str | None) -> str | None:
        try:
            return parse_date(raw).iso() if raw else None
        except DateParseError:
            return None

    @classmethod
    def _year(cls, raw: str | None) -> int | None:
        iso = cls._iso(raw)
        return int(iso[:4]) if iso else None

    def size(self) -> int:
        """How many citizens the snapshot holds (cached)."""
        if self._size is None:
            with self._sessions() as s:
                self._size = int(s.scalar(select(func.count()).select_from(Citizen)) or 0)
        return self._size

    def candidates(self, query: PersonQuery) -> CandidateAnswer:
        """Citizens reachable by any lookup key of the query, at most MAX_CANDIDATES."""
        conds = self._filters(query)
        if not conds:
            return CandidateAnswer(candidates=[], registry_size=self.size())
        # One index probe per key, unioned: planners handle this better than one wide OR.
        ids = union(*(select(Citizen.citizen_id).where(c) for c in conds)).subquery()
        with self._sessions() as s:
            rows = s.scalars(
                select(Citizen)
                .where(Citizen.citizen_id.in_(select(ids.c.citizen_id)))
                .order_by(Citizen.citizen_id)
                .limit(MAX_CANDIDATES)
            ).all()
        return CandidateAnswer(candidates=[_person(c) for c in rows], registry_size=self.size())

    def get(self, citizen_id: str) -> RegistryPerson | None:
        """One citizen by ID number."""
        with self._sessions() as s:
            c = s.get(Citizen, normalise_id(citizen_id))
        return _person(c) if c else None

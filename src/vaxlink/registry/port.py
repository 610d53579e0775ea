"""The population-registry port and its local adapter (the store's citizen table).

The port answers one question for online verification: which citizens could this person be?
Every lookup is an index probe, so one call stays in milliseconds at a million citizens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Row,
    bindparam,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError
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
from vaxlink.registry.errors import RegistryUnavailable
from vaxlink.registry.keys import id_variants, name_key
from vaxlink.registry.models import Citizen
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson

#: Family names that sites write one for the other (regional spellings of the same name).
_FAMILY_TWINS = {"hoang": "huynh", "huynh": "hoang", "vu": "vo", "vo": "vu"}
#: Candidates a lookup returns at most (the scorer's work grows with them).
MAX_CANDIDATES = 30


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


_COLUMNS = (
    Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth, Citizen.sex,
    Citizen.province_code, Citizen.district_code, Citizen.ward_code, Citizen.old_id,
    Citizen.phone, Citizen.name_folded,
)  # fmt: skip
#: How much reaching a citizen through each lookup key says (used only to rank the candidates
#: kept when more than MAX_CANDIDATES are reachable; scoring decides among those kept).
_PROBE_WEIGHT = {
    "id": 64, "id_variant": 16, "old_id": 32, "phone": 16, "name": 8, "name_key": 4, "dob": 2,
}  # fmt: skip


_PROBE_BIT = {name: 1 << i for i, name in enumerate(_PROBE_WEIGHT)}


def _person(c: Citizen | Row[Any]) -> RegistryPerson:
    return RegistryPerson(
        citizen_id=c.citizen_id, full_name=c.full_name, date_of_birth=c.date_of_birth, sex=c.sex,
        province_code=c.province_code, district_code=c.district_code, ward_code=c.ward_code,
        old_id=c.old_id, phone=c.phone,
    )  # fmt: skip


class LocalRegistry:
    """The port over the store's `citizen` table (a loaded snapshot).

    A lookup is one round trip outside any transaction: a UNION ALL of index probes, one per
    lookup key, each row tagged with its key, and no join. When more than MAX_CANDIDATES
    citizens are reachable (common names at a million citizens), those reached by the most
    telling keys, then those sharing the most details, are kept. Store failures become
    RegistryUnavailable, with a message that carries no personal data. On PostgreSQL the table
    needs its statistics (ANALYZE after a bulk load): without them the planner starts parallel
    workers for these tiny probes and a lookup costs tens of milliseconds.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._size: int | None = None

    def _keys(self, q: PersonQuery) -> dict[str, Any]:
        """The query's lookup keys, by probe name (a probe runs when its key is known)."""
        keys: dict[str, Any] = {}
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
            keys["id"] = {"id12": id12}
            keys["id_variant"] = {"variants": id_variants(id12)}
        if cmnd:
            keys["old_id"] = {"cmnd": cmnd}
        phone = normalise_phone(q.phone)
        if phone:
            keys["phone"] = {"phone": phone}
        folded, name_keys = _names(q.full_name)
        year = self._year(q.date_of_birth)
        if year:
            # Off-by-one years, swaps and 1 January fall inside the full name's window; a
            # dropped middle name (family and given name only, far more common) is looked up in
            # the year given.
            if folded:
                keys["name"] = {"folded": sorted(folded), "lo": str(year - 1), "hi": str(year + 2)}
            if name_keys:
                keys["name_key"] = {"keys": sorted(name_keys), "y_lo": str(year),
                                    "y_hi": str(year + 1)}  # fmt: skip
        exact = self._iso(q.date_of_birth)
        if exact and len(exact) == 10:
            keys["dob"] = {"dob": exact}  # a typo in the name, the same birthday
        return keys

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
            try:
                with self._sessions() as s:
                    self._size = int(s.scalar(select(func.count()).select_from(Citizen)) or 0)
            except SQLAlchemyError as exc:
                raise _unavailable() from exc
        return self._size

    def candidates(self, query: PersonQuery) -> CandidateAnswer:
        """Citizens reachable by any lookup key of the query, at most MAX_CANDIDATES."""
        keys = self._keys(query)
        if not keys:
            return CandidateAnswer(candidates=[], registry_size=self.size())
        params = {k: v for probe in keys.values() for k, v in probe.items()}
        try:
            with self._sessions() as s:
                # Autocommit: no BEGIN and ROLLBACK round trips around a single read.
                conn = s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                rows = conn.execute(_lookup(tuple(keys)), params).all()
        except SQLAlchemyError as exc:
            raise _unavailable() from exc
        return CandidateAnswer(
            candidates=[_person(r) for r in _ranked(query, self._iso(query.date_of_birth), rows)],
            registry_size=self.size(),
        )

    def get(self, citizen_id: str) -> RegistryPerson | None:
        """One citizen by ID number."""
        try:
            with self._sessions() as s:
                c = s.get(Citizen, normalise_id(citizen_id))
        except SQLAlchemyError as exc:
            raise _unavailable() from exc
        return _person(c) if c else None


_PROBES: dict[str, ColumnElement[bool]] = {
    "id": Citizen.citizen_id == bindparam("id12"),
    "id_variant": Citizen.citizen_id.in_(bindparam("variants", expanding=True)),
    "old_id": Citizen.old_id == bindparam("cmnd"),
    "phone": Citizen.phone == bindparam("phone"),
    "name": Citizen.name_folded.in_(bindparam("folded", expanding=True))
    & (Citizen.date_of_birth >= bindparam("lo"))
    & (Citizen.date_of_birth < bindparam("hi")),
    "name_key": Citizen.name_key.in_(bindparam("keys", expanding=True))
    & (Citizen.date_of_birth >= bindparam("y_lo"))
    & (Citizen.date_of_birth < bindparam("y_hi")),
    "dob": Citizen.date_of_birth == bindparam("dob"),
}


@lru_cache(maxsize=len(_PROBES) ** 3)
def _lookup(probes: tuple[str, ...]) -> CompoundSelect[Any]:
    """One statement probing each key's index, rows tagged with the probe (built once a shape,
    so SQLAlchemy's compiled cache and the driver's prepared statements are reused)."""
    return union_all(
        *(select(*_COLUMNS, literal_column(f"'{p}'").label("probe")).where(_PROBES[p])
          for p in probes)
    )  # fmt: skip


def _unavailable() -> RegistryUnavailable:
    return RegistryUnavailable("the local population registry (the store) could not be read")


def _code(raw: str | None, width: int) -> str | None:
    digits = (raw or "").strip()
    return digits.zfill(width) if digits.isdigit() and len(digits) <= width else None


def _agreement(query: PersonQuery, dob: str | None) -> Callable[[Row[Any]], int]:
    """How many cheap details of the query a registry row shares: name words, birthday
    (day and month count even when the year is off), residence."""
    words = set(fold_name(query.full_name).split())
    place = [(col, _code(raw, w)) for col, raw, w in (
        ("province_code", query.province_code, 3), ("district_code", query.district_code, 3),
        ("ward_code", query.ward_code, 5))]  # fmt: skip

    def agree(r: Row[Any]) -> int:
        n = len(words & set(r.name_folded.split()))
        if dob and r.date_of_birth:
            n += 2 if r.date_of_birth == dob else int(r.date_of_birth[4:] == dob[4:] != "")
        return n + sum(1 for col, code in place if code and getattr(r, col) == code)

    return agree


def _ranked(query: PersonQuery, dob: str | None, rows: Sequence[Row[Any]]) -> list[Row[Any]]:
    """One row per citizen, at most MAX_CANDIDATES, in citizen_id order.

    A citizen found only by the birthday probe is kept when their name differs from the query's
    in one word at most (the typo that probe is for); at a million citizens a birthday is shared
    by dozens of strangers. Beyond the cap, those reached by the most telling keys, then those
    sharing the most details, are kept."""
    weight: dict[str, int] = {}
    first: dict[str, Row[Any]] = {}
    for r in rows:
        cid = r.citizen_id
        if cid not in first:
            first[cid], weight[cid] = r, 0
        weight[cid] |= _PROBE_BIT[r.probe]
    words = set(fold_name(query.full_name).split())
    need = max(1, len(words) - 1)
    first = {
        c: r
        for c, r in first.items()
        if weight[c] != _PROBE_BIT["dob"] or len(words & set(r.name_folded.split())) >= need
    }
    if len(first) > MAX_CANDIDATES:
        agree = _agreement(query, dob)
        ranked = sorted(first, key=lambda c: (-_worth(weight[c]), -agree(first[c]), c))
        first = {c: first[c] for c in ranked[:MAX_CANDIDATES]}
    return sorted(first.values(), key=lambda r: r.citizen_id)


def _worth(bits: int) -> int:
    return sum(w for name, w in _PROBE_WEIGHT.items() if bits & _PROBE_BIT[name])

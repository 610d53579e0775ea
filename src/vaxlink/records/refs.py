"""Opaque person references: what URLs, audit entries and partner APIs name instead of an ID number.

A CCCD/CMND number in a URL ends up in proxy and access logs; in an audit entry it turns the
audit log into a register of who was looked at. So those places carry a person reference: 16
random bytes (base32, `p` + 26 characters), made the first time a citizen ID needs one and kept in
`person_ref` beside it. It reveals nothing without the store, never changes (no key to rotate),
and an investigator with the store resolves it (`resolve_ref`) or finds a person's entries
(`person_ref`). It is not secret: it only keeps the ID number itself out of logs and URLs.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vaxlink.records.models import PersonRef

#: The shape of a reference (also the path pattern of the partner API).
REF_PATTERN: Final = r"^p[a-z2-7]{26}$"
_REF: Final = re.compile(REF_PATTERN)


def new_ref() -> str:
    """A fresh reference: `p` and 16 random bytes in lower-case base32 (no digits 0, 1, 8, 9)."""
    return "p" + base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def is_ref(value: str) -> bool:
    """True when `value` has the shape of a person reference."""
    return bool(_REF.fullmatch(value))


def person_refs(session: Session, citizen_ids: Iterable[str]) -> dict[str, str]:
    """The reference of each citizen ID, made where missing (race-safe: first insert wins)."""
    wanted = sorted({c for c in citizen_ids if c})
    if not wanted:
        return {}
    query = select(PersonRef.citizen_id, PersonRef.ref).where(PersonRef.citizen_id.in_(wanted))
    found: dict[str, str] = {c: r for c, r in session.execute(query).all()}
    missing = [c for c in wanted if c not in found]
    if missing:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        rows = [{"citizen_id": c, "ref": new_ref()} for c in missing]
        session.execute(insert(PersonRef).values(rows).on_conflict_do_nothing())
        more = select(PersonRef.citizen_id, PersonRef.ref).where(PersonRef.citizen_id.in_(missing))
        found.update({c: r for c, r in session.execute(more).all()})
    return found


def person_ref(session: Session, citizen_id: str) -> str:
    """The reference of one citizen ID (made on first use)."""
    return person_refs(session, [citizen_id])[citizen_id]


def resolve_ref(session: Session, ref: str) -> str | None:
    """The citizen ID a reference stands for; None for an unknown or malformed reference."""
    if not is_ref(ref):
        return None
    return session.scalar(select(PersonRef.citizen_id).where(PersonRef.ref == ref))

"""The partner change feed: what happened to certificates (issued, reissued, renewed, revoked),
in one order, each change exactly once, by a cursor ("what changed since").

Why not a sequence or an autoincrement id as the cursor: on PostgreSQL two transactions take
ids 7 and 8, 8 commits first, a partner reads up to 8 and moves its cursor past 7, which then
commits and is never seen. Instead:

1. the transaction that changes a certificate also writes its `certificate_change` row
   (`record_issued`, `record_revoked`, set-based), with no position: the change and its event
   commit or roll back together, so nothing is lost and nothing is invented;
2. a single sequencer (`sequence`) numbers the committed rows that have no position yet. It
   holds the row lock of `certificate_change_head` (PostgreSQL), or the store's write lock
   (SQLite: its first statement writes), so one runs at a time; after taking the turn its
   statements see every row committed before, and it numbers them after the head's position.
   A row still in flight is numbered by a later run, with a higher position.

So positions become visible in increasing order, with no holes a reader could pass over: a
reader that sees position P sees every position below P. The feed answers only what is at or
below the head it read in the same statement snapshot, and the cursor it hands back is that
position. Anyone may run the sequencer (the feed route and the push job do, before reading):
it costs one index probe when nothing is pending.

Items name the person by the opaque reference (`records.refs`), never the ID number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, case, func, insert, literal, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.certificates.models import Certificate, CertificateChange, ChangeFeedHead
from vaxlink.db import transaction
from vaxlink.records.service import person_refs

ISSUED: Final = "issued"
REISSUED: Final = "reissued"
RENEWED: Final = "renewed"
REVOKED: Final = "revoked"
EVENTS: Final = (ISSUED, REISSUED, RENEWED, REVOKED)
#: Most changes one sequencer run numbers (a bulk issuance of millions is numbered in steps).
SEQUENCE_BATCH: Final = 50_000
MAX_LIMIT: Final = 1_000

#: `created_reason` of a certificate row (`issuance.issuer.Reason`) -> its feed event.
_REASON_EVENT = case(
    (Certificate.created_reason == "issue", literal(ISSUED)),
    (Certificate.created_reason == "renewal", literal(RENEWED)),
    else_=literal(REISSUED),
)


def record_issued(session: Session, uvcis: Sequence[str]) -> None:
    """Feed events of certificates just inserted (by UVCI), in the inserting transaction: one
    INSERT … SELECT, however many."""
    if not uvcis:
        return
    chosen = select(Certificate.id, _REASON_EVENT, Certificate.kind, Certificate.created_at).where(
        Certificate.uvci.in_(list(uvcis))
    )
    session.execute(
        insert(CertificateChange).from_select(
            ["certificate_id", "event", "kind", "occurred_at"], chosen
        )
    )


def record_revoked(session: Session, certificate: Certificate, *, now: datetime) -> None:
    """The feed event of a revocation, in the revoking transaction."""
    session.add(
        CertificateChange(
            certificate_id=certificate.id, event=REVOKED, kind=certificate.kind, occurred_at=now
        )
    )


_HEAD: Final = cast(Table, ChangeFeedHead.__table__)
_CHANGES: Final = cast(Table, CertificateChange.__table__)


def _take_head(session: Session, now: datetime) -> int:
    """Take the sequencer's turn (a write first: SQLite's write lock, PostgreSQL's row lock)
    and return the head position; makes the head row on a store that has none."""
    head = _HEAD
    taken = session.execute(
        update(head).where(head.c.id == 1).values(sequenced_at=now).returning(head.c.position)
    ).scalar_one_or_none()
    if taken is not None:
        return int(taken)
    session.execute(insert(head).values(id=1, position=0, sequenced_at=now))
    return 0


def pending(session: Session) -> bool:
    """Whether committed changes wait for a position (one probe of the pending index)."""
    found = session.scalar(
        select(CertificateChange.id).where(CertificateChange.position.is_(None)).limit(1)
    )
    return found is not None


def sequence(session: Session, *, now: datetime, batch: int = SEQUENCE_BATCH) -> int:
    """Number the pending committed changes after the head (set-based); returns how many.
    Its first statement takes the turn; the caller commits (a transaction of its own)."""
    base = _take_head(session, now)
    table = _CHANGES
    ranked = (
        select(table.c.id, func.row_number().over(order_by=table.c.id).label("n"))
        .where(table.c.position.is_(None))
        .order_by(table.c.id)
        .limit(batch)
        .subquery()
    )
    numbered = session.execute(
        update(table)
        .where(table.c.id == ranked.c.id)
        .values(position=base + ranked.c.n)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if numbered:
        head = _HEAD
        session.execute(update(head).where(head.c.id == 1).values(position=base + numbered))
    return int(numbered)


def sequence_pending(engine: Engine, *, now: datetime, max_steps: int | None = None) -> int:
    """Number what is pending, each step in a short transaction of its own: a look (no lock)
    and, only when something waits, sequencer runs until nothing does (or `max_steps` of
    `SEQUENCE_BATCH` each: a request numbers at most that much after a bulk issuance, the push
    job the rest)."""
    total, steps = 0, 0
    while max_steps is None or steps < max_steps:
        steps += 1
        with transaction(engine) as s:
            if not pending(s):
                return total
        with transaction(engine) as s:
            done = sequence(s, now=now, batch=SEQUENCE_BATCH)
        total += done
        if done < SEQUENCE_BATCH:
            return total
    return total


def head(session: Session) -> int:
    """The last position handed out (0 on an empty feed)."""
    found = session.scalar(select(ChangeFeedHead.position).where(ChangeFeedHead.id == 1))
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class Change:
    """One feed item as a partner sees it."""

    position: int
    event: str
    kind: str
    ref: str
    occurred_at: datetime
    uvci: str | None
    expires_at: datetime | None

    def item(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.position),
            "type": f"certificate.{self.event}",
            "ref": self.ref,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
        }
        if self.uvci is not None:
            out["uvci"] = self.uvci
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class Page:
    """Changes after a cursor and the cursor to ask with next."""

    changes: list[Change]
    cursor: int
    more: bool


def changes_after(
    session: Session,
    cursor: int,
    *,
    kinds: Iterable[str],
    limit: int,
    full: bool,
    upto: int | None = None,
) -> Page:
    """The changes of `kinds` after `cursor`, at most `limit`, at or below the head as read
    now (or `upto`, when lower). `full` adds the UVCI and expiry (a minimal client gets neither).
    The next cursor is the last item's position, or the head when the page is not full: a
    client whose kinds are rare does not read the same empty stretch again."""
    top = head(session) if upto is None else min(upto, head(session))
    wanted = sorted(set(kinds))
    rows = session.execute(
        select(
            CertificateChange.position,
            CertificateChange.event,
            CertificateChange.kind,
            CertificateChange.occurred_at,
            Certificate.citizen_id,
            Certificate.uvci,
            Certificate.exp,
        )
        .join(Certificate, Certificate.id == CertificateChange.certificate_id)
        .where(
            CertificateChange.position > cursor,
            CertificateChange.position <= top,
            CertificateChange.kind.in_(wanted),
        )
        .order_by(CertificateChange.position)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    refs = person_refs(session, [r.citizen_id for r in rows])
    changes = [
        Change(int(r.position), r.event, r.kind, refs[r.citizen_id], r.occurred_at,
               r.uvci if full else None, r.exp if full else None)
        for r in rows
    ]  # fmt: skip
    following = changes[-1].position if more else max(top, cursor)
    if not more and changes:
        following = max(top, changes[-1].position)
    return Page(changes, following, more)

"""The append-only, hash-chained audit log: every write and every view of a person's record.

Each entry's `hash` is SHA-256 over a canonical serialisation of all its columns including the
previous entry's hash, so changing or deleting any entry breaks the chain from there on
(`vaxlink audit verify`). `append_many` is the chain's one writer (`record` and the citizen
views' group commit go through it). Appends are serialised by updating the single `audit_head` row first:
a row lock on PostgreSQL, the database write lock on SQLite. The lock is held until the caller's
transaction ends, which keeps the chain in commit order and atomic with the audited write.

`detail` carries ids, field names and version numbers, never names, dates of birth, ID numbers,
phone numbers or addresses: keys that name such data are refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction

from vaxlink.auth.models import AuditEntry, AuditHead
from vaxlink.auth.principal import Principal

log = logging.getLogger(__name__)

GENESIS: Final = "0" * 64
#: Version of the canonical serialisation, hashed with every entry.
FORMAT: Final = 1
#: Keys that name personal data; refused anywhere inside `detail`.
PERSONAL_KEYS: Final = frozenset(
    {
        "name", "full_name", "date_of_birth", "dob", "birth_date", "id_number", "citizen_id",
        "cccd", "cmnd", "old_id", "phone", "address", "email", "password",
    }
)  # fmt: skip
#: session.info key of audit entries to write after the current transaction ends.
PENDING: Final = "vaxlink.audit.after_transaction"


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    """`detail` as canonical JSON text (sorted keys, no spaces), refusing personal-data keys."""
    payload = dict(detail or {})
    _refuse_personal(payload)
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _refuse_personal(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).lower() in PERSONAL_KEYS:
                raise ValueError(f"audit detail must not carry personal data (key {key!r})")
            _refuse_personal(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _refuse_personal(inner)


def canonical_unit(unit: str | None) -> str | None:
    """ "ward:00001" style; a bare 5-digit code is a ward. A bare 3-digit code is kept as given
    (province 001 and district 001 differ; callers should write "district:001")."""
    if unit is None:
        return None
    text = unit.strip()
    if len(text) == 5 and text.isdigit():
        return f"ward:{text}"
    return text


def instant_text(at: dt.datetime) -> str:
    """The canonical text of an instant: UTC, microseconds, `+00:00`."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    object_type: str,
    object_id: str,
    unit: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) over the canonical serialisation of one entry, `prev_hash` included."""
    fields = [FORMAT, seq, instant_text(at), actor_id, actor_role, action, object_type,
              object_id, unit, detail, prev_hash]  # fmt: skip
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """The hash an entry should carry, recomputed from its stored columns."""
    return entry_hash(
        seq=entry.seq, at=entry.at, actor_id=entry.actor_id, actor_role=entry.actor_role,
        action=entry.action, object_type=entry.object_type, object_id=entry.object_id,
        unit=entry.unit, detail=entry.detail, prev_hash=entry.prev_hash,
    )  # fmt: skip


#: The chain's statements, on the tables (Core): every audited request runs them, and the ORM's
#: bulk insert and update paths cost several times the statements themselves (nothing here
#: reads entries back as objects). Built once.
_HEAD = cast(Table, AuditHead.__table__)
_LOCK_HEAD: Final = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 0)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)  # fmt: skip
_NEW_HEAD: Final = insert(_HEAD).values(id=1, seq=0, hash=GENESIS)
_INSERT_ENTRIES: Final = insert(cast(Table, AuditEntry.__table__))
_MOVE_HEAD: Final = (
    update(_HEAD).where(_HEAD.c.id == 1)
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)  # fmt: skip


def _take_head(session: Session) -> tuple[int, str]:
    """Lock the head row (creating it on a store built without migrations) and read it: one
    UPDATE ... RETURNING, the row lock (PostgreSQL) or write lock (SQLite) and the read."""
    row = session.execute(_LOCK_HEAD).one_or_none()
    if row is None:
        session.execute(_NEW_HEAD)
        row = session.execute(_LOCK_HEAD).one()
    return int(row.seq), str(row.hash)


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry to append. `actor` None means the system itself (a batch job, an operator at
    the CLI, a citizen's own view); `unit` is where the object lies, e.g. "ward:00001"; `at`
    when it happened (from the caller's clock)."""

    action: str
    object_type: str
    object_id: str | int
    actor: Principal | None = None
    unit: str | None = None
    detail: Mapping[str, Any] | None = None
    at: dt.datetime = field(kw_only=True)


def append_many(session: Session, entries: Sequence[Entry]) -> list[int]:
    """Append entries, in order, in the caller's transaction (flushed, not committed); returns
    their seqs. The one writer of the chain: one head lock, one multi-row insert and one head
    move however many entries. Raises ValueError, before writing anything, if a `detail`
    names personal data."""
    details = [canonical_detail(e.detail) for e in entries]
    if not entries:
        return []
    session.flush()  # the audited write first, as a caller expects of an audited step
    seq, prev = _take_head(session)
    rows: list[dict[str, Any]] = []
    seqs: list[int] = []
    for e, detail in zip(entries, details, strict=True):
        seq += 1
        when = e.at.astimezone(dt.UTC)
        actor_id = e.actor.user_id if e.actor else None
        actor_role = str(e.actor.role) if e.actor else None
        object_id, unit = str(e.object_id), canonical_unit(e.unit)
        digest = entry_hash(seq=seq, at=when, actor_id=actor_id, actor_role=actor_role,
                            action=e.action, object_type=e.object_type, object_id=object_id,
                            unit=unit, detail=detail, prev_hash=prev)  # fmt: skip
        rows.append({"seq": seq, "at": when, "actor_id": actor_id, "actor_role": actor_role,
                     "action": e.action, "object_type": e.object_type, "object_id": object_id,
                     "unit": unit, "detail": detail, "prev_hash": prev, "hash": digest})  # fmt: skip
        prev = digest
        seqs.append(seq)
    session.execute(_INSERT_ENTRIES, rows)
    session.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev})
    return seqs


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: str | int,
    unit: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime,
) -> int:
    """Append one entry, at `at`, in the caller's transaction (flushed, not committed); returns
    its seq.

    Raises ValueError if `detail` names personal data."""
    entry = Entry(action, object_type, object_id, actor, unit, detail, at=at)
    return append_many(session, [entry])[0]


def record_after_transaction(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: str | int,
    unit: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime,
) -> None:
    """Append an entry (stamped `at`) in a transaction of its own once the session's transaction has ended
    (committed or rolled back): for refusals that must survive the request's rollback.

    Waiting for the end avoids waiting on the audit lock this very transaction may hold. The
    session gets its listener here, on first use: nothing is registered at import."""
    entry = Entry(action, object_type, str(object_id), actor, unit, dict(detail or {}), at=at)
    canonical_detail(entry.detail)  # refuse personal data now, at the caller
    pending: list[Entry] = session.info.setdefault(PENDING, [])
    pending.append(entry)
    if not event.contains(session, "after_transaction_end", _write_pending):
        event.listen(session, "after_transaction_end", _write_pending)


def _write_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(PENDING):
        return
    pending: list[Entry] = session.info.pop(PENDING)
    bind = transaction.session.bind
    try:
        write_entries(bind, pending)
    except Exception:  # the refusal stands; losing its entry must be loud, not fatal
        log.exception(
            "could not write %d audit entries after the transaction (%s)",
            len(pending), ", ".join(sorted({p.action for p in pending})),
        )  # fmt: skip


def write_entries(bind: Engine | Connection | None, entries: Sequence[Entry]) -> list[int]:
    """Append entries in a transaction of their own on `bind` (an engine, or a connection that
    may still be inside an outer transaction, as in tests: then inside a savepoint)."""
    if bind is None:
        raise RuntimeError("the session has no bind to write audit entries with")
    if isinstance(bind, Connection):
        with Session(bind=bind, join_transaction_mode="create_savepoint") as s:
            seqs = append_many(s, entries)
            s.commit()
        return seqs
    with Session(bind=bind) as s, s.begin():
        return append_many(s, entries)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `verify_chain` found: the entries checked and the first problem, if any."""

    checked: int
    last_seq: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def iter_entries(session: Session, chunk: int = 5000) -> Iterator[AuditEntry]:
    """Every entry by seq, read in keyset chunks so memory stays flat on long chains."""
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session, chunk: int = 5000) -> ChainReport:
    """Walk the chain from seq 1: contiguous seqs, each prev_hash the previous hash, each hash
    recomputed from its columns, and the head row naming the last entry."""
    expected_seq, prev, checked = 1, GENESIS, 0
    for entry in iter_entries(session, chunk):
        if entry.seq != expected_seq:
            return ChainReport(checked, expected_seq - 1, expected_seq,
                               f"entries {expected_seq}..{entry.seq - 1} are missing")  # fmt: skip
        if entry.prev_hash != prev:
            return ChainReport(checked, entry.seq, entry.seq,
                               f"entry {entry.seq} does not follow entry {entry.seq - 1}")  # fmt: skip
        if hash_of(entry) != entry.hash:
            return ChainReport(checked, entry.seq, entry.seq,
                               f"entry {entry.seq} was changed after it was written")  # fmt: skip
        prev, checked, expected_seq = entry.hash, checked + 1, expected_seq + 1
    last = expected_seq - 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != last or head_hash != prev:
        return ChainReport(checked, last, last + 1,
                           f"the chain ends at entry {last} but its head names entry {head_seq}: "
                           "entries were removed from the end or the head was altered")  # fmt: skip
    return ChainReport(checked, last)

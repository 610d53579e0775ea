"""The hash chain: canonical hashes, concurrent appends, tamper detection, refusals that
survive a rollback (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import audit
from vaxlink.auth.deps import ensure_in_scope
from vaxlink.auth.errors import OutOfScope
from vaxlink.auth.models import AuditEntry, AuditHead
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.db import transaction
from vaxlink.geo.codes import Level, UnitKey

POLICE = Principal(7, "police.phucxa", Role.COMMUNE_POLICE, UnitKey(Level.WARD, "00001"))


def _append(s: Session, n: int, actor: Principal | None = POLICE) -> None:
    for i in range(n):
        audit.record(s, actor=actor, action="dose.view", object_type="dose_record",
                     object_id=i, unit="ward:00001", detail={"version": i, "fields": ["sex"]}, at=dt.datetime.now(dt.UTC))  # fmt: skip


def test_chain_links_and_hashes(session: Session) -> None:
    _append(session, 3)
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    assert all(audit.hash_of(r) == r.hash for r in rows)
    assert rows[0].detail == '{"fields":["sex"],"version":0}'
    assert (rows[0].actor_id, rows[0].actor_role) == (7, "commune_police")
    assert audit.verify_chain(session).intact
    head = session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (3, rows[2].hash)


@pytest.mark.parametrize("key", ["full_name", "citizen_id", "Phone", "date_of_birth"])
def test_personal_data_is_refused(session: Session, key: str) -> None:
    with pytest.raises(ValueError, match="personal data"):
        audit.record(session, actor=POLICE, action="x", object_type="y", object_id=1,
                     detail={"changes": [{key: "Nguyễn Văn An"}]}, at=dt.datetime.now(dt.UTC))  # fmt: skip


def test_concurrent_appends_keep_one_chain(store: Engine) -> None:
    """Eight writers appending at once: no lost or duplicate links, chain intact."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with transaction(store) as s:
                    s.execute(text("SELECT 1"))  # a read before the first write, as requests do
                    _append(s, 2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with transaction(store) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 80
        report = audit.verify_chain(s, chunk=7)
    assert report.intact
    assert report.checked == 80
    assert report.last_seq == 80


def _build(store: Engine, n: int = 6) -> None:
    with transaction(store) as s:
        _append(s, n)


def _verify(store: Engine) -> audit.ChainReport:
    with transaction(store) as s:
        return audit.verify_chain(s, chunk=4)


def test_tampered_entry_is_detected(store: Engine) -> None:
    _build(store)
    with transaction(store) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(object_id="999"))
    report = _verify(store)
    assert not report.intact
    assert report.first_bad_seq == 4
    assert "changed" in (report.problem or "")


def test_rehashed_entry_breaks_the_next_link(store: Engine) -> None:
    """Recomputing the tampered entry's own hash moves the break to its successor."""
    _build(store)
    with transaction(store) as s:
        row = s.get(AuditEntry, 3)
        assert row is not None
        row.detail = '{"version":42}'
        row.hash = audit.hash_of(row)
    report = _verify(store)
    assert not report.intact
    assert report.first_bad_seq == 4


def test_deleted_entries_are_detected(store: Engine) -> None:
    _build(store)
    with transaction(store) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    report = _verify(store)
    assert not report.intact
    assert report.first_bad_seq == 2
    assert "missing" in (report.problem or "")
    with transaction(store) as s:  # cutting off the end is caught by the head row
        s.execute(delete(AuditEntry).where(AuditEntry.seq >= 2))
    report = _verify(store)
    assert not report.intact
    assert report.first_bad_seq == 2
    assert "head" in (report.problem or "")


def test_out_of_scope_refusal_survives_the_rollback(store: Engine) -> None:
    """The request writes and fails with OutOfScope; its writes vanish, the denial stays."""

    def request() -> None:
        with transaction(store) as s:
            _append(s, 1)  # this transaction holds the audit lock now
            ensure_in_scope(s, POLICE, province="001", district="001", ward="00004",
                            object_type="dose_record", object_id="42", now=dt.datetime.now(dt.UTC))  # fmt: skip

    with pytest.raises(OutOfScope):
        request()
    with transaction(store) as s:
        rows = s.scalars(select(AuditEntry)).all()
        assert [(r.action, r.object_id, r.unit) for r in rows] == [
            ("access.denied", "42", "ward:00004")
        ]
        assert audit.verify_chain(s).intact


def test_in_scope_passes_quietly(session: Session) -> None:
    ensure_in_scope(session, POLICE, province="001", district="001", ward="00001",
                    object_type="dose_record", object_id="1", now=dt.datetime.now(dt.UTC))  # fmt: skip
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_denial_inside_an_outer_test_transaction(session: Session) -> None:
    """With a session joined to an outer transaction (as in tests), the denial is written in a
    savepoint on the same connection, not on a second one that would wait for the lock."""
    _append(session, 1)
    with pytest.raises(OutOfScope):
        ensure_in_scope(session, POLICE, province="002", object_type="dose_record",
                        object_id="9", now=dt.datetime.now(dt.UTC))  # fmt: skip
    session.rollback()
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["access.denied"]


def test_append_many_is_the_one_writer_and_keeps_the_chain(session: Session) -> None:
    """Single appends and batches interleave on one chain; a batch moves the head once."""
    from vaxlink.auth import service

    service.append(session, actor=POLICE, action="one", object_type="x", object_id=1, at=dt.datetime.now(dt.UTC))
    batch = [service.NewAuditEntry("many", "citizen", f"00108500000{i}", detail={"by": "citizen"}, at=dt.datetime.now(dt.UTC))
             for i in range(4)]  # fmt: skip
    seqs = service.append_many(session, batch)
    assert seqs == [2, 3, 4, 5]
    assert service.append_many(session, []) == []
    service.append(session, actor=None, action="two", object_type="x", object_id=2, at=dt.datetime.now(dt.UTC))
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [r.action for r in rows] == ["one", "many", "many", "many", "many", "two"]
    assert rows[1].actor_id is None
    assert audit.verify_chain(session).intact
    head = session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (6, rows[-1].hash)


def test_a_batch_naming_personal_data_writes_nothing(session: Session) -> None:
    from vaxlink.auth import service

    batch = [service.NewAuditEntry("ok", "x", 1, at=dt.datetime.now(dt.UTC)),
             service.NewAuditEntry("bad", "x", 2, detail={"phone": "0912345678"}, at=dt.datetime.now(dt.UTC))]  # fmt: skip
    with pytest.raises(ValueError, match="personal data"):
        service.append_many(session, batch)
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_no_listener_is_registered_at_import(session: Session) -> None:
    """Only a session that queued an after-transaction entry listens for its end."""
    from sqlalchemy import event

    assert not event.contains(Session, "after_transaction_end", audit._write_pending)
    other = Session()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0  # a transaction
    audit.record_after_transaction(session, actor=POLICE, action="access.denied",
                                   object_type="x", object_id=1, at=dt.datetime.now(dt.UTC))  # fmt: skip
    assert event.contains(session, "after_transaction_end", audit._write_pending)
    assert not event.contains(other, "after_transaction_end", audit._write_pending)
    # queuing again does not register twice: one entry per queued refusal
    audit.record_after_transaction(session, actor=POLICE, action="access.denied",
                                   object_type="x", object_id=2, at=dt.datetime.now(dt.UTC))  # fmt: skip
    session.rollback()
    ids = session.scalars(select(AuditEntry.object_id).order_by(AuditEntry.seq)).all()
    assert ids == ["1", "2"]

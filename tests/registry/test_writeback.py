"""Write-back: verified vaccination statuses go to the registry once, by file drop and over HTTP,
on SQLite and PostgreSQL; re-runs are no-ops, failures are resent exactly once, all audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.registry.writeback_support import NOW, Doses, as_dicts, bulk_population

from vaxlink.auth import service as auth
from vaxlink.auth.audit import PERSONAL_KEYS
from vaxlink.auth.models import AuditEntry
from vaxlink.clock import FixedClock
from vaxlink.db import transaction
from vaxlink.records.models import DoseRecord
from vaxlink.registry.dropfile import FileDrop, file_names
from vaxlink.registry.errors import RegistryUnavailable, WriteBackError
from vaxlink.registry.http import HttpStatusSink
from vaxlink.registry.models import ExportBatch, ExportState
from vaxlink.registry.service_app import StatusInbox, create_registry_app
from vaxlink.registry.writeback import Mode, pending_batches, recorded_batch, resend, write_back

A, B, C, D, E, F = (f"00108501234{i}" for i in range(6))
PFIZER, AZ, JANSSEN = "EU/1/20/1528", "EU/1/21/1529", "EU/1/20/1525"
D1 = dt.date(2021, 8, 1)
TOKEN = "s3cret-write-back-token"


def _audit(session: Session, action: str, batch_id: str, detail: dict[str, Any]) -> None:
    auth.append(session, actor=None, action=action, object_type="registry_export_batch",
                object_id=batch_id, detail={**detail, "operator": "cli:tester"},
                at=dt.datetime.now(dt.UTC))  # fmt: skip


def _run(
    store: Engine, sink: Any, clock: FixedClock, mode: str = Mode.INCREMENTAL, **kw: Any
) -> Any:
    return write_back(store, sink, mode=mode, clock=clock, by="cli:tester", audit=_audit, **kw)


def _entries(store: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with transaction(store) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.detail)
                         .order_by(AuditEntry.seq)).all()  # fmt: skip
    return [(a, o, json.loads(d)) for a, o, d in rows]


def _no_personal_data(entries: list[tuple[str, str, dict[str, Any]]], ids: set[str]) -> None:
    for action, object_id, detail in entries:
        text = json.dumps(detail)
        assert not any(i in text or i in object_id for i in ids), (action, detail)
        assert not PERSONAL_KEYS & {k.lower() for k in detail}, (action, detail)


@pytest.fixture
def people(store: Engine) -> Doses:
    """A: 2 Pfizer (certificate), B: 1 AZ + 1 in review, C: Janssen, D: review only,
    E: AZ then Pfizer (auto-linked), F: one dose entered twice the same day."""
    w = Doses(store)
    w.dose(A, 1, D1)
    w.dose(A, 2, D1 + dt.timedelta(days=21))
    w.cert_a = w.certificate(A, "URN:UVCI:01:VN:AAAA#1")  # type: ignore[attr-defined]
    w.dose(B, 1, D1, vaccine="Vaxzevria")
    w.b2 = w.dose(B, 2, D1 + dt.timedelta(days=56), vaccine="Vaxzevria", status="review")  # type: ignore[attr-defined]
    w.dose(C, 1, D1, vaccine="Jcovden")
    w.dose(D, 1, D1, status="review")
    w.dose(E, 1, D1, vaccine="Vaxzevria", status="auto_linked")
    w.dose(E, 2, D1 + dt.timedelta(days=60), status="auto_linked")
    w.f1 = w.dose(F, 1, D1)  # type: ignore[attr-defined]
    w.f2 = w.dose(F, 1, D1)  # type: ignore[attr-defined]
    return w


def test_statuses_file_drop_incremental_and_full(
    store: Engine, people: Doses, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "drop"
    tmp_path.mkdir()
    clock = FixedClock(NOW)
    drop = FileDrop(tmp_path, fmt="csv")
    first = _run(store, drop, clock)
    [sent] = first.sent
    assert sent.batch.mode == "incremental"
    assert sent.batch.row_count == 5
    data_name, manifest_name = file_names(sent.batch.batch_id, "csv")
    data = (tmp_path / data_name).read_bytes()
    manifest = json.loads((tmp_path / manifest_name).read_text())
    assert manifest["row_count"] == 5
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["as_of"] == "2022-03-01T09:00:00Z"
    assert manifest["batch_id"] == sent.batch.batch_id
    for name in (data_name, manifest_name):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == sorted([data_name, manifest_name])  # no temp files

    rows = as_dicts(pacsv.read_csv(tmp_path / data_name, convert_options=pacsv.ConvertOptions(strings_can_be_null=True,
        column_types={c: "string" for c in ("citizen_id", "as_of", "last_dose_date",
                                            "certificate_valid_from", "certificate_valid_until")})))  # fmt: skip
    assert set(rows) == {A, B, C, E, F}  # D has no verified dose
    assert list(next(iter(rows.values()))) == [
        "citizen_id",
        "as_of",
        "doses_verified",
        "last_dose_date",
        "vaccine_codes",
        "fully_vaccinated",
        "certificate_uvci",
        "certificate_valid_from",
        "certificate_valid_until",
    ]
    assert rows[A] | {} == {
        "citizen_id": A, "as_of": "2022-03-01T09:00:00Z", "doses_verified": 2,
        "last_dose_date": "2021-08-22", "vaccine_codes": PFIZER, "fully_vaccinated": "yes",
        "certificate_uvci": "URN:UVCI:01:VN:AAAA#1",
        "certificate_valid_from": "2022-03-01T09:00:00Z",
        "certificate_valid_until": "2023-03-01T09:00:00Z"}  # fmt: skip
    assert (rows[B]["doses_verified"], rows[B]["fully_vaccinated"]) == (1, "no")
    assert rows[B]["certificate_uvci"] is None
    assert (rows[C]["vaccine_codes"], rows[C]["fully_vaccinated"]) == (JANSSEN, "yes")
    assert (rows[E]["vaccine_codes"], rows[E]["fully_vaccinated"]) == (f"{PFIZER};{AZ}", "yes")
    assert (rows[F]["doses_verified"], rows[F]["fully_vaccinated"]) == (1, "no")

    # A re-run sends nothing and writes nothing.
    again = _run(store, drop, clock)
    assert again.sent == []
    assert again.unchanged == 5
    assert len(os.listdir(tmp_path)) == 2

    # Changes: B's second dose verified, A's certificate revoked, F's doses found not to be F's.
    clock.set(NOW + dt.timedelta(days=1))
    people.set_status(people.b2, "verified")  # type: ignore[attr-defined]
    people.set_status(people.f1, "unmatched")  # type: ignore[attr-defined]
    people.set_status(people.f2, "unmatched")  # type: ignore[attr-defined]
    people.set_certificate_status(people.cert_a, "revoked")  # type: ignore[attr-defined]
    second = _run(store, drop, clock)
    [sent2] = second.sent
    rows2 = as_dicts(recorded_batch(store, sent2.batch.batch_id)[1])
    assert set(rows2) == {A, B, F}
    assert (rows2[B]["doses_verified"], rows2[B]["fully_vaccinated"]) == (2, "yes")
    assert rows2[A]["certificate_uvci"] is None
    assert rows2[A]["doses_verified"] == 2
    assert (rows2[F]["doses_verified"], rows2[F]["last_dose_date"]) == (0, None)
    assert rows2[F]["as_of"] == "2022-03-02T09:00:00Z"

    # Full: every citizen the registry knows of, including F's withdrawal; Parquet this time.
    full = _run(store, FileDrop(tmp_path, fmt="parquet"), clock, mode=Mode.FULL)
    [sent3] = full.sent
    table = pq.read_table(tmp_path / file_names(sent3.batch.batch_id, "parquet")[0])
    assert set(table.column("citizen_id").to_pylist()) == {A, B, C, E, F}
    with transaction(store) as s:
        assert s.scalar(select(ExportState.batch_id).where(ExportState.citizen_id == C)) == \
            sent3.batch.batch_id  # fmt: skip
        states = dict(s.execute(select(ExportBatch.batch_id, ExportBatch.state)).all())
    assert set(states.values()) == {"acknowledged"}

    entries = _entries(store)
    assert [a for a, _, _ in entries] == ["registry.write_back"] * 3
    assert all(d["operator"] == "cli:tester" and d["target"] == "file" for _, _, d in entries)
    _no_personal_data(entries, {A, B, C, D, E, F})


def test_resending_a_batch_gives_the_same_bytes(
    store: Engine, people: Doses, tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    drop = FileDrop(tmp_path)
    [sent] = _run(store, drop, clock).sent
    path = tmp_path / file_names(sent.batch.batch_id, "parquet")[0]
    before = path.read_bytes()
    again = resend(store, drop, sent.batch.batch_id, clock=clock, audit=_audit)
    assert again.detail["written"] is False
    assert path.read_bytes() == before
    path.write_bytes(b"other content")
    with pytest.raises(WriteBackError, match="already exists with other content"):
        resend(store, drop, sent.batch.batch_id, clock=clock, audit=_audit)
    assert [a for a, _, _ in _entries(store)] == [
        "registry.write_back",
        "registry.write_back_resend",
        "registry.write_back_failed",
    ]
    with pytest.raises(WriteBackError, match="does not exist"):
        _run(store, FileDrop(tmp_path / "missing"), clock, mode=Mode.FULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Flaky:
    """ASGI wrapper: the first `fail` write-back POSTs are applied by the app, then answered 503
    (the answer lost on the way back, as a proxy timing out would)."""

    def __init__(self, app: Any, fail: int) -> None:
        self.app, self.fail, self.posts = app, fail, 0

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:  # fmt: skip
        if scope["type"] != "http" or scope["path"] != "/v1/vaccination-status":
            await self.app(scope, receive, send)
            return
        self.posts += 1
        if self.posts > self.fail:
            await self.app(scope, receive, send)
            return

        async def swallow(message: dict[str, Any]) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"busy"})


@pytest.fixture
def registry_server(store: Engine) -> Iterator[tuple[str, StatusInbox, _Flaky]]:
    inbox = StatusInbox()
    app = _Flaky(create_registry_app(store, inbox, write_back_token=TOKEN), fail=3)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", inbox, app
    server.should_exit = True
    thread.join(timeout=10)


def test_http_failure_then_success_gives_each_row_once(
    store: Engine, people: Doses, registry_server: tuple[str, StatusInbox, _Flaky]
) -> None:
    url, inbox, flaky = registry_server
    clock = FixedClock(NOW)
    # The registry is down: the batch is made, stays pending, the failure is audited.
    down = HttpStatusSink(f"http://127.0.0.1:{_free_port()}", attempts=2, backoff=0.01)
    with pytest.raises(RegistryUnavailable, match="stays pending"):
        _run(store, down, clock, chunk_rows=2)
    down.close()
    [pending] = pending_batches(store)

    # Up, but the first three answers are lost after the chunks were applied: retried, deduped.
    # Without the registry's token: refused (401), not retried, the batch still pending.
    anonymous = HttpStatusSink(url, attempts=5, backoff=0.01)
    flaky.fail = 0
    with pytest.raises(WriteBackError, match="401"):
        _run(store, anonymous, clock, chunk_rows=2)
    anonymous.close()
    assert flaky.posts == 1
    assert pending_batches(store) == [pending]
    assert inbox.applied == {}
    flaky.posts, flaky.fail = 0, 3
    sink = HttpStatusSink(url, attempts=5, backoff=0.01, token=TOKEN)
    clock.set(NOW + dt.timedelta(hours=1))
    report = _run(store, sink, clock, chunk_rows=2)
    [sent] = report.sent  # the pending batch, sent again; nothing else changed
    assert sent.resumed
    assert sent.batch.batch_id == pending
    assert sent.detail["chunks"] == 3
    assert sent.detail["retries"] == 3
    assert sent.detail["replayed_chunks"] == 1  # the 3rd failure hit the retry of chunk 0
    assert flaky.posts == 3 + 3  # chunk 0 four times (three answers lost), 1 and 2 once
    assert set(inbox.applied.values()) == {1}
    assert len(inbox.applied) == 5
    assert set(inbox.statuses) == {A, B, C, E, F}
    assert inbox.statuses[A].as_of == "2022-03-01T09:00:00Z"  # the batch's own time, as made
    assert inbox.statuses[C].fully_vaccinated == "yes"
    assert pending_batches(store) == []

    # A re-run is a no-op: nothing posted.
    posts = flaky.posts
    assert _run(store, sink, clock).sent == []
    assert flaky.posts == posts
    # Sending the batch again on purpose: every chunk recognised, nothing applied twice.
    again = resend(store, sink, pending, clock=clock, audit=_audit)
    assert again.detail["replayed_chunks"] == 3
    assert set(inbox.applied.values()) == {1}

    # One change: only that citizen goes, once.
    people.dose(C, 2, D1 + dt.timedelta(days=200), vaccine="Comirnaty", category="booster")
    [sent2] = _run(store, sink, clock).sent
    assert sent2.batch.row_count == 1
    assert inbox.applied[(sent2.batch.batch_id, C)] == 1
    assert len(inbox.applied) == 6
    assert inbox.statuses[C].doses_verified == 2

    actions = [a for a, _, _ in _entries(store)]
    assert actions == ["registry.write_back_failed", "registry.write_back_failed",
                       "registry.write_back",
                       "registry.write_back_resend", "registry.write_back"]  # fmt: skip
    _no_personal_data(_entries(store), {A, B, C, D, E, F})
    sink.close()


def test_a_refusing_registry_is_not_retried(
    store: Engine, people: Doses, registry_server: tuple[str, StatusInbox, _Flaky]
) -> None:
    url, _inbox, flaky = registry_server
    flaky.fail = 0
    clock = FixedClock(NOW)
    sink = HttpStatusSink(url, attempts=5, backoff=0.01, token=TOKEN)
    [sent] = _run(store, sink, clock).sent
    # The same key with another body is refused (409), not retried, and leaves the batch alone.
    sink2 = HttpStatusSink(url, attempts=5, backoff=0.01, token=TOKEN)
    with pytest.raises(WriteBackError, match="409"):
        sink2._post(f"{sent.batch.batch_id}/0", b'{"other": 1}')
    assert flaky.posts == 2
    sink.close()
    sink2.close()


def test_bulk_statuses_agree_with_a_count(store: Engine, tmp_path: Path) -> None:
    counts = bulk_population(store, 2000)
    clock = FixedClock(NOW)
    [sent] = _run(store, FileDrop(tmp_path), clock, mode=Mode.FULL).sent
    rows = recorded_batch(store, sent.batch.batch_id)[1]
    assert rows.num_rows == sent.batch.row_count
    assert rows.num_rows <= counts["citizens"]
    with transaction(store) as s:
        verified = s.scalar(select(func.count()).select_from(DoseRecord)
                            .where(DoseRecord.status == "verified"))  # fmt: skip
    assert sum(rows.column("doses_verified").to_pylist()) == verified
    assert _run(store, FileDrop(tmp_path), clock).sent == []


def test_retention_removes_old_batch_rows_and_keeps_the_watermark(
    store: Engine, people: Doses, tmp_path: Path
) -> None:
    """Rows of batches acknowledged before the retention go (headers stay, the latest batch
    keeps its rows whatever its age); the next incremental run is unchanged by it; a pruned batch
    cannot be re-sent and the message says what to do."""
    from vaxlink.registry.models import ExportRow
    from vaxlink.registry.writeback import PRUNED, prune
    from vaxlink.settings import Settings

    keep30 = Settings(registry_write_back_keep_days=30)
    drop = FileDrop(tmp_path)
    day = dt.timedelta(days=1)
    [first] = _run(store, drop, FixedClock(NOW), settings=keep30).sent
    people.set_status(people.b2, "verified")  # type: ignore[attr-defined]
    second = _run(store, drop, FixedClock(NOW + 10 * day), settings=keep30)
    [b2] = second.sent
    assert second.pruned is not None
    assert second.pruned.batch_ids == ()
    assert b2.batch.row_count == 1
    people.dose(C, 2, D1 + 90 * day)  # a booster
    third = _run(store, drop, FixedClock(NOW + 50 * day), settings=keep30)
    [b3] = third.sent
    assert third.pruned is not None
    assert third.pruned.batch_ids == (first.batch.batch_id, b2.batch.batch_id)
    assert third.pruned.rows == first.batch.row_count + 1

    with transaction(store) as s:
        states = dict(s.execute(select(ExportBatch.batch_id, ExportBatch.state)).all())
        left = dict(s.execute(select(ExportRow.batch_id, func.count())
                              .group_by(ExportRow.batch_id)).all())  # fmt: skip
    assert states == {first.batch.batch_id: PRUNED, b2.batch.batch_id: PRUNED,
                      b3.batch.batch_id: "acknowledged"}  # fmt: skip
    assert left == {b3.batch.batch_id: b3.batch.row_count}
    # the watermark holds its own digests: nothing to send after the pruning
    assert _run(store, drop, FixedClock(NOW + 51 * day), settings=keep30).sent == []
    with pytest.raises(WriteBackError, match="write-back --full"):
        resend(store, drop, first.batch.batch_id, clock=FixedClock(NOW + 51 * day), audit=_audit)
    # the latest batch is kept however old; a second pass finds nothing more
    again = prune(store, keep_days=1, now=NOW + 400 * day, audit=_audit)
    assert again.batch_ids == ()
    assert again.rows == 0
    resend(store, drop, b3.batch.batch_id, clock=FixedClock(NOW + 400 * day), audit=_audit)

    entries = _entries(store)
    [(obj, detail)] = [(o, d) for a, o, d in entries if a == "registry.write_back_prune"]
    assert obj == b2.batch.batch_id
    assert detail["batches"] == 2
    assert detail["rows"] == first.batch.row_count + 1
    assert detail["keep_days"] == 30
    _no_personal_data(entries, {A, B, C, D, E, F})
    with pytest.raises(ValueError, match="at least 1"):
        prune(store, keep_days=0, now=NOW, audit=_audit)

"""Partner delivery (#18) over a real store (SQLite and PostgreSQL): client scopes (fields,
kinds), expiry, revocation and rotation taking effect at once, per-client quotas, the change feed
(exactly once across restarts and concurrent writers) and pushes to a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates import feed
from vaxlink.certificates.clients import (
    READ_CERTIFICATES,
    READ_CHANGES,
    add_client,
    deactivate_client,
    push_secret,
    rotate_client,
)
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.models import ApiClient, CertificateChange
from vaxlink.certificates.push import SIGNATURE_HEADER, Pusher, verify_signature
from vaxlink.certificates.web.deps import clock
from vaxlink.db import make_engine, transaction
from vaxlink.records.service import person_ref
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
LATER = NOW + dt.timedelta(days=20)
ALICE, BOB, CAROL = "001085000201", "001085000202", "001085000203"
KEY = b"push test key"
ID_NUMBER = re.compile(r"\b0\d{11}\b")


def _app(store_url: str, tmp_path) -> Any:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url,
                              partner_push_in_app=False))  # fmt: skip
    app.dependency_overrides[clock] = lambda: LATER
    return app


@pytest.fixture
def issued(world, fully_vaccinated, pki, tmp_path):
    """Alice's and Bob's vaccination certificates, Bob's revoked; the keys saved."""
    fully_vaccinated(ALICE, "Nguyễn Thị Hoa")
    fully_vaccinated(BOB, "Trần Văn Hùng")
    world.approve()
    world.issue()
    with transaction(world.engine) as s:
        revoke(s, world.active(BOB).uvci, reason="test", by="tester", now=NOW)
    pki.save(tmp_path / "keys")
    return world


@pytest.fixture
def api(issued, store_url, tmp_path) -> Iterator[TestClient]:
    with TestClient(_app(store_url, tmp_path)) as test_client:
        yield test_client


def _token(world, name: str, **options: Any) -> str:
    with transaction(world.engine) as s:
        _, token = add_client(s, name, by="tester", now=NOW, **options)
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ref(api: TestClient, token: str, citizen_id: str = ALICE) -> str:
    answer = api.post("/api/v1/citizens/certificate", json={"citizen_id": citizen_id},
                      headers=_bearer(token))  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ref"])


def _refusals(world) -> list[AuditEntry]:
    with world.session() as s:
        stmt = select(AuditEntry).where(AuditEntry.action == "certificates.client.refused")
        return list(s.scalars(stmt.order_by(AuditEntry.seq)))


def test_a_minimal_client_reads_name_birth_date_and_validity_only(api, issued) -> None:
    full, minimal = _token(issued, "Health book"), _token(issued, "PC-COVID", fields="minimal")
    ref = _ref(api, full)
    url = f"/api/v1/citizens/{ref}/certificate"
    assert "hc1" in api.get(url, headers=_bearer(full)).json()
    answer = api.get(url, headers=_bearer(minimal))
    assert answer.status_code == 200
    assert answer.json() == {
        "ref": ref, "kind": "v", "status": "active", "name": "Nguyễn Thị Hoa",
        "transliterated_name": "NGUYEN<<THI<HOA", "date_of_birth": "1985-03-14",
        "valid_from": "2025-03-01T09:00:00+00:00", "valid_until": "2026-03-01T09:00:00+00:00",
    }  # fmt: skip
    assert ALICE not in answer.text
    by_body = api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                       headers=_bearer(minimal))  # fmt: skip
    assert set(by_body.json()) == set(answer.json())
    for document in (".pdf", ".fhir.json"):  # each carries the whole certificate
        refused = api.get(url + document, headers=_bearer(minimal))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert (problem["code"], problem["title"]) == ("client_scope_exceeded",
                                                       "ClientScopeExceeded")  # fmt: skip
        assert problem["type"].endswith("/client_scope_exceeded")
    assert api.get(url + ".pdf", headers=_bearer(full)).status_code == 200
    refusals = _refusals(issued)
    assert [(json.loads(e.detail)["reason"], json.loads(e.detail)["what"]) for e in refusals] == [
        ("fields", "pdf:v"), ("fields", "fhir:v")]  # fmt: skip


def test_a_client_reads_only_its_kinds_and_scopes(api, issued) -> None:
    recovery_only = _token(issued, "Recovery app", kinds=["r"])
    vaccination_only = _token(issued, "VNeID", kinds=["v"])
    ref = _ref(api, vaccination_only)
    url = f"/api/v1/citizens/{ref}/certificate"
    assert api.get(url, headers=_bearer(vaccination_only)).status_code == 200
    for token, params in ((recovery_only, {}), (vaccination_only, {"kind": "r"})):
        refused = api.get(url, params=params, headers=_bearer(token))
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "client_scope_exceeded"
    body = api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                    headers=_bearer(recovery_only))  # fmt: skip
    assert body.status_code == 403
    # certificates:read alone does not open the change feed
    feed_refused = api.get("/api/v1/certificates/changes", headers=_bearer(vaccination_only))
    assert feed_refused.status_code == 403
    reasons = [json.loads(e.detail)["reason"] for e in _refusals(issued)]
    assert reasons == ["kind", "kind", "kind", "scope"]
    # the refused reads recorded no access to anyone
    with issued.session() as s:
        assert all(e.object_type == "api_client" for e in _refusals(issued))
        assert s.scalar(select(ApiClient.last_used_at).where(ApiClient.name == "Recovery app"))


def test_revocation_and_rotation_hold_from_the_next_request(api, issued) -> None:
    token = _token(issued, "VNeID")
    url = f"/api/v1/citizens/{_ref(api, token)}/certificate"
    assert api.get(url, headers=_bearer(token)).status_code == 200
    with transaction(issued.engine) as s:
        _, fresh = rotate_client(s, "VNeID", now=NOW)
    assert api.get(url, headers=_bearer(token)).status_code == 401  # the old token, at once
    assert api.get(url, headers=_bearer(fresh)).status_code == 200
    with transaction(issued.engine) as s:
        deactivate_client(s, "VNeID", by="operator", now=NOW)
    refused = api.get(url, headers=_bearer(fresh))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"


def test_an_expired_token_is_refused(api, issued) -> None:
    live = _token(issued, "Live", expires_at=LATER + dt.timedelta(hours=1))
    gone = _token(issued, "Gone", expires_at=LATER - dt.timedelta(seconds=1))
    assert api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                    headers=_bearer(live)).status_code == 200  # fmt: skip
    refused = api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                       headers=_bearer(gone))  # fmt: skip
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


def test_a_client_quota_overrides_the_default(api, issued) -> None:
    slow, default = _token(issued, "Slow", per_minute=2), _token(issued, "Default")
    statuses = [api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                         headers=_bearer(slow)).status_code for _ in range(3)]  # fmt: skip
    assert statuses == [200, 200, 429]
    for _ in range(5):  # the default (60) still lets the other client through
        assert api.post("/api/v1/citizens/certificate", json={"citizen_id": ALICE},
                        headers=_bearer(default)).status_code == 200  # fmt: skip


def _read_all(api: TestClient, token: str, cursor: str = "0", limit: int = 2) -> tuple[list, str]:
    items: list[dict[str, Any]] = []
    while True:
        page = api.get("/api/v1/certificates/changes", params={"cursor": cursor, "limit": limit},
                       headers=_bearer(token))  # fmt: skip
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["changes"]
        cursor = body["next_cursor"]
        if not body["more"]:
            return items, cursor


def test_the_change_feed_names_each_change_once_across_a_restart(
    issued, fully_vaccinated, store_url, tmp_path
) -> None:
    token = _token(issued, "Health book", scopes=[READ_CERTIFICATES, READ_CHANGES])
    minimal = _token(issued, "Minimal", scopes=[READ_CHANGES], fields="minimal")
    recovery_only = _token(issued, "Recovery", scopes=[READ_CHANGES], kinds=["r"])
    with TestClient(_app(store_url, tmp_path)) as api:
        first, cursor = _read_all(api, token)
        with transaction(issued.engine) as s:
            refs = {person_ref(s, ALICE): ALICE, person_ref(s, BOB): BOB}
        assert [(i["type"], refs[i["ref"]]) for i in first] == [
            ("certificate.issued", ALICE), ("certificate.issued", BOB),
            ("certificate.revoked", BOB)]  # fmt: skip
        assert [int(i["id"]) for i in first] == sorted(int(i["id"]) for i in first)
        assert all(i["uvci"] and i["kind"] == "v" for i in first)
        assert not ID_NUMBER.search(json.dumps(first))  # references only
        lean, _ = _read_all(api, minimal)
        assert [i["ref"] for i in lean] == [i["ref"] for i in first]
        assert not any("uvci" in i or "expires_at" in i for i in lean)
        nothing, skipped = _read_all(api, recovery_only)
        assert nothing == []
        assert int(skipped) >= int(first[-1]["id"])
        assert _read_all(api, token, cursor)[0] == []
    # more changes while no app runs; then a new app and a new engine read on from the cursor
    fully_vaccinated(CAROL, "Lê Văn Tám")
    issued.approve()
    issued.issue()
    with transaction(issued.engine) as s:
        revoke(s, issued.active(ALICE).uvci, reason="wrong dose", by="tester", now=NOW)
    with TestClient(_app(store_url, tmp_path)) as again:
        more, after = _read_all(again, token, cursor)
        # Bob (his certificate was revoked) and Carol get one; Alice's is revoked
        assert sorted((i["type"], refs.get(i["ref"], "new")) for i in more) == [
            ("certificate.issued", BOB), ("certificate.issued", "new"),
            ("certificate.revoked", ALICE)]  # fmt: skip
        whole, _ = _read_all(again, token)
        assert [i["id"] for i in whole] == [i["id"] for i in first + more]
        assert _read_all(again, token, after)[0] == []
    with issued.session() as s:  # every change numbered once; each page that showed any audited
        audited = s.scalars(select(AuditEntry.detail)
                            .where(AuditEntry.action == "certificates.client.changes")).all()  # fmt: skip
        counts = [json.loads(d)["count"] for d in audited]
        assert sum(counts) == 3 + 3 + 3 + 6  # first, lean, more and whole; the empty reads not
        assert 0 not in counts
        positions = list(s.scalars(select(CertificateChange.position)))
        assert None not in positions
        assert len(set(positions)) == len(positions) == 6


def test_the_sequencer_numbers_in_steps(issued, monkeypatch) -> None:
    """A feed request numbers one step at most (after a bulk issuance the rest waits for the
    next request or the push job); each step continues after the last position."""
    monkeypatch.setattr(feed, "SEQUENCE_BATCH", 2)
    assert feed.sequence_pending(issued.engine, now=NOW, max_steps=1) == 2
    assert feed.sequence_pending(issued.engine, now=NOW, max_steps=1) == 1
    assert feed.sequence_pending(issued.engine, now=NOW) == 0
    with issued.session() as s:
        rows = s.execute(select(CertificateChange.id, CertificateChange.position)
                         .order_by(CertificateChange.id)).all()  # fmt: skip
        assert [p for _, p in rows] == [1, 2, 3]
        assert feed.head(s) == 3


ON_POSTGRESQL = pytest.mark.parametrize(
    "store_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@ON_POSTGRESQL
def test_a_change_committed_late_is_not_skipped_on_postgresql(issued, store_url) -> None:
    """The hazard of sequence-valued cursors: a change with a lower id commits after a higher
    one was read. The feed numbers it after, so a reader's cursor cannot pass over it (SQLite
    has one writer at a time: its commits cannot overtake)."""
    engine = issued.engine
    certificate = issued.active(ALICE)
    feed.sequence_pending(engine, now=NOW)
    with transaction(engine) as s:
        cursor = feed.head(s)
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(CertificateChange.__table__.insert().values(
        certificate_id=certificate.id, event="reissued", kind="v", occurred_at=NOW))  # fmt: skip
    with transaction(engine) as s:  # a later writer, higher id, commits first
        s.add(CertificateChange(certificate_id=certificate.id, event="renewed", kind="v",
                                occurred_at=NOW))  # fmt: skip
    feed.sequence_pending(engine, now=NOW)
    with transaction(engine) as s:
        page = feed.changes_after(s, cursor, kinds=["v"], limit=100, full=True)
    assert [c.event for c in page.changes] == ["renewed"]
    slow_tx.commit()
    slow.close()
    feed.sequence_pending(engine, now=NOW)
    with transaction(engine) as s:
        later = feed.changes_after(s, page.cursor, kinds=["v"], limit=100, full=True)
    assert [c.event for c in later.changes] == ["reissued"]  # after the cursor, not lost


@ON_POSTGRESQL
def test_concurrent_writers_and_readers_see_each_change_exactly_once(issued, store_url) -> None:
    engine = issued.engine
    certificate_id = issued.active(ALICE).id
    writers, per_writer = 4, 30
    written: list[int] = []
    lock = threading.Lock()

    def write(seed: int) -> None:
        for i in range(per_writer):
            with transaction(engine) as s:
                row = CertificateChange(certificate_id=certificate_id, event="reissued",
                                        kind="v", occurred_at=NOW)  # fmt: skip
                s.add(row)
                s.flush()
                time.sleep(0.001 * ((seed * 7 + i * 3) % 5))  # commits overtake each other
                with lock:
                    written.append(row.id)

    def read(seen: list[int], stop: threading.Event) -> None:
        other = make_engine(store_url)  # a reader with its own engine, as another server
        cursor = 0
        try:
            while True:
                last = stop.is_set()
                feed.sequence_pending(other, now=NOW)
                with transaction(other) as s:
                    page = feed.changes_after(s, cursor, kinds=["v"], limit=7, full=False)
                seen.extend(c.position for c in page.changes)
                cursor = page.cursor
                if last and not page.more:
                    return
        finally:
            other.dispose()

    feed.sequence_pending(engine, now=NOW)
    with transaction(engine) as s:
        before = len(feed.changes_after(s, 0, kinds=["v", "r"], limit=1000, full=False).changes)
    stop = threading.Event()
    seen_a: list[int] = []
    seen_b: list[int] = []
    readers = [threading.Thread(target=read, args=(seen, stop)) for seen in (seen_a, seen_b)]
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    for t in readers:
        t.join(120)
    total = before + writers * per_writer
    assert len(written) == writers * per_writer
    for seen in (seen_a, seen_b):  # each reader saw every change, once, in order
        assert len(seen) == total, (len(seen), total)
        assert len(set(seen)) == total
        assert seen == sorted(seen)
    assert seen_a == seen_b


class _Receiver:
    """A real HTTP server on the loopback: fails the first `failures` requests with 503, then
    accepts; keeps every request's headers and body."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 503 if len(receiver.requests) <= receiver.failures else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vaxlink/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def test_push_retries_a_failing_receiver_and_survives_a_restart(issued, store_url) -> None:
    clock = _Clock(LATER)
    with _Receiver(failures=2) as receiver:
        with transaction(issued.engine) as s:
            client, _ = add_client(s, "Health book", by="tester", now=NOW,
                                   scopes=[READ_CHANGES], push_url=receiver.url)  # fmt: skip
            secret = push_secret(client, KEY)
        pusher = Pusher(issued.engine, key=KEY, clock=clock, every=10, max_backoff=3600)
        first = pusher.run_once()
        assert (first.delivered, len(first.failures)) == (0, 1)
        assert "HTTP 503" in first.failures[0]
        assert pusher.run_once().failures == []  # not due yet: nothing sent
        assert len(receiver.requests) == 1
        clock.at += dt.timedelta(seconds=10)
        assert len(pusher.run_once().failures) == 1  # the second try, also refused
        with issued.session() as s:
            row = s.scalars(select(ApiClient).where(ApiClient.name == "Health book")).one()
            assert (row.push_attempts, row.push_cursor) == (2, 0)
            assert row.push_next_at == clock.at + dt.timedelta(seconds=20)  # doubled
        # a restart: a new engine and a new pusher carry on from the store
        other = make_engine(store_url)
        try:
            clock.at += dt.timedelta(seconds=20)
            again = Pusher(other, key=KEY, clock=clock, every=10, max_backoff=3600)
            done = again.run_once()
            assert (done.delivered, done.failures) == (3, [])
            assert again.run_once().batches == 0
        finally:
            other.dispose()
    assert len(receiver.requests) == 3
    keys = {h["idempotency-key"] for h, _ in receiver.requests}
    bodies = {b for _, b in receiver.requests}
    assert len(keys) == 1
    assert len(bodies) == 1
    headers, body = receiver.requests[-1]
    stamp = int(clock.at.timestamp())
    assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body, now=stamp)
    assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body + b" ", now=stamp)
    assert not verify_signature("vxs_other", headers[SIGNATURE_HEADER.lower()], body, now=stamp)
    sent = json.loads(body)
    assert [c["type"] for c in sent["changes"]] == [
        "certificate.issued", "certificate.issued", "certificate.revoked"]  # fmt: skip
    assert not ID_NUMBER.search(body.decode())
    with issued.session() as s:
        row = s.scalars(select(ApiClient).where(ApiClient.name == "Health book")).one()
        assert (row.push_attempts, row.push_cursor, row.push_batch_end) == (0, 3, None)
        pushes = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificates.client.push")
        )
        assert [json.loads(e.detail)["count"] for e in pushes] == [3]


def test_a_pusher_that_dies_mid_delivery_is_followed_by_the_same_batch(issued) -> None:
    clock = _Clock(LATER)
    with _Receiver(failures=0) as receiver:
        with transaction(issued.engine) as s:
            client, _ = add_client(s, "VNeID", by="tester", now=NOW, scopes=[READ_CHANGES],
                                   kinds=["v"], push_url=receiver.url)  # fmt: skip
        dead = Pusher(issued.engine, key=KEY, clock=clock, every=10, batch=2)
        feed.sequence_pending(issued.engine, now=clock.at)
        claimed = dead._claim(client.id, clock.at)  # it took the batch and died before sending it
        assert claimed is not None
        assert claimed.count == 2
        successor = Pusher(issued.engine, key=KEY, clock=clock, every=10, batch=2)
        assert successor.run_once().batches == 0  # the lease still holds
        clock.at += dt.timedelta(seconds=30)  # the lease lapses
        report = successor.run_once()
        assert (report.batches, report.delivered) == (2, 3)
    first_key = receiver.requests[0][0]["idempotency-key"]
    assert first_key == f"vxl-{claimed.client_id}-{claimed.start}-{claimed.end}"
    assert receiver.requests[0][1] == claimed.body


def test_the_web_app_pushes_by_itself(issued, store_url, tmp_path) -> None:
    """`vaxlink serve`'s app runs the pusher in a background thread (VAXLINK_PARTNER_PUSH_*)."""
    settings = Settings(data_dir=tmp_path, database_url=store_url, partner_push_in_app=True,
                        partner_push_every_seconds=0.2)  # fmt: skip
    with _Receiver(failures=1) as receiver:
        with transaction(issued.engine) as s:
            add_client(s, "VNeID", by="tester", now=NOW, scopes=[READ_CHANGES],
                       push_url=receiver.url)  # fmt: skip
        with TestClient(create_app(settings)) as api:
            assert api.app.state.partner_push.alive
            deadline = time.monotonic() + 30
            while len(receiver.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        assert not api.app.state.partner_push.alive  # stopped with the app
    assert len(receiver.requests) == 2  # refused once, then retried 0.2 s later and taken
    assert len(json.loads(receiver.requests[1][1])["changes"]) == 3

"""The SQLite store's write turn (`vaxlink.db.WriteTurn`): writers of one process queue for it,
processes exclude each other through `<store>.writer-lock`, and the turn is given back once the
COMMIT or ROLLBACK is done (or when its holder dies)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from vaxlink.db import _TurnConnection, make_engine, transaction

#: Holds the store's turn (a write, not committed) until its stdin closes; prints "held" first.
HOLDER = """
import sys
from sqlalchemy import text
from vaxlink.db import make_engine
engine = make_engine(sys.argv[1])
conn = engine.connect()
conn.execute(text("INSERT INTO t VALUES (1)"))
print("held", flush=True)
sys.stdin.read()
conn.commit()
"""


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (i INTEGER)"))
    engine.dispose()
    return url


def _holding(engine: Engine) -> list[bool]:
    pool = engine.pool
    out = []
    for _ in range(pool.checkedin()):  # type: ignore[attr-defined]
        raw = engine.raw_connection()
        assert isinstance(raw.dbapi_connection, _TurnConnection)
        out.append(raw.dbapi_connection.holding)
        raw.close()
    return out


def _write_and_fail(engine: Engine) -> None:
    with transaction(engine) as s:
        s.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("roll back")


def test_turn_is_given_back_after_commit_rollback_and_a_returned_connection(store: str) -> None:
    engine = make_engine(store)
    with transaction(engine) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(RuntimeError, match="roll back"):
        _write_and_fail(engine)
    conn = engine.connect()  # a write left open: the pool's rollback on return ends it
    conn.execute(text("INSERT INTO t VALUES (3)"))
    assert conn.connection.dbapi_connection.holding  # type: ignore[union-attr]
    conn.close()
    assert _holding(engine)
    assert not any(_holding(engine))
    with transaction(engine) as s:  # the turn is free: this does not wait
        started = time.perf_counter()
        s.execute(text("INSERT INTO t VALUES (4)"))
        assert time.perf_counter() - started < 1
    with engine.connect() as c:
        assert sorted(c.execute(text("SELECT i FROM t")).scalars()) == [1, 4]


def test_readers_take_no_turn(store: str) -> None:
    engine = make_engine(store)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert not conn.connection.dbapi_connection.holding  # type: ignore[union-attr]
        conn.execute(text("WITH v (i) AS (VALUES (1)) SELECT i FROM v")).all()
        conn.execute(text("WITH v (s) AS (VALUES ('a')) SELECT replace(s, 'a', 'b') FROM v")).all()
        assert not conn.connection.dbapi_connection.holding  # type: ignore[union-attr]


def test_a_write_after_a_with_list_takes_the_turn(store: str) -> None:
    """`WITH ... INSERT` (the limiter's `hit_all`) is a write: it takes the turn like INSERT."""
    engine = make_engine(store)
    with engine.connect() as conn:
        conn.execute(text("WITH v (i) AS (VALUES (5)) INSERT INTO t SELECT i FROM v WHERE 1 = 1"))
        assert conn.connection.dbapi_connection.holding  # type: ignore[union-attr]
        conn.rollback()


def test_threads_of_a_process_take_turns_in_order(store: str) -> None:
    """Two engines of one store (the app's and the view-audit writer's) share the turn: a second
    writer waits for the first's commit instead of polling SQLite's lock."""
    first, second = make_engine(store), make_engine(store)
    order: list[str] = []
    inside = threading.Event()

    def late_writer() -> None:
        inside.wait()
        with transaction(second) as s:
            s.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")

    worker = threading.Thread(target=late_writer)
    worker.start()
    with transaction(first) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        inside.set()
        time.sleep(0.3)  # the other thread is queued for the turn meanwhile
        order.append("first commits")
    worker.join(10)
    assert order == ["first commits", "second wrote"]


def test_processes_exclude_each_other_and_a_dead_holder_frees_the_turn(store: str) -> None:
    with subprocess.Popen([sys.executable, "-c", HOLDER, store], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:  # fmt: skip
        try:
            _wait_for_the_dead_holder(holder, store)
        finally:
            holder.kill()
            holder.communicate()


def _wait_for_the_dead_holder(holder: subprocess.Popen[str], store: str) -> None:
    """This process waits for the holder's turn, and has it once the holder is killed."""
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    engine = make_engine(store)
    turn = engine.raw_connection()
    dbapi = turn.dbapi_connection
    assert isinstance(dbapi, _TurnConnection)
    assert dbapi.turn is not None
    waited = threading.Event()

    def killer() -> None:
        time.sleep(0.5)
        waited.set()
        holder.kill()  # dies holding the turn (and SQLite's lock): the kernel frees both

    threading.Thread(target=killer).start()
    started = time.perf_counter()
    assert dbapi.turn.take()
    took = time.perf_counter() - started
    dbapi.turn.give_back()
    turn.close()
    assert waited.is_set()
    assert 0.4 < took < 5
    with transaction(engine) as s:  # the dead holder's write was never committed
        s.execute(text("INSERT INTO t VALUES (2)"))
    with engine.connect() as c:
        assert list(c.execute(text("SELECT i FROM t")).scalars()) == [2]


def test_the_lock_file_is_private(store: str) -> None:
    engine = make_engine(store)
    with transaction(engine) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
    lock = Path(store.removeprefix("sqlite:///") + ".writer-lock")
    assert lock.exists()
    assert lock.stat().st_mode & 0o777 == 0o600


@pytest.mark.postgres
def test_postgresql_pings_only_connections_idle_a_while(store_url: str) -> None:
    """A pooled PostgreSQL connection used a moment ago is handed out without a round trip;
    one idle for `PG_PING_IDLE_S` is pinged first, and replaced if its server process is gone."""
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's pool")
    from sqlalchemy import event

    engine = make_engine(store_url, pool_size=1, max_overflow=0)
    pings: list[int] = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or ping(conn)  # type: ignore[method-assign]
    back = [0.0]  # how long ago a returned connection counts as returned
    event.listen(engine.pool, "checkin", lambda _c, record: record.info.update(
        vaxlink_idle_since=time.monotonic() - back[0]))  # fmt: skip
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as conn:  # in use a moment ago: no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        assert pings == []
        back[0] = 60.0
        with engine.connect():  # given back as if a minute ago
            pass
        admin = make_engine(store_url, pool_size=1, max_overflow=0)
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.dispose()
        # the connection has been idle a minute: pinged, found dead, replaced
        with engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert pings == [1]
        assert second != first
    finally:
        engine.dispose()

"""Engine and session factories, the declarative Base, SQLite pragmas and schema migration."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    DateTime,
    Dialect,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy import exc as exc_module
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from vaxlink.files import FILE_MODE, make_private, private_dir, touch_private
from vaxlink.settings import Settings

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    """Declarative base shared by every domain's models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant, always timezone-aware UTC in Python (SQLite keeps it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes stored by vaxlink must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


#: How long a writer waits for its turn before it goes on and lets SQLite's own busy timeout
#: arbitrate (never a hang: the turn only orders writers, SQLite still guards the data).
_TURN_WAIT_S: Final = 10.0
#: The longest pause between two looks at another process's turn: a waiter polls, but so often
#: that it starts at most this late (SQLite's busy handler sleeps up to 100 ms between retries).
_TURN_POLL_S: Final = 0.002
_WRITES: Final = ("insert", "update", "delete", "replace")
#: Connections a SQLite store's engine keeps open (and as many more it may open for a burst).
SQLITE_POOL_SIZE: Final = 48
#: The same for PostgreSQL, per process (`vaxlink serve --workers N` keeps up to N x 2 x this):
#: each is a server process, so fewer; a request holds one only while it talks to the store.
PG_POOL_SIZE: Final = 16
#: A pooled PostgreSQL connection idle this long is pinged before it is used again.
PG_PING_IDLE_S: Final = 10.0


class WriteTurn:
    """The one turn to write a SQLite store, in this process and across processes.

    SQLite has one writer at a time; a writer that finds the lock taken polls it with growing
    sleeps (the busy timeout's back-off: 1, 2, 5 … 100 ms), so under load many writers race, the
    losers sleep while the lock is free, and a few wait seconds. Instead a writer takes this turn
    before its transaction's first write and gives it back once the COMMIT or ROLLBACK is done:

    - within a process, a semaphore queues the threads in arrival order (no polling at all);
    - across processes (the web app, `vaxlink report scheduler`, an import), an advisory `flock`
      on `<store>.writer-lock`: the process whose thread holds the semaphore looks at it every
      ≤ 2 ms, and the kernel drops it if a process dies (crash-safe, nothing to clean up).

    Measured in benchmarks/refresh_contention_bench.py (the figures refresh looping beside 100
    downloads and logins a second). One turn per store and process: every engine of the store
    (the app's, the view-audit writer's) shares it. A semaphore, not a lock: a request's
    transaction may end in another thread than the one it began in.
    """

    def __init__(self, lock_file: Path | None) -> None:
        self._threads = threading.Semaphore(1)
        self._fd: int | None = None
        if lock_file is not None:
            self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)

    @classmethod
    def of(cls, store: Path | None) -> WriteTurn:
        """The turn of `store` (None: a store no other process can open, e.g. in memory) for
        this process (a forked child gets its own: it must not share its parent's)."""
        if store is None:
            return cls(None)
        key = (os.getpid(), str(store.resolve()))
        with _TURNS_LOCK:
            turn = _TURNS.get(key)
            if turn is None:
                turn = _TURNS[key] = cls(store.with_name(store.name + ".writer-lock"))
            return turn

    def take(self) -> bool:
        """Wait for the turn (at most `_TURN_WAIT_S`); False when it was not had in time."""
        deadline = time.monotonic() + _TURN_WAIT_S
        if not self._threads.acquire(timeout=_TURN_WAIT_S):
            return False
        if self._fd is None:
            return True
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(pause)
                pause = min(2 * pause, _TURN_POLL_S)

    def give_back(self) -> None:
        """End the turn (taken with `take`)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


#: The turns of this process's stores, each kept while an engine of its store lives (weakly: a
#: test suite's thousands of temporary stores must not keep a lock file open each).
_TURNS: Final[weakref.WeakValueDictionary[tuple[int, str], WriteTurn]] = (
    weakref.WeakValueDictionary()
)
_TURNS_LOCK: Final = threading.Lock()


class _TurnConnection(sqlite3.Connection):
    """A SQLite connection that gives its write turn back once its COMMIT or ROLLBACK is done
    (SQLAlchemy's commit event comes before the COMMIT: a turn given back there let the next
    writer run into the store's lock and its busy sleeps). The pool's rollback of a returned
    connection gives the turn back too."""

    turn: WriteTurn | None = None
    holding: bool = False

    def take_turn(self) -> None:
        if self.turn is not None and not self.holding:
            self.holding = self.turn.take()

    def _give_back(self) -> None:
        if self.holding:
            self.holding = False
            if self.turn is not None:
                self.turn.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def _sqlite_write_turns(engine: Engine, store: Path | None) -> None:
    """Writers of `engine` take the store's `WriteTurn` before a transaction's first write."""
    turn = WriteTurn.of(store)

    @event.listens_for(engine, "connect")
    def _attach(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, _TurnConnection):
            dbapi_conn.turn = turn

    @event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if (
            isinstance(dbapi_conn, _TurnConnection)
            and not dbapi_conn.holding
            and _writes(statement)
        ):
            dbapi_conn.take_turn()


#: A write inside a statement that starts with a `WITH` list (e.g. `ratelimit.hit_all`'s upsert).
#: A write's own syntax (not a mere `replace(...)` call or a column named like a keyword).
_CTE_WRITE: Final = re.compile(
    r"\b(insert\s+(or\s+\w+\s+)?into|replace\s+into|delete\s+from"
    r"|update\s+(or\s+\w+\s+)?[\w\".]+\s+set)\b",
    re.IGNORECASE,
)


def _writes(statement: str) -> bool:
    """Whether `statement` may write: it starts with a write, or with a `WITH` list and has a
    write's syntax somewhere (`INSERT INTO`, `UPDATE ... SET`, `DELETE FROM`, `REPLACE INTO`)."""
    head = statement.lstrip()[:7].lower()
    return head.startswith(_WRITES) or (
        head.startswith("with") and _CTE_WRITE.search(statement) is not None
    )


def normalise_url(url: str) -> str:
    """Accept the plain `postgresql://` spelling and route it to psycopg 3."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL and foreign keys, its folder is created."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        store = None
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            store = Path(u.database)
            private_dir(store.parent)
            touch_private(store)  # 0600 before SQLite opens it; its WAL and SHM inherit the mode
            for suffix in ("-wal", "-shm", "-journal", ".writer-lock"):
                make_private(store.with_name(store.name + suffix))  # a store made before 0600
            # A connection for every thread that may hold one (the web app's thread pool has 40):
            # SQLAlchemy's default keeps 5 and opens and closes the rest per checkout, and each
            # opening re-reads the schema and the pragmas (a third of the server's time under load).
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_POOL_SIZE)
        kwargs["connect_args"] = {"factory": _TurnConnection, **kwargs.get("connect_args", {})}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _sqlite_write_turns(engine, store)
        return engine
    # A pooled connection is tested with a round trip before use only when it has sat idle a
    # while (`_ping_when_idle`), not on every checkout (`pool_pre_ping`): on a busy portal that
    # was one statement in five of a citizen lookup and about a fifth of its CPU.
    pre_ping = kwargs.pop("pool_pre_ping", None)  # a caller's explicit choice is kept
    # As on SQLite: SQLAlchemy's default (5 kept, 10 more opened and closed again per checkout)
    # made a busy worker open a PostgreSQL connection (a backend process) for most requests.
    kwargs.setdefault("pool_size", PG_POOL_SIZE)
    kwargs.setdefault("max_overflow", PG_POOL_SIZE)
    engine = create_engine(url, **kwargs, pool_pre_ping=bool(pre_ping))
    if pre_ping is None:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float = PG_PING_IDLE_S) -> None:
    """Test a pooled connection (`SELECT 1`) before handing it out when it has been back in
    the pool for `idle_seconds` or more; one that fails is replaced (SQLAlchemy's recipe for
    custom pessimistic disconnect handling). A connection used a moment ago is handed out as
    is: if the server went away since, that request fails and SQLAlchemy drops every pooled
    connection older than the failure, so the next requests reconnect."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["vaxlink_idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("vaxlink_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise exc_module.DisconnectionError("the pooled connection was closed") from exc
            raise


def engine_from_settings(settings: Settings) -> Engine:
    """The engine for the configured store, with migrations applied."""
    private_dir(settings.data_dir, tighten=True)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (services flush, callers commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Any:
    """An Alembic Config bound to `engine`, pointing at the packaged migrations."""
    import sys

    from alembic.config import Config

    # Alembic's default stdout is bound when alembic.config is first imported; a first import
    # under a redirected stdout (a CLI test runner) would leave it writing to a closed stream.
    cfg = Config(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it already is).

    Every command calls this first, so the up-to-date case is made cheap: the stored revision is
    compared with the head, and Alembic's environment (which imports every domain's models) runs
    only when they differ.
    """
    if stored_revision(engine) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


def head_revision() -> str | None:
    """The newest migration shipped with this version of vaxlink.

    Read from the migration files' `revision` and `down_revision` lines: importing Alembic's
    script machinery to learn it costs a third of a second, which every command would pay.
    Anything but one plain head (a merge, an unusual file) is left to Alembic.
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            return alembic_head_revision()
        revisions.add(found[1])
        parent = _DOWN_REVISION.search(source)
        if parent is not None:
            parents.add(parent[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else alembic_head_revision()


def alembic_head_revision() -> str | None:
    """The head as Alembic reads it from the migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def stored_revision(engine: Engine) -> str | None:
    """The migration the store is at (None for a store never migrated)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return found[0] if len(found) == 1 else None

"""Engine and session factories, the declarative Base, SQLite pragmas and schema migration."""

from __future__ import annotations

import datetime as dt
import re
import threading
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
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from vaxlink.files import make_private, private_dir, touch_private
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


#: How long a writer waits for its process's turn before it goes on and lets SQLite's own busy
#: timeout arbitrate (never a hang: the gate only orders writers, SQLite still guards the data).
_GATE_WAIT_S: Final = 10.0
_WRITES: Final = ("insert", "update", "delete", "replace")


def _sqlite_writer_gate(engine: Engine) -> None:
    """Let one connection of this process write to the SQLite store at a time, in arrival order.

    SQLite has one writer; when several threads of a process (a web worker's thread pool) race
    for it, each loser polls with growing sleeps (the busy timeout's back-off) and may lose again,
    so a few requests wait seconds while the lock is free most of the time. Taking a process-wide
    turn before the first write of a transaction, and giving it back at commit or rollback, turns
    that lottery into a queue: the p99 of the citizen lookup at ~200 requests/s fell from about
    1.4 s to the time of the queue ahead (benchmarks/citizen_lookup_post_bench.py). A semaphore,
    not a lock: a request's transaction may end in another thread than the one it began in."""
    gate = threading.Semaphore(1)

    @event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "vx_turn" in conn.info or not statement.lstrip()[:7].lower().startswith(_WRITES):
            return
        conn.info["vx_turn"] = gate.acquire(timeout=_GATE_WAIT_S)

    def _give_back(conn: Any) -> None:
        if conn.info.pop("vx_turn", False):
            gate.release()

    event.listen(engine, "commit", _give_back)
    event.listen(engine, "rollback", _give_back)


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
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            store = Path(u.database)
            private_dir(store.parent)
            touch_private(store)  # 0600 before SQLite opens it; its WAL and SHM inherit the mode
            for suffix in ("-wal", "-shm", "-journal"):
                make_private(store.with_name(store.name + suffix))  # a store made before 0600
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _sqlite_writer_gate(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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

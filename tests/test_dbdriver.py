"""`dbdriver.driver_rows` (SQLite and PostgreSQL): the rows `session.execute` gives, with the
column types' processing, the engine's listeners, and SQLAlchemy's errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, bindparam, event, func, insert, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from vaxlink.db import session_factory, transaction
from vaxlink.dbdriver import driver_rows
from vaxlink.ratelimit.models import RateCounter

T = cast(Table, RateCounter.__table__)
ADD = insert(T).returning(T.c.key, T.c.window_start, T.c.count, T.c.locked_until)
READ = (
    select(T.c.key, T.c.window_start, T.c.locked_until)
    .where(T.c.window_start >= bindparam("since", type_=T.c.window_start.type))
    .order_by(T.c.key)
)
AT = dt.datetime(2026, 12, 7, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def test_rows_are_those_of_session_execute_with_utc_instants(session: Session) -> None:
    added = driver_rows(session, ADD, {"key": "t:a", "window_start": AT, "count": 1,
                                       "locked_until": None})  # fmt: skip
    assert added == [("t:a", AT, 1, None)]
    assert added[0][1].tzinfo == dt.UTC  # stored and read back as UTC, as UtcDateTime does
    driver_rows(session, ADD, {"key": "t:b", "window_start": AT + dt.timedelta(hours=1),
                               "count": 2, "locked_until": AT + dt.timedelta(hours=2)})  # fmt: skip
    params = {"since": AT - dt.timedelta(minutes=1)}
    mine = driver_rows(session, READ, params)
    theirs = [tuple(r) for r in session.execute(READ, params).all()]
    assert mine == theirs
    assert [r[0] for r in mine] == ["t:a", "t:b"]
    assert all(r[1].tzinfo == dt.UTC for r in mine)
    assert mine[1][2] == AT + dt.timedelta(hours=2)
    # the same statement with other parameter names renders its own SQL (an INSERT's columns)
    assert driver_rows(session, ADD, {"key": "t:c", "window_start": AT, "count": 3}) == [
        ("t:c", AT, 3, None)
    ]
    # a column left to its Python-side default (`count`) takes SQLAlchemy's own path, default set
    assert driver_rows(session, ADD, {"key": "t:d", "window_start": AT}) == [("t:d", AT, 0, None)]
    # a text statement with typed columns
    typed = text("SELECT key, window_start FROM feedback_rate_counter WHERE key = :k").columns(
        key=T.c.key.type, window_start=T.c.window_start.type
    )
    assert driver_rows(session, typed, {"k": "t:b"}) == [("t:b", AT + dt.timedelta(hours=1))]


def test_a_naive_instant_is_refused_as_before(session: Session) -> None:
    with pytest.raises(sa_exc.StatementError, match="timezone-aware"):
        driver_rows(session, READ, {"since": dt.datetime(2026, 1, 1)})


def test_the_engines_listeners_see_the_statement(store: Engine) -> None:
    seen: list[str] = []
    event.listen(store, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with transaction(store) as s:
        driver_rows(s, READ, {"since": AT})
    assert len(seen) == 1
    assert seen[0].lstrip().upper().startswith("SELECT")
    assert "feedback_rate_counter" in seen[0]


def test_a_driver_error_is_sqlalchemys(store: Engine) -> None:
    row = {"key": "t:dup", "window_start": AT, "count": 1, "locked_until": None}
    with transaction(store) as s:
        driver_rows(s, ADD, row)
    with pytest.raises(sa_exc.IntegrityError), transaction(store) as s:
        driver_rows(s, ADD, row)
    with transaction(store) as s:  # the store and the pool are usable afterwards
        assert driver_rows(s, READ, {"since": AT - dt.timedelta(days=1)})[0][0] == "t:dup"


@pytest.mark.postgres
def test_a_lost_connection_is_invalidated(store: Engine) -> None:
    """The server process of the session's connection dies: the error says the connection was
    invalidated (as SQLAlchemy's own execution does), and the next unit of work reconnects."""
    if store.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL server process")
    s = session_factory(store)()
    try:
        ((pid,),) = driver_rows(s, select(func.pg_backend_pid()), {})
        with store.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            other.commit()
        with pytest.raises(sa_exc.DBAPIError) as caught:
            driver_rows(s, READ, {"since": AT})
    finally:
        s.close()
    assert caught.value.connection_invalidated
    with transaction(store) as s:
        rows: Any = driver_rows(s, select(func.pg_backend_pid()), {})
        assert rows[0][0] != pid


def test_on_a_connection_in_autocommit_or_in_its_transaction(store: Engine) -> None:
    """On a Core connection: in autocommit each statement is committed as it runs; otherwise the
    statement runs in the connection's transaction (begun for it), which a rollback undoes."""
    row = {"key": "t:auto", "window_start": AT, "count": 1, "locked_until": None}
    with store.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        assert driver_rows(conn, ADD, row) == [("t:auto", AT, 1, None)]
    with store.connect() as conn:
        driver_rows(conn, ADD, {**row, "key": "t:undone"})
        assert conn.in_transaction()
        assert [r[0] for r in driver_rows(conn, READ, {"since": AT})] == ["t:auto", "t:undone"]
        conn.rollback()
    with transaction(store) as s:
        assert [r[0] for r in driver_rows(s, READ, {"since": AT})] == ["t:auto"]

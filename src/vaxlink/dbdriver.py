"""Hot-path statements run on the store's driver (psycopg) cursor, rendered once.

SQLAlchemy's execution layer (the execution context, parameter and result objects, the Session's
dispatch) costs about 0.25 ms of CPU per statement, more than psycopg's own work and the round
trip together: on the citizen lookup (`POST /c/lookup`, four statements) it was about 1.3 of the
app's 2.5 ms per request. `driver_rows` keeps what SQLAlchemy adds that matters: the statement is
rendered by SQLAlchemy for the dialect (once per statement and set of parameter names), the column
types' bind and result processing (`db.UtcDateTime`) is applied, it runs in the session's own
transaction and connection, the engine's `before_cursor_execute` / `after_cursor_execute`
listeners still see it (the tests count statements with them), and a driver error is handled by
the connection as any statement's (wrapped as SQLAlchemy's, a lost connection invalidated).

Only PostgreSQL through psycopg takes this path; other stores (SQLite, with its write turn taken
in a `before_cursor_execute` listener) run the statement through `session.execute` as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

#: Rendered statements kept per process: callers pass statements built once (module constants or
#: `functools.cache`d builders), so this stays small; past the bound it starts again.
_MAX_RENDERED: Final = 256
_rendered: dict[tuple[int, int, tuple[str, ...]], tuple[Any, _Rendered | None]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A statement as the driver takes it: SQL text, how to complete and convert its parameters,
    and how to convert the columns it returns."""

    compiled: SQLCompiler
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]
    results: tuple[Callable[[Any], Any] | None, ...]


def _render(statement: Any, connection: Connection, keys: tuple[str, ...]) -> _Rendered | None:
    """`statement` rendered for `connection`'s dialect, or None when it needs more than plain
    named parameters (expanding IN lists, values rendered at execution, positional styles,
    column defaults computed in Python)."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if (
        not isinstance(compiled, SQLCompiler)
        or compiled.positional
        or compiled.escaped_bind_names
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.insert_prefetch  # Python-side column defaults, computed by the execution
        or compiled.update_prefetch  # context SQLAlchemy would make: not on this path
    ):
        return None
    binds = []
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.exported_columns
    )
    return _Rendered(compiled, compiled.string, tuple(binds), results)


def _rendered_for(
    statement: Any, connection: Connection, keys: tuple[str, ...]
) -> _Rendered | None:
    key = (id(statement), id(connection.dialect), keys)
    found = _rendered.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    rendered = _render(statement, connection, keys)
    with _lock:
        if len(_rendered) >= _MAX_RENDERED:
            _rendered.clear()
        _rendered[key] = (statement, rendered)  # the statement is kept so its id stays its own
    return rendered


def _autocommit(connection: Connection) -> bool:
    return bool(connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def driver_rows(
    session: Session | Connection, statement: Any, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """All rows of `statement` (a Core SELECT, or an INSERT/UPDATE ... RETURNING, or a
    `text(...).columns(...)`) with `params`, in `session`'s transaction, as tuples in the order
    of its columns (see the module's docstring for what is kept).

    `session` may be a Core `Connection` instead: in autocommit (each statement its own
    transaction: no BEGIN and COMMIT round trips), else in its transaction (begun here when none
    is, as its own `execute` would)."""
    if isinstance(session, Connection):
        connection = session
        if not connection.in_transaction() and not _autocommit(connection):
            connection.begin()
    else:
        connection = session.connection()
    rendered = None
    if connection.dialect.driver == "psycopg":
        rendered = _rendered_for(statement, connection, tuple(sorted(params)))
    if rendered is None:
        return [tuple(row) for row in session.execute(statement, dict(params)).all()]
    sql = rendered.sql
    values = rendered.compiled.construct_params(dict(params))
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for name, process in rendered.binds:
            values[name] = process(values[name])
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    except Exception as exc:
        # as SQLAlchemy's own execution does: wrapped (a bind value's error as StatementError),
        # the handle_error hooks run, a lost connection invalidated with the pool's older ones
        connection._handle_dbapi_exception(exc, sql, values, cursor, None)
        raise  # not reached: the call above raises
    finally:
        cursor.close()
    results = rendered.results
    if not any(results):
        return rows
    if rows and len(rows[0]) != len(results):
        raise RuntimeError(f"{len(rows[0])} columns came back, {len(results)} expected")
    return [
        tuple(v if process is None else process(v) for v, process in zip(row, results, strict=True))
        for row in rows
    ]

"""Dose status life cycle: the statuses, ONE transition table, and the only code that moves them.

A dose is created `pending` (an import, or a web entry the registry did not confirm) or
`verified` (a web entry whose identity came from the registry). Then:

- a linkage run or the online re-link decides a pending dose (any decided status);
- a correction of an identity field sends a dose back to `pending`, for linkage to decide again;
- a person decides who a dose belongs to (`verified`) or that it cannot be verified here
  (`unmatched`), and that decision is fed to the same person's undecided doses.

Every change goes through `move` (one dose, an ORM object), `undo` (a person's decision taken
back, `UNDO`), `move_many` (a set of doses, one
`UPDATE`) or `apply_staged` (a staged table of decisions, one `UPDATE … FROM`); each checks the
move against `TRANSITIONS` (the set-based ones in their WHERE clause), and each gives the dose a
new version. `tests/records/test_lifecycle.py` fails when another module writes a status itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from sqlalchemy import update

from vaxlink.errors import Conflict

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.orm import Session

    from vaxlink.ingest.service import BulkConnection


class DoseStatus(StrEnum):
    """Where a dose stands in verification (docs/formats.md §3, plus `pending` before linkage)."""

    PENDING = "pending"
    VERIFIED = "verified"
    AUTO_LINKED = "auto_linked"
    REVIEW = "review"
    UNMATCHED = "unmatched"
    INVALID = "invalid"


S = DoseStatus
#: What a person may decide about a dose: whose it is, or that it cannot be verified here.
_DECIDED_BY_PEOPLE = frozenset({S.VERIFIED, S.UNMATCHED})
#: The one transition table: from each status, the statuses a dose may move to. A move to the
#: same status is listed where it happens (a pending dose corrected again stays pending; a
#: person may decide an already decided dose again).
TRANSITIONS: Final[dict[DoseStatus, frozenset[DoseStatus]]] = {
    S.PENDING: frozenset(S),  # linkage decides (any status); a correction keeps it pending
    S.VERIFIED: frozenset({S.PENDING, *_DECIDED_BY_PEOPLE}),
    S.AUTO_LINKED: frozenset({S.PENDING, *_DECIDED_BY_PEOPLE}),
    S.REVIEW: frozenset({S.PENDING, *_DECIDED_BY_PEOPLE}),
    S.UNMATCHED: frozenset({S.PENDING, *_DECIDED_BY_PEOPLE}),
    S.INVALID: frozenset({S.PENDING, *_DECIDED_BY_PEOPLE}),
}
#: The statuses a dose may be created in.
INITIAL: Final = frozenset({S.PENDING, S.VERIFIED})
#: Undoing a person's decision (`undo`): from what people decide, back to wherever the dose
#: stood before the decision. Only that step may take a verified dose back to `review`.
UNDO: Final[dict[DoseStatus, frozenset[DoseStatus]]] = {s: frozenset(S) for s in _DECIDED_BY_PEOPLE}


class DoseTransitionInvalid(Conflict):
    """A dose's status cannot move as asked (e.g. a verified dose cannot become `review`)."""

    code = "dose_transition_invalid"


T = TypeVar("T")


class _Dose(Protocol):
    record_id: str
    status: str
    citizen_id: str | None


def _status(value: str, what: str) -> DoseStatus:
    try:
        return DoseStatus(value)
    except ValueError:
        raise DoseTransitionInvalid(f"'{value}' is not a dose status ({what})") from None


def can_move(current: str, to: str) -> bool:
    """Whether the table allows a dose in `current` to move to `to`."""
    try:
        return DoseStatus(to) in TRANSITIONS[DoseStatus(current)]
    except ValueError:
        return False


def check(current: str, to: str, *, record_id: str | None = None) -> DoseStatus:
    """`to` as a DoseStatus when the table allows the move, else DoseTransitionInvalid."""
    target = _status(to, "asked for")
    here = _status(current, "held")
    if target not in TRANSITIONS[here]:
        dose = f"dose {record_id}" if record_id else "a dose"
        raise DoseTransitionInvalid(f"{dose} is {here.value}; it cannot become {target.value}")
    return target


def initial(status: str) -> DoseStatus:
    """`status` as a DoseStatus when a dose may be created in it, else DoseTransitionInvalid."""
    target = _status(status, "asked for")
    if target not in INITIAL:
        raise DoseTransitionInvalid(f"a new dose cannot be {target.value}")
    return target


def create(model: Callable[..., T], status: str, **fields: Any) -> T:
    """A new dose (`model` is the mapped `DoseRecord` class) created in `status`, one of INITIAL."""
    return model(**fields, status=initial(status).value)


def sources(to: str, among: Iterable[str] | None = None) -> tuple[DoseStatus, ...]:
    """The statuses (of `among`, default all) from which the table allows a move to `to`."""
    target = _status(to, "asked for")
    allowed = {DoseStatus(s) for s in among} if among is not None else set(DoseStatus)
    return tuple(s for s in DoseStatus if s in allowed and target in TRANSITIONS[s])


def move(dose: _Dose, to: str, *, citizen_id: str | None) -> None:
    """Move one dose (an ORM object; its version rises on flush) along the table."""
    target = check(dose.status, to, record_id=dose.record_id)
    dose.status = target.value
    dose.citizen_id = citizen_id


def undo(dose: _Dose, to: str, *, citizen_id: str | None) -> None:
    """Put one dose a person decided back to the status it had before the decision (`UNDO`)."""
    target = _status(to, "asked for")
    here = _status(dose.status, "held")
    if target not in UNDO.get(here, frozenset()):
        raise DoseTransitionInvalid(
            f"dose {dose.record_id} is {here.value}: only a person's decision can be undone"
        )
    dose.status = target.value
    dose.citizen_id = citizen_id


def move_many(
    session: Session,
    model: type[Any],
    ids: Collection[int],
    to: str,
    *,
    citizen_id: str | None,
    among: Iterable[str],
) -> list[int]:
    """Move the doses `ids` that are in one of `among` (and may move to `to`) in one UPDATE,
    each to a new version; the ids moved, sorted. `model` is the mapped `DoseRecord` class;
    the caller expires its ORM copies."""
    allowed = sources(to, among)
    if not allowed:
        raise DoseTransitionInvalid(f"no dose in {', '.join(among)} may become {to}")
    if not ids:
        return []
    stmt = (
        update(model)
        .where(model.id.in_(list(ids)), model.status.in_([s.value for s in allowed]))
        .values(status=DoseStatus(to).value, citizen_id=citizen_id, version=model.version + 1)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(int(i) for i in session.execute(stmt).scalars())


def allowed_pairs_sql(current: str, to: str, among: Iterable[str] | None = None) -> str:
    """SQL condition: the move from column `current` to column `to` is in the table (from one of
    `among`). Statuses are this module's constants, written inline: a partial index over
    statuses is only used by a query that repeats its constants (see `models.status_is`)."""
    allowed = {DoseStatus(s) for s in among} if among is not None else set(DoseStatus)
    terms = [
        f"({current} = '{here.value}' AND {to} IN "
        f"({', '.join(repr(t.value) for t in sorted(targets))}))"
        for here, targets in TRANSITIONS.items()
        if here in allowed
    ]
    return "(" + " OR ".join(terms) + ")" if terms else "(1 = 0)"


def apply_staged(bulk: BulkConnection, staged: str, *, among: Iterable[str]) -> pa.Table:
    """Apply a staged table of decisions (`dose_record_id`, `version`, `status`, `citizen_id`)
    in one `UPDATE … FROM`: only doses still in one of `among` at the staged version (a
    decision made meanwhile stands) and only moves the table allows. The ids moved (`RETURNING`)."""
    if not staged.isidentifier():
        raise ValueError(f"not a table name: {staged!r}")
    return bulk.arrow(
        f"""
        UPDATE dose_record AS d
        SET status = s.status, citizen_id = s.citizen_id, version = d.version + 1
        FROM {staged} AS s
        WHERE d.id = s.dose_record_id AND d.version = s.version
          AND {allowed_pairs_sql("d.status", "s.status", among)}
        RETURNING id
        """
    )


__all__ = [
    "INITIAL",
    "TRANSITIONS",
    "DoseStatus",
    "DoseTransitionInvalid",
    "allowed_pairs_sql",
    "apply_staged",
    "can_move",
    "check",
    "create",
    "initial",
    "move",
    "move_many",
    "sources",
]

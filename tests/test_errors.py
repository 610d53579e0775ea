"""One error per meaning: every VaxlinkError subclass in the package agrees with its meaning's
HTTP status and exit code, and each meaning has its own exit code."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from functools import cache

import pytest

import vaxlink
from vaxlink import errors
from vaxlink.errors import MEANINGS, NotInRegistry, VaxlinkError

#: Classes in modules being reworked by others that still carry a meaning's status without its
#: exit code; each should derive from the meaning named here (the list may only shrink).
STRAGGLERS: dict[str, str] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@cache
def _all_errors() -> tuple[type[VaxlinkError], ...]:
    """Every VaxlinkError subclass defined anywhere in the package (every module imported)."""
    for mod in pkgutil.walk_packages(vaxlink.__path__, "vaxlink."):
        importlib.import_module(mod.name)
    seen: dict[type[VaxlinkError], None] = {}
    todo: list[type[VaxlinkError]] = [VaxlinkError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen[sub] = None
                todo.append(sub)
    return tuple(seen)


def test_the_walk_finds_the_domains_errors() -> None:
    names = {_name(c) for c in _all_errors()}
    assert {"vaxlink.auth.errors.Unauthenticated", "vaxlink.certificates.errors.Forbidden",
            "vaxlink.cleaning.errors.NotPermitted", "vaxlink.errors.NotInRegistry"} <= names  # fmt: skip
    assert len(names) > 50


def test_classes_with_the_same_code_agree_on_status_and_exit_code() -> None:
    by_code: dict[str, set[tuple[int, int]]] = defaultdict(set)
    who: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    for cls in (VaxlinkError, *_all_errors()):
        if _name(cls) in STRAGGLERS:
            continue
        by_code[cls.code].add((cls.http_status, cls.exit_code))
        who[cls.code, cls.http_status, cls.exit_code].append(_name(cls))
    clashes = {
        code: {f"HTTP {s}, exit {e}": who[code, s, e] for s, e in sorted(pairs)}
        for code, pairs in by_code.items()
        if len(pairs) > 1
    }
    assert not clashes


def test_a_refinement_keeps_its_meanings_status_and_exit_code() -> None:
    wrong = [
        f"{_name(cls)} (HTTP {cls.http_status}, exit {cls.exit_code}) refines {m.__name__} "
        f"(HTTP {m.http_status}, exit {m.exit_code})"
        for cls in _all_errors()
        for m in MEANINGS[1:]
        if issubclass(cls, m) and (cls.http_status, cls.exit_code) != (m.http_status, m.exit_code)
    ]
    assert not wrong


def test_each_meaning_has_its_own_exit_code_and_status() -> None:
    exits = [m.exit_code for m in MEANINGS]
    reserved = [errors.EXIT_OK, errors.EXIT_ROWS_REFUSED, errors.EXIT_AUDIT_TAMPERED,
                errors.EXIT_INTERRUPTED]  # fmt: skip
    assert len(set(exits + reserved)) == len(exits) + len(reserved)
    statuses = [m.http_status for m in MEANINGS]
    assert len(set(statuses)) == len(statuses)


def test_the_documented_table_matches_the_classes() -> None:
    table = errors.__doc__ or ""
    for m in MEANINGS:
        row = next(line for line in table.splitlines() if f" {m.__name__} " in line)
        assert row.split()[0] == str(m.exit_code), row
        assert row.split()[-1].rstrip("+") == str(m.http_status), row


@pytest.mark.parametrize("status", [401, 403, 404, 409, 429, 503])
def test_an_error_with_a_meanings_status_has_its_exit_code(status: int) -> None:
    (meaning,) = [m for m in MEANINGS if m.http_status == status]
    wrong = [
        _name(cls)
        for cls in _all_errors()
        if cls.http_status == status
        and cls.exit_code != meaning.exit_code
        and STRAGGLERS.get(_name(cls)) != meaning.__name__
    ]
    assert not wrong, f"derive these from vaxlink.errors.{meaning.__name__}"


def test_not_in_registry_is_one_class_for_entry_and_corrections() -> None:
    from vaxlink.cleaning import entry
    from vaxlink.cleaning import errors as cleaning_errors

    assert entry.NotInRegistry is cleaning_errors.NotInRegistry is NotInRegistry
    assert (NotInRegistry.http_status, NotInRegistry.exit_code) == (422, 2)
    # A worklist decision with an unknown ID is shown on the form again, not as a 404 page.
    assert NotInRegistry.http_status not in (401, 403, 404)

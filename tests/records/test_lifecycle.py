"""The dose status life cycle: its one transition table, and that nothing else writes a status."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import vaxlink
from vaxlink.errors import Conflict
from vaxlink.records import lifecycle
from vaxlink.records.lifecycle import (
    INITIAL,
    TRANSITIONS,
    DoseStatus,
    DoseTransitionInvalid,
    allowed_pairs_sql,
    can_move,
    check,
    initial,
    move,
    sources,
)

S = DoseStatus
SRC = Path(vaxlink.__file__).parent
LIFECYCLE = Path(lifecycle.__file__).resolve()


class _Dose:
    def __init__(self, status: str, citizen_id: str | None = None) -> None:
        self.record_id = "R1"
        self.status = status
        self.citizen_id = citizen_id


# --- the table -------------------------------------------------------------------------------


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(DoseStatus)
    assert {S.PENDING, S.VERIFIED} == INITIAL


@pytest.mark.parametrize(
    ("here", "to"),
    [
        (S.PENDING, S.VERIFIED),  # a linkage run, the online re-link
        (S.PENDING, S.AUTO_LINKED),
        (S.PENDING, S.REVIEW),
        (S.PENDING, S.UNMATCHED),
        (S.PENDING, S.INVALID),
        (S.PENDING, S.PENDING),  # a pending dose corrected again
        (S.REVIEW, S.PENDING),  # an identity correction sends it back to linkage
        (S.VERIFIED, S.PENDING),
        (S.INVALID, S.PENDING),
        (S.REVIEW, S.VERIFIED),  # police confirm a candidate
        (S.UNMATCHED, S.VERIFIED),
        (S.INVALID, S.UNMATCHED),  # cannot be verified here
        (S.AUTO_LINKED, S.VERIFIED),
        (S.VERIFIED, S.VERIFIED),  # decided again (another identity)
    ],
)
def test_allowed_moves(here: DoseStatus, to: DoseStatus) -> None:
    assert can_move(here, to)
    assert check(here, to) is to
    dose = _Dose(here.value, "001085012345")
    move(dose, to, citizen_id="079085000333")
    assert (dose.status, dose.citizen_id) == (to.value, "079085000333")


@pytest.mark.parametrize(
    ("here", "to"),
    [
        (S.VERIFIED, S.AUTO_LINKED),  # only linkage decides auto_linked, and only a pending dose
        (S.VERIFIED, S.REVIEW),
        (S.UNMATCHED, S.REVIEW),
        (S.REVIEW, S.INVALID),
        (S.INVALID, S.AUTO_LINKED),
        (S.AUTO_LINKED, S.AUTO_LINKED),
    ],
)
def test_refused_moves(here: DoseStatus, to: DoseStatus) -> None:
    assert not can_move(here, to)
    dose = _Dose(here.value, "001085012345")
    with pytest.raises(DoseTransitionInvalid, match=f"dose R1 is {here.value}; it cannot become"):
        move(dose, to, citizen_id=None)
    assert (dose.status, dose.citizen_id) == (here.value, "001085012345")  # untouched


def test_the_refusal_is_a_typed_conflict() -> None:
    with pytest.raises(Conflict) as caught:
        check("verified", "review")
    assert isinstance(caught.value, DoseTransitionInvalid)
    assert caught.value.http_status == 409
    assert caught.value.code == "dose_transition_invalid"


def test_unknown_statuses_are_refused() -> None:
    assert not can_move("pending", "approved")
    with pytest.raises(DoseTransitionInvalid, match="'approved' is not a dose status"):
        check("pending", "approved")
    with pytest.raises(DoseTransitionInvalid, match="'lost' is not a dose status"):
        check("lost", "pending")


def test_a_dose_is_created_pending_or_verified_only() -> None:
    assert initial("pending") is S.PENDING
    assert initial("verified") is S.VERIFIED
    with pytest.raises(DoseTransitionInvalid, match="a new dose cannot be review"):
        initial("review")


def test_sources_follow_the_table() -> None:
    assert set(sources(S.VERIFIED)) == set(DoseStatus)
    assert sources(S.REVIEW) == (S.PENDING,)
    undecided = (S.PENDING, S.REVIEW, S.UNMATCHED)
    assert set(sources(S.UNMATCHED, undecided)) == set(undecided)
    assert sources(S.AUTO_LINKED, (S.REVIEW, S.UNMATCHED)) == ()


def test_the_set_based_condition_is_the_table() -> None:
    """The SQL condition of the bulk path holds exactly the table's pairs (checked in SQLite)."""
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE m (here TEXT, target TEXT)")
    pairs = [(a.value, b.value) for a in DoseStatus for b in DoseStatus]
    con.executemany("INSERT INTO m VALUES (?, ?)", pairs)
    for among in (None, (S.PENDING,), (S.PENDING, S.REVIEW, S.UNMATCHED)):
        cond = allowed_pairs_sql("here", "target", among)
        got = set(con.execute(f"SELECT here, target FROM m WHERE {cond}").fetchall())
        froms = set(DoseStatus) if among is None else set(among)
        want = {(a, b) for a, b in pairs if S(a) in froms and can_move(a, b)}
        assert got == want
    assert allowed_pairs_sql("a", "b", ()) == "(1 = 0)"


def test_a_bulk_move_nowhere_allowed_is_refused_before_any_sql() -> None:
    with pytest.raises(DoseTransitionInvalid, match="no dose in review, unmatched may become"):
        lifecycle.move_many(None, object, [1, 2], S.AUTO_LINKED, citizen_id=None,  # type: ignore[arg-type]
                            among=(S.REVIEW, S.UNMATCHED))  # fmt: skip


# --- nothing else writes a status ------------------------------------------------------------

#: Objects with status tables of their own (certificates, citizens' reports).
OTHER_LIFECYCLES = {"certificate", "ticket"}
#: Raw SQL that updates dose_record and sets its status.
_SQL_UPDATE = re.compile(r"\bupdate\s+dose_record\b.*?\bset\b.*?\bstatus\s*=", re.I | re.S)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, f-strings with their placeholders as `{}`."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
            out.append((node.lineno, text))
    return out


def _is_dose_table(node: ast.expr) -> bool:
    """`DoseRecord`, `DoseRecord.__table__`, or anything named after it."""
    text = ast.unparse(node)
    return "DoseRecord" in text or "dose_record" in text


def _chain_root_update_of_dose(node: ast.expr) -> bool:
    """Whether a call chain `update(DoseRecord)...` starts by updating dose records."""
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "update":
                return bool(node.args) and _is_dose_table(node.args[0])
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return False


def status_writes(source: str, *, dose_module: bool) -> list[str]:
    """Where a module writes a dose status itself: assigns `x.status` (in a module that deals
    with dose records), `update(DoseRecord)...values(status=...)`, `DoseRecord(status=...)`,
    `setattr(x, "status", ...)`, or raw SQL `UPDATE dose_record ... SET ... status =`."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        flat: list[ast.expr] = []
        while targets:
            t = targets.pop()
            if isinstance(t, ast.Tuple | ast.List):
                targets.extend(t.elts)
            else:
                flat.append(t)
        for t in flat:
            if (
                dose_module
                and isinstance(t, ast.Attribute)
                and t.attr == "status"
                and ast.unparse(t.value) not in OTHER_LIFECYCLES
            ):
                found.append(f"line {node.lineno}: assigns {ast.unparse(t)}")
        if isinstance(node, ast.Call):
            names = {k.arg for k in node.keywords}
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "values"
                and "status" in names
                and _chain_root_update_of_dose(func.value)
            ):
                found.append(f"line {node.lineno}: update(DoseRecord).values(status=...)")
            if isinstance(func, ast.Name) and func.id == "DoseRecord" and "status" in names:
                found.append(f"line {node.lineno}: DoseRecord(status=...)")
            if (
                isinstance(func, ast.Name)
                and func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
                and dose_module
            ):
                found.append(f"line {node.lineno}: setattr(..., 'status', ...)")
    for line, text in _strings(tree):
        if _SQL_UPDATE.search(text):
            found.append(f"line {line}: raw SQL sets dose_record.status")
    return sorted(set(found))  # an f-string's parts are string constants too


def _deals_with_doses(source: str) -> bool:
    return bool(re.search(r"\bDoseRecord\b|vaxlink\.records|\bdose\b", source))


def test_the_scan_finds_each_kind_of_direct_write() -> None:
    samples = {
        "dose.status = 'verified'": 1,
        "dose.status, dose.citizen_id = s, None": 1,
        "session.execute(update(DoseRecord).where(x).values(status=s, version=v))": 1,
        "update(DoseRecord.__table__).values(status='x')": 1,
        "DoseRecord(record_id='r', status='verified')": 1,
        "setattr(dose, 'status', 'x')": 1,
        "bulk.execute('UPDATE dose_record SET citizen_id = NULL, status = ?')": 1,
        "bulk.arrow(f'''UPDATE dose_record AS d\n SET status = s.status FROM {t} s''')": 1,
        # not writes of a dose status
        "update(Certificate).values(status='expired')": 0,
        "x = 'SELECT status FROM dose_record WHERE status = 1'": 0,
        "dose.status == 'verified'": 0,
        "certificate.status = 'revoked'": 0,
        "DoseRecord.status.in_(x)": 0,
    }
    for code, n in samples.items():
        assert len(status_writes(code, dose_module=True)) == n, code


def test_only_the_lifecycle_writes_a_dose_status() -> None:
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.resolve() == LIFECYCLE or "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        found = status_writes(source, dose_module=_deals_with_doses(source))
        if found:
            offenders[str(path.relative_to(SRC))] = found
    assert not offenders, (
        "dose statuses change only through vaxlink.records.lifecycle (records.service: "
        f"set_status, set_status_many, apply_link_decisions): {offenders}"
    )

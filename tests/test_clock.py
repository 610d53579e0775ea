"""The Clock port: the system clock is UTC-aware, a FixedClock answers what it is given."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from vaxlink.clock import Clock, FixedClock, SystemClock

T0 = dt.datetime(2026, 1, 5, 16, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in Viet Nam
VN = dt.timezone(dt.timedelta(hours=7))


def test_the_system_clock_is_timezone_aware_utc_and_its_day_is_the_hosts() -> None:
    clock = SystemClock()
    before = dt.datetime.now(dt.UTC)
    now = clock.now()
    assert now.utcoffset() == dt.timedelta(0)
    assert before <= now <= dt.datetime.now(dt.UTC)
    assert clock.today() in (dt.date.today(), dt.date.today() - dt.timedelta(days=1))
    assert isinstance(clock, Clock)


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.today() == dt.date(2026, 1, 5)
    assert clock.advance(dt.timedelta(seconds=31)) == T0 + dt.timedelta(seconds=31)
    assert clock.today() == dt.date(2026, 1, 5)  # still the 5th in UTC
    clock.set(T0 + dt.timedelta(days=3))
    assert clock.now() == T0 + dt.timedelta(days=3)
    assert clock.today() == dt.date(2026, 1, 8)
    assert isinstance(clock, Clock)


def test_a_fixed_clock_gives_its_instant_in_utc_and_its_day_where_it_is_told() -> None:
    clock = FixedClock(T0.astimezone(VN), tz=VN)
    assert clock.now().tzinfo is dt.UTC
    assert clock.now() == T0
    assert clock.today() == dt.date(2026, 1, 5)
    clock.advance(dt.timedelta(seconds=31))  # midnight passes in Viet Nam
    assert clock.today() == dt.date(2026, 1, 6)


def test_a_pinned_day_stays_until_set_again() -> None:
    clock = FixedClock(T0, today=dt.date(2021, 7, 1))
    clock.advance(dt.timedelta(days=2))
    assert clock.today() == dt.date(2021, 7, 1)
    clock.set(T0)
    assert clock.today() == dt.date(2026, 1, 5)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(dt.datetime(2026, 1, 5, 9))
    clock = FixedClock(T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(dt.datetime(2026, 1, 5, 9))


# -- the sweep: nothing but the Clock reads the time ------------------------------------------

SRC = Path(__file__).resolve().parents[1] / "src" / "vaxlink"
#: The one module that may read the machine's time.
CLOCK_MODULE = SRC / "clock.py"
TIME_READS = frozenset({"now", "today", "utcnow"})


def _receiver_is_a_clock(node: ast.expr) -> bool:
    """`clock.now()`, `c.clock.now()`, `self._clock.today()`: a Clock the code was handed."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_").endswith("clock")
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_").endswith("clock")
    if isinstance(node, ast.Call):  # `deps.clock(request).today()`: the app's clock
        return _receiver_is_a_clock(node.func)
    return False


def direct_time_reads(path: Path, root: Path = SRC.parent) -> list[str]:
    """Lines of `path` that read the time other than through a Clock object: `datetime.now()`,
    `date.today()`, `utcnow()`, or any `x.now()`/`x.today()` whose receiver is not a clock
    (`deps.now(request)`, which reads the app's clock, is the one named exception)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in TIME_READS:
            receiver = func.value
            if _receiver_is_a_clock(receiver):
                continue
            if isinstance(receiver, ast.Name) and receiver.id == "deps" and func.attr == "now":
                continue
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(func, ast.Name) and func.id.lstrip("_") in TIME_READS:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_direct_clock_reads() -> None:
    """Time comes from the Clock the composition root holds (docs/architecture.md): a direct
    read makes a test, a replay or an `--as-of` run see the machine's time instead."""
    reads = [
        line
        for path in sorted(SRC.rglob("*.py"))
        if path != CLOCK_MODULE
        for line in direct_time_reads(path)
    ]
    assert reads == [], "read the time through a Clock:\n" + "\n".join(reads)


def test_the_sweep_check_sees_each_kind_of_direct_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import datetime as dt\nfrom datetime import date, datetime\n"
        "a = datetime.now(dt.UTC)\nb = dt.date.today()\nc = date.today()\nd = utcnow()\n"
        "e = _now()\nf = clock.now()\ng = c.clock.today()\nh = self._clock.now()\n"
        "i = deps.now(request)\nj = something.now()\nk = deps.clock(request).today()\n",
        encoding="utf-8",
    )
    found = sorted(direct_time_reads(sample, tmp_path), key=lambda r: int(r.split(":")[1]))
    reads = [r.split(": ", 1)[1] for r in found]
    assert reads == ["datetime.now(dt.UTC)", "dt.date.today()", "date.today()", "utcnow()",
                     "_now()", "something.now()"]  # fmt: skip


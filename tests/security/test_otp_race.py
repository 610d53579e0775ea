"""One-time-code guesses raced in parallel (issue #13 point 2): 100 guesses on one challenge from
as many addresses at once must get exactly `otp_max_attempts` comparisons, and the right code
sent after them is refused; on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.feedback.conftest import World
from vaxlink.db import make_engine, transaction
from vaxlink.feedback import otp
from vaxlink.feedback.models import OtpChallenge
from vaxlink.feedback.service import finish_lookup, parse_lookup, start_lookup
from vaxlink.settings import Settings

CID = "001085012345"
GUESSES = 100


@pytest.fixture
def racing(store_url: str) -> Iterator[Engine]:
    """An engine with a connection for each racing thread."""
    engine = make_engine(store_url, pool_size=24, max_overflow=0, pool_timeout=120)
    yield engine
    engine.dispose()


def test_parallel_guesses_get_exactly_the_limit(
    racing: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", _env_file=None)  # type: ignore[call-arg]
    World(racing).citizen(CID)
    now = dt.datetime.now(dt.UTC)
    with transaction(racing) as s:
        out = start_lookup(s, parse_lookup(CID, "Nguyễn Văn An", "14/03/1985"), client="10.0.0.1",
                           now=now, settings=settings)  # fmt: skip
    assert out.sms is not None
    assert out.handle is not None
    right = out.sms.text.split("Your code: ")[1]
    wrong = [f"{(int(right) + k) % 10**6:06d}" for k in range(1, GUESSES)]

    compared = 0
    count_lock = threading.Lock()

    def counting_compare(a: str, b: str) -> bool:
        nonlocal compared
        with count_lock:
            compared += 1
        return hmac.compare_digest(a, b)

    monkeypatch.setattr(otp, "hmac", SimpleNamespace(compare_digest=counting_compare, new=hmac.new))
    gate = threading.Barrier(24)

    def guess(i: int) -> bool:
        if i < 24:
            gate.wait(timeout=60)  # the first wave starts together
        with transaction(racing) as s:
            res = finish_lookup(s, out.handle, wrong[i], client=f"10.1.{i // 250}.{i % 250}",
                                now=now, settings=settings)  # fmt: skip
        return res.token is not None

    with ThreadPoolExecutor(max_workers=24) as pool:
        opened = list(pool.map(guess, range(GUESSES - 1)))
    assert not any(opened)
    assert compared == settings.otp_max_attempts
    with transaction(racing) as s:
        res = finish_lookup(s, out.handle, right, client="10.2.0.1", now=now,
                            settings=settings)  # fmt: skip
        assert s.scalar(select(OtpChallenge.attempts)) == settings.otp_max_attempts
    assert res.token is None
    assert res.attempts_left == 0
    assert compared == settings.otp_max_attempts

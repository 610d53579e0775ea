"""`vaxlink demo` prints one account per role; on a narrow terminal (or a log, 80 columns) every
user name and password is still printed whole, so it can be typed."""

from __future__ import annotations

import datetime as dt
import re

from rich.console import Console
from sqlalchemy.engine import Engine

from vaxlink.auth.demo import ACCOUNTS, print_demo_accounts
from vaxlink.auth.roles import Role


def test_one_account_per_role_printed_whole(store: Engine) -> None:
    console = Console(width=80, record=True, color_system=None)
    print_demo_accounts(console, store, None, now=dt.datetime.now(dt.UTC))
    out = console.export_text()
    rows = re.findall(r"│ (demo\.[a-z]+)\s+│ (demo-[A-Za-z0-9_-]+)\s+│", out)
    assert [u for u, _p in rows] == [u for u, _r, _l in ACCOUNTS], out
    assert all(len(p) == len("demo-") + 12 for _u, p in rows), out  # token_urlsafe(9): 12 chars
    assert "…" not in out
    assert {r for _u, r, _l in ACCOUNTS} == set(Role)  # one per role

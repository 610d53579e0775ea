"""`vaxlink users ...` and `vaxlink audit verify` over a store configured by environment."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner, Result

from vaxlink.auth import audit_cli
from vaxlink.auth import cli as users_cli
from vaxlink.auth.models import AuditEntry, User
from vaxlink.db import make_engine, transaction
from vaxlink.settings import get_settings

Run = Callable[..., Result]
PW = "operator-chosen-secret-1"


@pytest.fixture
def run(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(app: object, *args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)  # type: ignore[arg-type]

    yield invoke
    get_settings.cache_clear()


def test_users_create_list_disable_reset(run: Run, store_url: str) -> None:
    r = run(users_cli.app, "create", "police.phucxa", "--role", "commune_police", "--unit",
            "ward:00001", "--name", "Anh Minh", input=f"{PW}\n{PW}\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert PW not in r.output  # the prompt does not echo
    r = run(users_cli.app, "create", "issuer", "--role", "national_issuer", "--unit", "VN",
            "--password-stdin", input=PW + "\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    bad = run(users_cli.app, "create", "x.y", "--role", "commune_police", "--unit", "VN",
              "--password-stdin", input=PW + "\n")  # fmt: skip
    assert bad.exit_code != 0
    listing = run(users_cli.app, "list")
    assert "police.phucxa" in listing.output
    assert "ward:00001" in listing.output
    assert run(users_cli.app, "disable", "police.phucxa").exit_code == 0
    assert run(users_cli.app, "reset-password", "issuer", "--password-stdin",
               input="another-secret-22\n").exit_code == 0  # fmt: skip
    assert run(users_cli.app, "reset-second-factor", "issuer").exit_code == 0
    engine = make_engine(store_url)
    with transaction(engine) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        assert not users["police.phucxa"].active
        assert users["police.phucxa"].display_name == "Anh Minh"
        rows = s.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.seq)).all()
    engine.dispose()
    # What changed (the service's entry), then who ran the command (the CLI's, with the operator).
    assert [action for action, _detail in rows] == [
        "user.create", "users.create",
        "user.create", "users.create",
        "user.disable", "users.disable",
        "user.password_reset", "users.reset_password",
        "user.second_factor_reset", "users.reset_second_factor",
    ]  # fmt: skip
    operator = f"cli:{getpass.getuser()}"
    for action, detail in rows:
        if action.startswith("users."):
            assert json.loads(detail)["operator"] == operator


def _build_chain(run: Run) -> None:
    for i in range(4):
        r = run(users_cli.app, "create", f"hs{i}", "--role", "health_station", "--unit",
                "ward:00001", "--password-stdin", input=PW + "\n")  # fmt: skip
        assert r.exit_code == 0, r.output


def test_audit_verify_passes_then_detects_an_update(run: Run, store_url: str) -> None:
    _build_chain(run)
    ok = run(audit_cli.app, "verify")
    assert ok.exit_code == 0, ok.output
    assert "8 entries" in ok.output  # 4 accounts: the service's entry and the CLI's (operator)
    engine = make_engine(store_url)
    with transaction(engine) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor_role="admin"))
    engine.dispose()
    broken = run(audit_cli.app, "verify")
    assert broken.exit_code == audit_cli.TAMPERED
    assert "entry 3" in broken.output


def test_audit_verify_detects_a_deletion(run: Run, store_url: str) -> None:
    _build_chain(run)
    engine = make_engine(store_url)
    with transaction(engine) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    engine.dispose()
    broken = run(audit_cli.app, "verify")
    assert broken.exit_code == audit_cli.TAMPERED
    assert "entry 2" in broken.output
    assert "missing" in broken.output

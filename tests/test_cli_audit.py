"""Every CLI action that changes data is audited with the operator's identity (the OS user, and
`--by` when given), through auth's front door, without personal data; the chain stays intact."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vaxlink.auth import audit_cli
from vaxlink.auth import cli as users_cli
from vaxlink.auth.audit import PERSONAL_KEYS
from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.cli.app import app as certificates_cli
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.facilities.cli import app as facilities_cli
from vaxlink.feedback.cli import app as feedback_cli
from vaxlink.records.cli import app as records_cli
from vaxlink.registry.cli import app as registry_cli
from vaxlink.settings import get_settings
from vaxlink.synth import generate, write

OPERATOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("VAXLINK_OPERATOR", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _entries(url: str) -> list[tuple[str, str, str, dict[str, object]]]:
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            rows = s.execute(select(AuditEntry.action, AuditEntry.object_type,
                                    AuditEntry.object_id, AuditEntry.detail)
                             .order_by(AuditEntry.seq)).all()  # fmt: skip
    finally:
        engine.dispose()
    return [(a, t, i, json.loads(d)) for a, t, i, d in rows]


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(k).lower() for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_data_changing_commands_are_audited_with_the_operator(store: str, tmp_path: Path) -> None:
    paths = write(generate(60, seed=3), tmp_path / "synth")
    runner = CliRunner()

    def run(app: object, *args: str, input: str | None = None) -> None:
        result = runner.invoke(app, list(args), input=input)  # type: ignore[arg-type]
        assert result.exit_code in (0, 5), (args, result.output, result.exception)

    run(registry_cli, "load", str(paths["registry"]))
    run(records_cli, str(paths["doses"]))  # its one command: Typer runs it without a name
    run(facilities_cli, "import", str(paths["facilities"]))
    run(users_cli.app, "create", "hs.phucxa", "--role", "health_station", "--unit", "ward:00001",
        "--password-stdin", input="a-long-enough-secret-9\n")  # fmt: skip
    run(feedback_cli, "escalate")
    run(certificates_cli, "api-client", "add", "VNeID", "--by", "tester")

    entries = _entries(store)
    by_action = {action: (otype, oid, detail) for action, otype, oid, detail in entries}
    for action in ("registry.load", "records.import", "facilities.import", "users.create",
                   "feedback.escalate", "certificates.api_client_add"):  # fmt: skip
        assert action in by_action, (action, [e[0] for e in entries])
        assert by_action[action][2]["operator"].startswith(OPERATOR)
    assert by_action["certificates.api_client_add"][2]["operator"] == f"{OPERATOR} as tester"
    imported = by_action["records.import"][2]
    assert imported["rows_read"] == imported["imported"] + imported["quarantined"] > 0
    for _action, _otype, oid, detail in entries:  # ids and counts, never personal data
        assert not _keys(detail) & PERSONAL_KEYS
        assert not (oid.isdigit() and len(oid) in (9, 12)), oid  # no CCCD/CMND as the object

    verified = runner.invoke(audit_cli.app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{len(entries)} entries" in verified.output

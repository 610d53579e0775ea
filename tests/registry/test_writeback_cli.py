"""`vaxlink registry write-back`: the file drop from the command line, audited with the operator."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.registry.writeback_support import Doses
from typer.testing import CliRunner

from vaxlink.auth import audit_cli
from vaxlink.auth.models import AuditEntry
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.registry.cli import app as registry_cli
from vaxlink.registry.errors import WriteBackError
from vaxlink.settings import get_settings

CID = "001085012345"


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    w = Doses(engine)
    w.dose(CID, 1, dt.date(2021, 8, 1))
    w.dose(CID, 2, dt.date(2021, 9, 1))
    engine.dispose()
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("VAXLINK_OPERATOR", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_write_back_to_a_folder_twice(cli_store: str, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    runner = CliRunner()
    first = runner.invoke(registry_cli, ["write-back", "--to", str(drop), "--format", "csv",
                                         "--by", "ops"])  # fmt: skip
    assert first.exit_code == 0, (first.output, first.exception)
    assert "1 citizens" in first.output
    files = sorted(os.listdir(drop))
    assert len(files) == 2
    assert files[0].endswith(".csv")
    assert files[1].endswith(".manifest.json")
    assert all(stat.S_IMODE((drop / f).stat().st_mode) == 0o600 for f in files)
    assert CID in (drop / files[0]).read_text()

    second = runner.invoke(registry_cli, ["write-back", "--to", str(drop)])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert len(os.listdir(drop)) == 2

    both = runner.invoke(registry_cli, ["write-back", "--to", str(drop), "--url", "http://x"])
    assert both.exit_code != 0

    engine = make_engine(cli_store)
    with transaction(engine) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.detail)
                         .order_by(AuditEntry.seq)).all()  # fmt: skip
    engine.dispose()
    actions = [a for a, _, _ in rows]
    assert actions == ["registry.write_back", "registry.write_back_nothing"]
    detail = json.loads(rows[0][2])
    assert detail["operator"] == f"cli:{getpass.getuser()} as ops"
    assert detail["rows"] == 1
    assert detail["target"] == "file"
    assert all(CID not in d and CID not in o for _, o, d in rows)
    again = runner.invoke(registry_cli, ["write-back", "--to", str(drop), "--format", "csv",
                                         "--batch", rows[0][1]])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "(sent again)" in again.output
    assert sorted(os.listdir(drop)) == files  # the same bytes: nothing rewritten
    unknown = runner.invoke(registry_cli, ["write-back", "--to", str(drop), "--batch", "wb-x"])
    assert isinstance(unknown.exception, WriteBackError)  # exit status 4 under `vaxlink`
    verified = runner.invoke(audit_cli.app, ["verify"])
    assert verified.exit_code == 0, verified.output

"""`vaxlink certificates api-client add|list|rotate|revoke` and `certificates push` over a real
store (SQLite and PostgreSQL): the options land on the client, the token is printed once, a
rotation refuses the old token at once, and each step is audited with the operator."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.cli.app import app
from vaxlink.certificates.clients import READ_CERTIFICATES, authenticate
from vaxlink.certificates.errors import Unauthenticated
from vaxlink.certificates.models import ApiClient
from vaxlink.db import transaction

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def run(world, store_url, tmp_path, monkeypatch, clear_settings):
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout, result.output + str(result.exception or "")

    return invoke


def _works(world, token: str) -> bool:
    try:
        with transaction(world.engine) as s:
            authenticate(s, f"Bearer {token}", scope=READ_CERTIFICATES, now=NOW)
    except Unauthenticated:
        return False
    return True


def test_api_client_commands(run, world) -> None:
    stdout, _ = run("api-client", "add", "PC-COVID", "--scopes", "certificates:read,changes:read",
                    "--fields", "minimal", "--kinds", "v", "--expires", "2099-01-01",
                    "--per-minute", "5", "--push-url", "https://partner.example/hook",
                    "--by", "ops.le")  # fmt: skip
    token, secret = stdout.split()
    assert token.startswith("vxl_")
    assert secret.startswith("vxs_")
    with world.session() as s:
        client = s.scalars(select(ApiClient).where(ApiClient.name == "PC-COVID")).one()
        assert (client.scopes, client.fields, client.kinds, client.per_minute) == (
            "certificates:read changes:read", "minimal", "v", 5)  # fmt: skip
        assert client.expires_at == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
        assert client.push_url == "https://partner.example/hook"
    assert _works(world, token)
    _, listing = run("api-client", "list")
    assert "PC-COVID" in listing
    assert "minimal" in listing
    assert token not in listing
    stdout, _ = run("api-client", "rotate", "PC-COVID")
    fresh, new_secret = stdout.split()
    assert fresh != token
    assert new_secret != secret
    assert not _works(world, token)
    assert _works(world, fresh)
    run("api-client", "revoke", "PC-COVID")
    assert not _works(world, fresh)
    _, again = run("api-client", "rotate", "PC-COVID", code=1)
    assert "revoked" in again
    _, bad = run("api-client", "add", "X", "--kinds", "q", code=1)  # raised to the top-level CLI
    assert "kinds" in bad
    _, pushed = run("push")
    assert "Partner push" in pushed
    with world.session() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.detail)
                         .where(AuditEntry.object_type == "api_client")
                         .order_by(AuditEntry.seq)).all()  # fmt: skip
    assert [a for a, _ in rows] == ["certificates.api_client_add", "certificates.api_client_rotate",
                                    "certificates.api_client_revoke"]  # fmt: skip
    added = json.loads(rows[0][1])
    assert added["operator"].endswith("as ops.le")
    assert (added["fields"], added["kinds"], added["per_minute"]) == ("minimal", ["v"], 5)
    assert all(token not in (d or "") and fresh not in (d or "") for _, d in rows)

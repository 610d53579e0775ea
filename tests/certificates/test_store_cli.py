"""`vaxlink certificates …` over a store configured by environment: the whole path, end to end."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from typer.testing import CliRunner

from vaxlink.certificates.cli.app import app
from vaxlink.certificates.errors import ApprovalError
from vaxlink.certificates.keys.store import Role


@pytest.fixture
def cli(world, pki, store_url, tmp_path, monkeypatch, clear_settings):
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_UVCI_SECRET", "a secret only the issuer knows")
    keystore = pki.save(tmp_path / "keys")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    return run, runner, keystore


def test_cli_approves_issues_revokes_renews_and_reports(
    cli, world, fully_vaccinated, pki, signing, tmp_path
) -> None:
    run, runner, keystore = cli
    fully_vaccinated("001085000301", "Đinh Văn Khoa")
    fully_vaccinated("001085000302", "Lục Thị Mai")
    me = signing("F001")
    secret = tmp_path / "signing.txt"
    secret.write_text(me.passphrase + "\n")
    secret.chmod(0o600)
    signed_as = ["--approver", me.username, "--passphrase-file", str(secret)]
    out = run("approve", "--facility", "F001", *signed_as)
    assert re.search(r"Approval #\d+: 4 record\(s\) of F001", out)
    assert "Nothing to approve" in run("approve", "--facility", "F001", *signed_as)
    failed = runner.invoke(app, ["approve", "--facility", "F009", *signed_as])
    assert isinstance(failed.exception, ApprovalError)

    out = run("issue", "--kind", "v", "--by", "tester")
    assert re.search(r"certificates issued\s+│\s+2", out)
    first = world.active("001085000301")
    assert first.created_by == "tester"
    assert run("issue", "--kind", "v").count("certificates issued") == 1

    run("revoke", first.uvci, "--reason", "reported stolen", "--by", "tester")
    assert world.certificates("001085000301")[0].status == "revoked"

    today = dt.datetime.now(dt.UTC).date()
    out = run(
        "recovery", "add", "--citizen-id", "001085000302",
        "--first-positive", (today - dt.timedelta(days=20)).isoformat(),
        "--station", "TYT-26734", "--by", "tester",
    )  # fmt: skip
    assert "Recovery #" in out
    out = run("issue", "--kind", "r")
    assert re.search(r"certificates issued\s+│\s+1", out)

    out = run("renew", "--within-days", "400", "--by", "tester")
    # Both were issued moments ago: a renewal now would add no validity, so none is made.
    assert re.search(r"cannot_extend\s+│\s+2", out)
    assert "unchanged" in run("reissue-changed", "--by", "tester")

    keystore.revoke_dsc(pki.dsc.kid)
    keystore.set_active_dsc(pki.dsc2.kid)
    out = run("dsc-report", pki.dsc.kid.hex(), "--reissue", "--by", "tester")
    assert "withdrawn" in out
    assert "2 issued certificate(s) will fail" in out  # Mai: vaccination and recovery
    assert re.search(r"new certificates issued\s+│\s+2", out)
    assert {c.kid for c in world.certificates() if c.status == "active"} == {pki.dsc2.kid.hex()}
    assert keystore.certificates(Role.DSC)

    out = run("api-client", "add", "VNeID", "--by", "tester")
    assert re.search(r"^vxl_[A-Za-z0-9_-]{43}$", out.strip().splitlines()[-1])
    again = runner.invoke(app, ["api-client", "add", "VNeID"])
    assert again.exit_code != 0

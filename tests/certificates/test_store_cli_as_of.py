"""`certificates issue` and `renew` with `--as-of` and without `--kind` (#14): the clock stands at
the given instant (new certificates are issued at it), `issue` issues only the kinds the active
DSC may sign and names the approvals it refused; over the account's daily cap it stops, audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.cli.app import app
from vaxlink.certificates.errors import IssuanceCapped
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.hierarchy import DccType
from vaxlink.certificates.keys.store import Role
from vaxlink.certificates.models import FacilityApproval
from vaxlink.db import transaction

from .conftest import NOW

T0 = NOW
ELEVEN_MONTHS_ON = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC)  # T0 + 11 calendar months


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@pytest.fixture
def cli(world, pki, store_url, tmp_path, monkeypatch, clear_settings):
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_UVCI_SECRET", "a secret only the issuer knows")
    monkeypatch.delenv("VAXLINK_ISSUANCE_CAP_PER_DAY", raising=False)
    keystore = pki.save(tmp_path / "keys")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        """The command's output; `code` is the exit code `vaxlink` maps its error to."""
        result = runner.invoke(app, list(args))
        got = getattr(result.exception, "exit_code", result.exit_code)
        assert got == code, (result.output, result.exception)
        return result.output + str(result.exception or "")

    return run, runner, keystore


def _people(world, fully_vaccinated, n: int) -> list[str]:
    ids = [fully_vaccinated(f"0010850007{i:02d}", f"Người Số {i}") for i in range(n)]
    world.approve()
    return ids


def test_issue_then_renew_as_of_eleven_months_later(cli, world, fully_vaccinated) -> None:
    run, _runner, _ = cli
    ids = _people(world, fully_vaccinated, 12)
    out = run("issue", "--as-of", T0.isoformat(), "--by", "tester")
    assert re.search(r"certificates issued\s+│\s+12", out)
    first = {c.citizen_id: c for c in world.certificates() if c.status == "active"}
    assert len(first) == 12
    assert {_utc(c.iat) for c in first.values()} == {T0}

    as_of = ELEVEN_MONTHS_ON.replace(tzinfo=None).isoformat()  # no zone: UTC
    out = run("renew", "--as-of", as_of, "--within-days", "31", "--by", "tester")
    assert re.search(r"new certificates issued\s+│\s+12", out), out
    renewed = [c for c in world.certificates() if c.created_reason == "renewal"]
    active = [c for c in world.certificates() if c.status == "active"]
    assert len(renewed) >= 0.9 * len(active)
    for c in renewed:
        assert c.status == "active"
        assert _utc(c.iat) == ELEVEN_MONTHS_ON
        assert _utc(c.exp) - ELEVEN_MONTHS_ON >= dt.timedelta(days=364)
    now_of = {c.id: c.status for c in world.certificates()}
    assert {now_of[c.id] for c in first.values()} == {"superseded"}
    assert sorted(c.citizen_id for c in renewed) == sorted(ids)


def test_as_of_a_date_is_its_midnight_utc_and_nonsense_is_refused(
    cli, world, fully_vaccinated
) -> None:
    run, _runner, _ = cli
    _people(world, fully_vaccinated, 1)
    run("issue", "--as-of", "2025-03-02")
    (c,) = world.certificates()
    assert _utc(c.iat) == dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    assert "not an ISO date" in run("renew", "--as-of", "next tuesday", code=2)


def test_issue_without_kind_issues_what_the_dsc_may_sign(cli, world, fully_vaccinated, pki):
    run, _runner, keystore = cli
    _people(world, fully_vaccinated, 2)
    only_v = keys.create_dsc(pki.csca, now=T0 - dt.timedelta(days=1), common_name="DSC v",
                             types=(DccType.VACCINATION,), validity_days=3 * 365)  # fmt: skip
    keystore.save(Role.DSC, only_v)
    keystore.set_active_dsc(only_v.kid)
    out = run("issue", "--as-of", T0.isoformat())
    assert "recovery certificates not issued" in out
    assert "may not sign type 'r'" in out
    assert re.search(r"certificates issued\s+│\s+2", out)
    assert {c.kind for c in world.certificates()} == {"v"}
    assert run("issue", "--kind", "r", "--as-of", T0.isoformat(), code=1)


def test_issue_lists_the_approvals_it_refused(cli, world, fully_vaccinated) -> None:
    run, _runner, _ = cli
    _people(world, fully_vaccinated, 2)
    with transaction(world.engine) as s:
        approval = s.scalars(select(FacilityApproval)).one()
        approval.signature = bytes(64)
        approval_id = approval.id
    out = run("issue", "--as-of", T0.isoformat())
    assert re.search(rf"refused approval #{approval_id}\s+│\s+the signature does not verify", out)
    assert re.search(r"not issued: approval_invalid\s+│\s+2", out)


def test_issue_stops_at_the_accounts_daily_cap(cli, world, fully_vaccinated, monkeypatch):
    run, runner, _ = cli
    _people(world, fully_vaccinated, 5)
    monkeypatch.setenv("VAXLINK_ISSUANCE_CAP_PER_DAY", "3")
    result = runner.invoke(app, ["issue", "--kind", "v", "--chunk-size", "2", "--by", "clerk",
                                 "--as-of", T0.isoformat()])  # fmt: skip
    assert isinstance(result.exception, IssuanceCapped)
    assert IssuanceCapped.exit_code == 7
    assert "issued its 3 certificates for today" in str(result.exception)
    assert len(world.certificates()) == 3
    again = runner.invoke(app, ["issue", "--kind", "v", "--by", "clerk",
                                "--as-of", (T0 + dt.timedelta(hours=1)).isoformat()])  # fmt: skip
    assert isinstance(again.exception, IssuanceCapped)
    assert len(world.certificates()) == 3  # nothing more today
    # Another account, or the same one tomorrow, issues the rest.
    run("issue", "--kind", "v", "--by", "clerk", "--as-of", (T0 + dt.timedelta(days=1)).isoformat())
    assert len(world.certificates()) == 5
    with world.session() as s:
        capped = list(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "certificate.issue_capped").order_by(AuditEntry.seq)))  # fmt: skip
    assert len(capped) == 2
    assert all('"account":"clerk"' in e.detail.replace(" ", "") for e in capped)
    assert all('"cap":3' in e.detail.replace(" ", "") for e in capped)

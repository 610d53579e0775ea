"""The renewal job renews by itself (#14): run at each step of a clock moving over three years,
with DSCs rolled over as the plan asks, no certificate of an eligible person ever expires, each
renewal is audited as `job:renewal`; without a DSC signer the job warns once and does nothing;
`vaxlink report scheduler` and the web app's thread run it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import KeyStore, Role, dsc_plan
from vaxlink.certificates.models import Certificate
from vaxlink.certificates.service import RENEWAL_JOB
from vaxlink.clock import FixedClock, SystemClock
from vaxlink.compose import Container
from vaxlink.db import transaction
from vaxlink.records.models import DoseRecord
from vaxlink.settings import Settings

from .conftest import NOW, PASS

STEP = dt.timedelta(days=7)
YEARS = dt.timedelta(days=3 * 365)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _key_dir(path: Path, pki, at: dt.datetime, *, dsc: bool = True) -> KeyStore:
    """The issuer's key directory: the tests' CSCA (the sites' keys chain to it) and one DSC
    planned the production way (two years, signing 12-month certificates during the first)."""
    store = KeyStore(path)
    store.save(Role.CSCA, pki.csca, passphrase=PASS)
    if dsc:
        first = keys.create_dsc(pki.csca, now=at, common_name="DSC 1")
        store.save(Role.DSC, first)
        store.set_active_dsc(first.kid)
    return store


def _dsc(pki, at: dt.datetime, name: str) -> keys.KeyPair:
    """A successor DSC: two years, or up to the CSCA's end (its own rotation is another story)."""
    left = (pki.csca.certificate.not_valid_after_utc - at).days
    return keys.create_dsc(pki.csca, now=at, common_name=name,
                           validity_days=min(keys.DSC_VALIDITY_DAYS, left))  # fmt: skip


def _container(world, tmp_path: Path, clock, **settings: object) -> Container:
    values = {"data_dir": tmp_path, "renewal_within_days": 30, "renewal_every_hours": 24.0,
              **settings}  # fmt: skip
    return Container(Settings(**values), clock=clock, engine=world.engine,  # type: ignore[arg-type]
                     key_dir=tmp_path / "keys")  # fmt: skip


def _active(world) -> dict[str, Certificate]:
    with world.session() as s:
        rows = s.scalars(select(Certificate).where(Certificate.status == "active"))
        return {c.citizen_id: c for c in rows}


def _renew_entries(world) -> list[dict[str, object]]:
    with world.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "certificates.renew")
                         .order_by(AuditEntry.seq))  # fmt: skip
        return [{"actor_id": e.actor_id, **json.loads(e.detail)} for e in rows]


def test_no_certificate_expires_while_its_person_stays_eligible(
    world, fully_vaccinated, pki, tmp_path
) -> None:
    eligible = [fully_vaccinated(f"00108500060{i}", f"Người Thứ {i}") for i in range(4)]
    leaving = fully_vaccinated("001085000699", "Người Rời Đi")
    world.approve()
    clock = FixedClock(NOW)
    store = _key_dir(tmp_path / "keys", pki, NOW)
    c = _container(world, tmp_path, clock)
    with c.in_use():
        assert world.issue(signer=c.dsc_signer(), now=NOW).issued == 5
        job = c.renewal_job()
        dscs, runs, left_at = 1, 0, NOW + dt.timedelta(days=500)
        while clock.now() < NOW + YEARS:
            at = clock.advance(STEP)
            if dsc_plan(store, at).warning:  # the key custodian follows the plan
                dscs += 1
                store.save(Role.DSC, _dsc(pki, at, f"DSC {dscs}"))
            if left_at <= at < left_at + STEP:  # their doses were linked to someone else
                with transaction(world.engine) as s:
                    s.execute(update(DoseRecord).where(DoseRecord.citizen_id == leaving)
                              .values(citizen_id=None))  # fmt: skip
            report = job.run_if_due(at)
            assert report is not None
            runs += 1
            assert report.skipped == {}, (at, report.skipped)
            active = _active(world)
            for person in eligible:
                cert = active[person]  # always one, and still valid at the next step
                assert _utc(cert.exp) > at + STEP, (at, person, cert.exp)
                if cert.created_reason == "renewal":
                    assert cert.created_by == RENEWAL_JOB
                    assert _utc(cert.exp) - _utc(cert.iat) >= dt.timedelta(days=364)
            if at > left_at + dt.timedelta(days=365):
                assert leaving not in active  # never renewed once no longer eligible

    renewed = [c for c in world.certificates() if c.created_reason == "renewal"]
    assert len(renewed) >= 2 * len(eligible)  # each eligible person at least twice in 3 years
    assert dscs >= 3  # the plan asked for successors, and they signed
    assert len({c.kid for c in renewed}) >= 2
    entries = _renew_entries(world)
    assert len(entries) == runs
    assert {e["operator"] for e in entries} == {RENEWAL_JOB}
    assert {e["actor_id"] for e in entries} == {None}
    assert sum(int(e["issued"]) for e in entries) == len(renewed)  # type: ignore[call-overload]


def test_without_a_dsc_the_job_warns_once_and_renews_nothing(
    world, fully_vaccinated, pki, tmp_path, caplog
) -> None:
    fully_vaccinated("001085000611", "Phan Văn Đức")
    world.approve()
    world.issue(now=NOW)
    _key_dir(tmp_path / "keys", pki, NOW, dsc=False)
    late = NOW + dt.timedelta(days=350)
    c = _container(world, tmp_path, FixedClock(late))
    with c.in_use(), caplog.at_level(logging.WARNING, logger="vaxlink.certificates.renewal"):
        job = c.renewal_job()
        assert job.run(late) is None
        assert job.run(late + dt.timedelta(days=1)) is None
        warnings = [r for r in caplog.records if "no DSC signer is available" in r.getMessage()]
        assert len(warnings) == 1
        assert "no active DSC" in warnings[0].getMessage()
        assert [x.status for x in world.certificates()] == ["active"]
        assert _renew_entries(world) == []

        store = KeyStore(tmp_path / "keys")  # a DSC is issued: the next run renews
        dsc = keys.create_dsc(pki.csca, now=late, common_name="DSC late")
        store.save(Role.DSC, dsc)
        store.set_active_dsc(dsc.kid)
        report = job.run(late + dt.timedelta(days=2))
        assert report is not None
        assert report.issued == 1
    assert len(_renew_entries(world)) == 1


def test_the_scheduler_runs_the_renewal_job(
    world, fully_vaccinated, pki, tmp_path, store_url, monkeypatch, clear_settings
) -> None:
    from vaxlink.reports.cli import app as reports_cli

    now = SystemClock().now()  # the scheduler runs on the system clock
    fully_vaccinated("001085000621", "Lâm Thị Hoa")
    world.approve()
    world.issue(now=now - dt.timedelta(days=350))
    keystore = pki.save(tmp_path / "keys")
    assert keystore.active_dsc_kid() == pki.dsc.kid
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_REPORT_TIMES", "{}")
    # --nice 0: the scheduler would lower the priority of the test process itself
    result = CliRunner().invoke(reports_cli, ["scheduler", "--once", "--nice", "0"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "1 renewed" in result.output
    (new,) = [c for c in world.certificates() if c.status == "active"]
    assert new.created_by == RENEWAL_JOB
    assert _utc(new.iat) >= now.replace(microsecond=0)  # iat is whole seconds
    assert [e["operator"] for e in _renew_entries(world)] == [RENEWAL_JOB]


@pytest.mark.parametrize("in_app", [True, False])
def test_the_web_app_renews_in_the_background(
    world, fully_vaccinated, pki, tmp_path, store_url, monkeypatch, in_app
) -> None:
    from vaxlink.web.app import create_app

    fully_vaccinated("001085000631", "Hồ Văn Nam")
    world.approve()
    world.issue(now=NOW)
    pki.save(tmp_path / "keys")
    late = NOW + dt.timedelta(days=350)
    monkeypatch.setenv("VAXLINK_RENEWAL_IN_APP", str(in_app).lower())
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url), clock=FixedClock(late))
    with TestClient(app):
        thread = app.state.renewal
        if not in_app:
            assert thread is None
            return
        deadline = time.monotonic() + 30
        while thread.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert thread.failures == 0
        assert thread.last is not None  # the first check is due: its sweep's report
        assert thread.last.issued == 1
    assert not thread.alive
    (new,) = [c for c in world.certificates() if c.status == "active"]
    assert (new.created_by, _utc(new.iat)) == (RENEWAL_JOB, late)

"""The national issuer's console: issue runs with progress and results, revocation with a reason,
each action audited as the signed-in issuer and listed on the page; other roles are refused."""

from __future__ import annotations

import datetime as dt
import time

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.web_support import create_account, home_waiting, login_client

from vaxlink.auth.models import AuditEntry, User
from vaxlink.auth.roles import Role
from vaxlink.certificates.models import Certificate, FacilityApproval
from vaxlink.clock import FixedClock
from vaxlink.db import transaction
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW


def _client(store_url, tmp_path, role, unit, **settings):
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url, **settings),
                     clock=FixedClock(NOW + dt.timedelta(days=1)))  # fmt: skip
    client = TestClient(app)
    client.__enter__()
    account = create_account(app.state.engine, role, unit)
    client.headers["X-CSRF-Token"] = login_client(client, account.username, account.password)
    client.username = account.username  # type: ignore[attr-defined]
    return client


def _wait(client, run_url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        page = client.get(run_url).text
        if 'id="run-done"' in page or 'id="run-capped"' in page or 'id="run-failed"' in page:
            return page
        assert time.monotonic() < deadline, page[-2000:]
        time.sleep(0.1)


def test_the_issuer_issues_and_revokes_from_the_console(
    world, fully_vaccinated, pki, store_url, tmp_path
) -> None:
    fully_vaccinated("001085000601", "Nguyễn Thị Lan")
    fully_vaccinated("001085000602", "Trần Văn Minh")
    world.approve()
    pki.save(tmp_path / "keys")
    issuer = _client(store_url, tmp_path, Role.NATIONAL_ISSUER, "VN")
    try:
        page = issuer.get("/issuer")
        assert page.status_code == 200, page.text[:500]
        assert 'id="issue-form"' in page.text
        assert pki.dsc.kid.hex() in page.text  # the signing DSC and its plan
        # the home page counts what the sites signed since the last issue run: the 4 doses
        assert home_waiting(issuer, "/issuer") == 4

        r = issuer.post("/issuer/issue", data={"kind": ["v"]}, follow_redirects=False)
        assert r.status_code == 303
        done = _wait(issuer, r.headers["location"])
        assert 'id="run-done"' in done
        assert home_waiting(issuer, "/issuer") == 0
        with world.session() as s:
            certificates = list(s.scalars(select(Certificate).order_by(Certificate.id)))
        assert len(certificates) == 2
        assert {c.created_by for c in certificates} == {issuer.username}

        target = certificates[0]
        refused = issuer.post("/issuer/revoke", data={"uvci": target.uvci, "reason": " "})
        assert refused.status_code == 422  # a reason is required
        r = issuer.post("/issuer/revoke", data={"uvci": target.uvci, "reason": "reported stolen"},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        page = issuer.get(r.headers["location"]).text
        assert 'id="issuer-revoked"' in page
        assert 'data-action="certificate.revoke"' in page  # in the audit list, as this issuer
        assert 'data-action="certificate.issue_run"' in page
        assert "reported stolen" in page
        assert f'<td translate="no">{issuer.username}</td><td>Thu hồi chứng nhận</td>' in page
        with world.session() as s:
            assert s.get(Certificate, target.id).status == "revoked"
        unknown = issuer.post("/issuer/revoke", data={"uvci": "URN:UVCI:01:VN:NOPE", "reason": "x"})
        assert unknown.status_code == 422

        # Revoke and re-issue: the person gets a new certificate from their records, both audited.
        other = certificates[1]
        r = issuer.post("/issuer/revoke", data={"uvci": other.uvci, "reason": "QR copied",
                                                "reissue": "true"}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:500]
        page = issuer.get(r.headers["location"]).text
        assert 'id="issuer-revoked"' in page
        assert 'data-action="certificate.reissue"' in page
        with world.session() as s:
            assert s.get(Certificate, other.id).status == "revoked"
            new = s.scalars(select(Certificate).where(Certificate.citizen_id == other.citizen_id,
                                                      Certificate.status == "active")).one()  # fmt: skip
        assert new.uvci != other.uvci
        assert new.created_by == issuer.username
        # A revoked certificate is not re-issued again (nothing changes: the savepoint keeps it).
        again = issuer.post("/issuer/revoke", data={"uvci": other.uvci, "reason": "again",
                                                    "reissue": "true"})  # fmt: skip
        assert again.status_code == 422
        with world.session() as s:
            assert s.scalars(select(Certificate).where(
                Certificate.citizen_id == other.citizen_id, Certificate.status == "active"
            )).one().id == new.id  # fmt: skip
    finally:
        issuer.__exit__(None, None, None)


def test_a_forged_site_signature_shows_in_the_run_and_issues_nothing(
    world, fully_vaccinated, pki, store_url, tmp_path
) -> None:
    fully_vaccinated("001085000603", "Lê Thị Hoa")
    approval_id = world.approve().approval_id
    with transaction(world.engine) as s:
        s.execute(update(FacilityApproval).values(signature=b"\0" * 64))
    pki.save(tmp_path / "keys")
    issuer = _client(store_url, tmp_path, Role.NATIONAL_ISSUER, "VN")
    try:
        r = issuer.post("/issuer/issue", data={"kind": ["v"]}, follow_redirects=False)
        done = _wait(issuer, r.headers["location"])
        assert 'id="run-refused"' in done
        assert f"#{approval_id}" in done
        assert 'data-reason="approval_invalid"' in done
        assert world.certificates() == []
    finally:
        issuer.__exit__(None, None, None)


def test_only_the_issuer_role_reaches_the_console(store_url, tmp_path) -> None:
    station = _client(store_url, tmp_path, Role.HEALTH_STATION, "ward:00001")
    try:
        assert station.get("/issuer").status_code == 403
        assert station.post("/issuer/revoke", data={"uvci": "x", "reason": "y"}).status_code == 403
        assert station.post("/issuer/issue", data={"kind": ["v"]}).status_code == 403
    finally:
        station.__exit__(None, None, None)


def test_the_console_shows_issuance_per_account_and_a_run_stops_at_the_daily_cap(
    world, fully_vaccinated, pki, store_url, tmp_path
) -> None:
    for i in range(3):
        fully_vaccinated(f"00108500065{i}", f"Người Cấp {i}")
    world.approve()
    world.issue(now=NOW + dt.timedelta(days=1) - dt.timedelta(hours=2))  # "tester" at the CLI
    with transaction(world.engine) as s:  # two of them were issued by another account this week
        s.execute(update(Certificate).where(Certificate.citizen_id != "001085000650")
                  .values(created_at=NOW - dt.timedelta(days=3)))  # fmt: skip
        s.execute(update(Certificate).values(status="revoked"))
    pki.save(tmp_path / "keys")
    issuer = _client(store_url, tmp_path, Role.NATIONAL_ISSUER, "VN", issuance_cap_per_day=2)
    try:
        page = issuer.get("/issuer").text
        assert 'id="issuer-cap"' in page
        assert "2" in page.split('id="issuer-cap"')[1].split("</p>")[0]
        assert (
            '<tr data-account="tester"><td translate="no">tester</td><td>1</td><td>3</td></tr>'
            in page
        )

        r = issuer.post("/issuer/issue", data={"kind": ["v"]}, follow_redirects=False)
        done = _wait(issuer, r.headers["location"])
        assert 'id="run-capped"' in done
        with world.session() as s:
            mine = list(s.scalars(select(Certificate).where(
                Certificate.created_by == issuer.username)))  # fmt: skip
            user_id = s.scalar(select(User.id).where(User.username == issuer.username))
            capped = list(s.scalars(select(AuditEntry).where(
                AuditEntry.action == "certificate.issue_capped")))  # fmt: skip
        assert len(mine) == 2  # three were ready, the cap allowed two
        assert [e.actor_id for e in capped] == [user_id]

        page = issuer.get("/issuer").text
        row = f'<tr data-account="{issuer.username}" class="over-cap"><td translate="no">{issuer.username}</td>'
        assert row + "<td>2</td><td>2</td></tr>" in page
        assert 'data-action="certificate.issue_capped"' in page
        again = issuer.post("/issuer/issue", data={"kind": ["v"]}, follow_redirects=False)
        assert 'id="run-capped"' in _wait(issuer, again.headers["location"])
        assert len(world.certificates()) == 5  # nothing more today
        refused = issuer.post("/issuer/revoke", data={"uvci": mine[0].uvci, "reason": "copied",
                                                      "reissue": "true"})  # fmt: skip
        assert refused.status_code == 422
        assert "VAXLINK_ISSUANCE_CAP_PER_DAY" in refused.text
        with world.session() as s:
            assert s.get(Certificate, mine[0].id).status == "active"  # the old one stays
            capped_actions = list(s.scalars(select(AuditEntry.detail).where(
                AuditEntry.action == "certificate.issue_capped")))  # fmt: skip
        assert len(capped_actions) == 3
        assert '"reissue":true' in capped_actions[-1].replace(" ", "")
    finally:
        issuer.__exit__(None, None, None)

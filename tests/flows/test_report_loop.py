"""Correction → certificate, always (issue #14): a station's correction never signs for a site;
the report waits for the new certificate until every dose it rests on is signed by its own site,
and is resolved (answer, SMS, audit) only once that certificate exists. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from tests.cleaning.entry_support import SIGNING
from tests.feedback.conftest import DISTRICT, NOW, PROVINCE, WARD, Pki, World, pki, world  # noqa: F401 - fixtures
from tests.web_support import create_account

from vaxlink import compose
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates import service as certificates
from vaxlink.certificates.approval import queue
from vaxlink.certificates.models import Certificate, FacilityApproval
from vaxlink.clock import FixedClock
from vaxlink.db import transaction
from vaxlink.facilities.models import Facility, FacilityKind
from vaxlink.feedback import service as feedback
from vaxlink.feedback.models import Ticket, TicketEvent
from vaxlink.feedback.sms import ConsoleSms
from vaxlink.flows.citizen_report import resolve_report
from vaxlink.flows.reissue_after_change import settle_waiting
from vaxlink.ratelimit import secret_of
from vaxlink.records.service import DoseRecord
from vaxlink.settings import Settings

CID, PHONE = "001085012345", "0912345678"
D1, B1, B2 = dt.date(2021, 8, 2), dt.date(2022, 1, 10), dt.date(2022, 7, 1)
CORRECTED = "2022-07-11"


@dataclass
class Loop:
    """A person whose certificate attests their booster of 01/07/2022 at F001, and the ports."""

    world: World
    pki: Pki
    ports: compose.Container
    station: Any
    approver_f002: Any
    d1: int
    b2: int

    @property
    def engine(self) -> Engine:
        return self.world.engine

    def sign(self, site: str, *, key: Any = None) -> int | None:
        """The site's approver signs every dose of the site awaiting signature (the existing
        helper's way: `approve_records` with the site's own key)."""
        with transaction(self.engine) as s:
            result = certificates.approve_records(
                s, key or self.pki.facility[site], facility_code=site, approver=f"head of {site}",
                now=self.ports.clock.now(),
            )  # fmt: skip
        return result.approval_id

    def report(self, dose_id: int) -> int:
        with transaction(self.engine) as s:
            ticket = feedback.open_ticket(
                s, citizen_id=CID, kind=feedback.TicketKind.DOSE_DETAILS,
                description="Ngày tiêm mũi nhắc lại bị ghi sai.", province_code=PROVINCE,
                district_code=DISTRICT, ward_code=WARD, facility_code=None, dose_id=dose_id,
                now=self.ports.clock.now(), due_in=dt.timedelta(days=7), phone=PHONE,
                outbox=feedback.Outbox(),
            )  # fmt: skip
            return ticket.id

    def resolve(self, ticket_id: int, dose_id: int, changes: dict[str, str]) -> tuple[Any, list[str]]:
        outbox = feedback.Outbox()
        with transaction(self.engine) as s:
            ticket = feedback.get_ticket(s, ticket_id, for_update=True)
            dose = s.get(DoseRecord, dose_id)
            assert dose is not None
            version = dose.version
            result = resolve_report(
                s, self.station.principal, ticket, dose_id=dose_id, expected_version=version,
                changes=changes, reason="phiếu tiêm gốc", answer="Đã sửa ngày tiêm mũi nhắc lại.",
                ports=self.ports, now=self.ports.clock.now(), outbox=outbox,
            )  # fmt: skip
        return result, [n.text for n in outbox.notices]

    def ticket(self, ticket_id: int) -> Ticket:
        with transaction(self.engine) as s:
            ticket = s.get(Ticket, ticket_id)
            assert ticket is not None
            s.expunge(ticket)
            return ticket

    def certificates(self) -> dict[str, tuple[str, str]]:
        """uvci -> (status, vaccination date attested)."""
        with transaction(self.engine) as s:
            return {c.uvci: (c.status, c.payload["v"][0]["dt"])
                    for c in s.scalars(select(Certificate).where(Certificate.citizen_id == CID))}  # fmt: skip

    def approvals(self) -> int:
        with transaction(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(FacilityApproval)) or 0)

    def freshness(self) -> certificates.Freshness:
        with transaction(self.engine) as s:
            return certificates.freshness(s, CID, anchors=self.ports.trust_anchors)


@pytest.fixture
def loop(world: World, pki: Pki, store_url: str, tmp_path: Path) -> Iterator[Loop]:  # noqa: F811
    """Dose 1 (F001), booster 2 (F001) approved and certified; the F002 site named in the list."""
    settings = Settings(data_dir=tmp_path / "data", database_url=store_url, _env_file=None)  # type: ignore[call-arg]
    settings.data_dir.mkdir()
    pki.save(settings.data_dir / "keys")  # where the CLI and the web app of `settings` look
    ports = compose.Container(settings, clock=FixedClock(dt.datetime.now(dt.UTC)),
                              engine=world.engine)  # fmt: skip
    world.citizen(CID, phone=PHONE)
    d1 = world.dose(CID, 1, D1)
    b2 = world.dose(CID, 4, B2, category="booster")
    with transaction(world.engine) as s:
        s.add(Facility(code="F002", name="Bệnh viện Đống Đa", ward_code=WARD,
                       kind=FacilityKind.HOSPITAL, created_at=NOW, updated_at=NOW))  # fmt: skip
        certificates.approve_records(s, pki.facility["F001"], facility_code="F001",
                                     approver="head of F001", now=ports.clock.now())  # fmt: skip
    certificates.issue_batch(world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test",
                             now=ports.clock.now(), anchors=ports.trust_anchors)  # fmt: skip
    station = create_account(world.engine, Role.HEALTH_STATION, f"ward:{WARD}")
    approver = create_account(world.engine, Role.SITE_APPROVER, f"ward:{WARD}",
                              facility_code="F002", username="approver.f002")  # fmt: skip
    with ports.in_use():
        yield Loop(world, pki, ports, station, approver, d1, b2)


def test_a_correction_waits_for_every_site_then_settles_with_the_corrected_date(
    loop: Loop,
) -> None:
    (old_uvci, (old_status, old_date)), = loop.certificates().items()
    assert (old_status, old_date) == ("active", B2.isoformat())
    # a booster of 10/01/2022 at F002, recorded late: not signed by its site yet
    b1 = loop.world.dose(CID, 3, B1, facility="F002", category="booster")
    ticket_id = loop.report(loop.b2)
    approvals_before = loop.approvals()

    result, sms = loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})

    # nothing was signed on the site's behalf; the corrected booster is back in F001's queue
    assert loop.approvals() == approvals_before
    with transaction(loop.engine) as s:
        assert certificates.approval_state(s, loop.b2) is certificates.ApprovalState.CHANGED
    assert (result.current, result.reissued) == (False, False)
    assert [(p.dose_id, p.facility_code, p.why) for p in result.pending] == [
        (b1, "F002", certificates.Waiting.NEVER),
        (loop.b2, "F001", certificates.Waiting.CHANGED),
    ]
    ticket = loop.ticket(ticket_id)
    assert ticket.status == "awaiting_certificate"
    assert ticket.answer == "Đã sửa ngày tiêm mũi nhắc lại."
    assert ticket.resolved_at is None
    assert not any("chung nhan moi" in t or "new certificate" in t for t in sms)
    assert "awaiting certificate" in sms[-1]
    assert loop.certificates() == {old_uvci: ("active", B2.isoformat())}  # nothing re-issued
    fresh = loop.freshness()
    assert fresh.disagrees
    assert not fresh.agrees
    assert not fresh.ready
    assert "the dose of 10/01/2022 waits for the signature of site Bệnh viện Đống Đa (F002)" in (
        fresh.message()
    )
    # re-issuing now would give a certificate that disagrees with the records: refused, saying why
    with transaction(loop.engine) as s, pytest.raises(
        certificates.IssuanceInvalid,
        match=r"the dose of 10/01/2022 waits for the signature of site Bệnh viện Đống Đa \(F002\)",
    ):
        certificates.reissue_person(s, loop.ports.issuer(by="test"), CID)

    # F001 signs its corrected booster: the certificate still waits for F002
    assert loop.sign("F001") is not None
    with transaction(loop.engine) as s:
        settled = settle_waiting(s, loop.ports, now=loop.ports.clock.now())
    assert (settled.resolved, settled.waiting) == ([], [ticket_id])
    assert loop.ticket(ticket_id).status == "awaiting_certificate"
    assert [p.dose_id for p in loop.freshness().pending] == [b1]

    # F002's approver signs in the queue; what follows the signature settles the report
    since = len(ConsoleSms.sent)
    with transaction(loop.engine) as s:
        signed = queue.sign(s, loop.approver_f002.principal, loop.ports.key_store,
                            passphrase=SIGNING, dose_ids=None, now=loop.ports.clock.now(),
                            secret=secret_of(loop.ports.settings))  # fmt: skip
        done = loop.ports.after_approval(s, approval_id=signed.approval_id,
                                         actor=loop.approver_f002.principal,
                                         by=f"approver (approval #{signed.approval_id})")  # fmt: skip
    assert done.resolved == [ticket_id]
    certs = loop.certificates()
    new = [u for u, (status, _) in certs.items() if status == "active"]
    assert len(new) == 1
    assert new[0] != old_uvci
    assert certs[new[0]] == ("active", CORRECTED)  # the new certificate carries the fix
    assert certs[old_uvci][0] == "revoked"
    ticket = loop.ticket(ticket_id)
    assert ticket.status == "resolved"
    assert ticket.answer == "Đã sửa ngày tiêm mũi nhắc lại."
    sent = [m.text for m in list(ConsoleSms.sent)[since:] if m.phone == PHONE]
    assert len(sent) == 1
    assert f"#{ticket_id}" in sent[0]
    assert "da cap chung nhan moi" in sent[0]
    assert "new certificate issued" in sent[0]
    with transaction(loop.engine) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.object_id == str(ticket_id),
                            AuditEntry.action.like("feedback.ticket.%"))
                            .order_by(AuditEntry.seq)).all()  # fmt: skip
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                           .order_by(TicketEvent.id)).all()  # fmt: skip
    settled_entry = next(e for e in entries if e.action == "feedback.ticket.certificate_settled")
    assert settled_entry.actor_id == loop.approver_f002.user_id
    assert "approval #" in settled_entry.detail
    assert entries[-1].action == "feedback.ticket.resolved"
    assert [e.to_status for e in events][-2:] == ["awaiting_certificate", "resolved"]
    assert events[-1].actor == "site_approver"
    # the issued certificate verifies and says 11/07/2022
    with transaction(loop.engine) as s:
        hc1 = s.scalar(select(Certificate.hc1).where(Certificate.uvci == new[0]))
    verified = certificates.verify(hc1, certificates.InMemoryTrustList([loop.pki.dsc.certificate]),
                                   clock=loop.ports.clock.now() + dt.timedelta(minutes=1))  # fmt: skip
    assert verified.payload is not None
    assert verified.payload["v"][0]["dt"] == CORRECTED


def test_a_change_that_leaves_the_certificate_as_it_is_resolves_at_once(loop: Loop) -> None:
    (old_uvci, _), = loop.certificates().items()
    ticket_id = loop.report(loop.b2)
    approvals_before = loop.approvals()

    result, sms = loop.resolve(ticket_id, loop.b2, {"lot_number": "FK9999"})  # not in the DCC

    assert (result.current, result.reissued, result.certificate_uvci) == (True, False, old_uvci)
    assert loop.ticket(ticket_id).status == "resolved"
    assert "da giai quyet" in sms[-1]
    assert "chung nhan moi" not in sms[-1]
    assert loop.approvals() == approvals_before
    # still, the changed record is back in its own site's queue, never signed by the station
    approver = create_account(loop.engine, Role.SITE_APPROVER, f"ward:{WARD}", facility_code="F001")
    with transaction(loop.engine) as s:
        page = queue.pending_page(s, approver.principal, now=loop.ports.clock.now())
    assert [(r.id, r.state) for r in page.rows] == [(loop.b2, queue.QueueState.CHANGED)]


def test_without_a_sound_signature_the_report_keeps_waiting_and_can_go_back_to_work(
    loop: Loop, tmp_path: Path
) -> None:
    b1 = loop.world.dose(CID, 3, B1, facility="F002", category="booster")
    loop.sign("F002")  # the late booster is signed: only the corrected one will wait
    ticket_id = loop.report(loop.b2)
    result, _ = loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})
    assert [p.dose_id for p in result.pending] == [loop.b2]

    # absent: nobody signs; the scheduled step leaves it waiting and sends nothing
    since = len(ConsoleSms.sent)
    settled = loop.ports.settle_certificates(by="job:test")
    assert (settled.resolved, settled.waiting) == ([], [ticket_id])
    assert [m for m in list(ConsoleSms.sent)[since:] if m.phone == PHONE] == []
    # refused: a key that is not F001's signs for it (its certificate chains to no trusted CSCA)
    rogue_ca = certificates.create_csca(country="VN", organization="Giả mạo",
                                        now=loop.ports.clock.now() - dt.timedelta(days=1))  # fmt: skip
    rogue = certificates.create_facility_signer(rogue_ca, facility_code="F001",
                                                facility_name="F001",
                                                now=loop.ports.clock.now() - dt.timedelta(days=1))  # fmt: skip
    assert loop.sign("F001", key=rogue) is not None
    settled = loop.ports.settle_certificates(by="job:test")
    assert settled.waiting == [ticket_id]
    assert [(p.dose_id, p.why) for p in loop.freshness().pending] == [
        (loop.b2, certificates.Waiting.APPROVAL_INVALID)
    ]
    assert loop.ticket(ticket_id).status == "awaiting_certificate"
    assert {s for s, _ in loop.certificates().values()} == {"active"}  # the old one, untouched
    assert b1 not in [p.dose_id for p in loop.freshness().pending]

    # the site refuses the correction: the station takes the report back to work
    outbox = feedback.Outbox()
    with transaction(loop.engine) as s:
        ticket = feedback.get_ticket(s, ticket_id)
        feedback.move(s, loop.station.principal, ticket, feedback.TicketStatus.IN_PROGRESS,
                      now=loop.ports.clock.now(), phone=PHONE, outbox=outbox)  # fmt: skip
    ticket = loop.ticket(ticket_id)
    assert (ticket.status, ticket.answer) == ("in_progress", None)
    assert loop.ports.settle_certificates(by="job:test").checked == 0


def test_the_scheduled_step_settles_once_the_site_signs(loop: Loop) -> None:
    ticket_id = loop.report(loop.b2)
    loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})
    assert loop.ticket(ticket_id).status == "awaiting_certificate"
    loop.sign("F001")  # e.g. through `certificates approve` on another machine
    since = len(ConsoleSms.sent)
    settled = loop.ports.settle_certificates(by="job:report.scheduler")
    assert settled.resolved == [ticket_id]
    assert loop.ticket(ticket_id).status == "resolved"
    assert CORRECTED in {d for s, d in loop.certificates().values() if s == "active"}
    assert any("new certificate issued" in m.text for m in list(ConsoleSms.sent)[since:])
    with transaction(loop.engine) as s:
        run = s.scalars(select(AuditEntry).where(AuditEntry.action == "feedback.ticket.settle_run")).one()
        resolved = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "feedback.ticket.resolved")).one()  # fmt: skip
    assert '"by":"job:report.scheduler"' in run.detail
    assert resolved.actor_id is None
    assert '"by":"job:report.scheduler"' in resolved.detail


def test_certificates_approve_at_the_command_line_settles_the_report(
    loop: Loop, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vaxlink.certificates.cli.app import app
    from vaxlink.settings import get_settings

    ticket_id = loop.report(loop.b2)
    loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})
    create_account(loop.engine, Role.SITE_APPROVER, f"ward:{WARD}", facility_code="F001",
                   username="approver.f001")  # holds F001's key (conftest's Pki)  # fmt: skip
    secret = loop.ports.settings.data_dir / "signing.txt"
    secret.write_text(SIGNING)
    secret.chmod(0o600)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(loop.ports.settings.data_dir))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["approve", "--facility", "F001", "--approver",
                                          "approver.f001", "--passphrase-file", str(secret)])  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, (result.output, result.exception)
    assert "1 citizen report(s) waiting for a certificate resolved" in result.output
    assert loop.ticket(ticket_id).status == "resolved"
    assert CORRECTED in {d for s, d in loop.certificates().values() if s == "active"}
    with transaction(loop.engine) as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "feedback.ticket.certificate_settled")).one()  # fmt: skip
    assert "as approver.f001 (approval #" in entry.detail


def test_the_reissue_changed_sweep_resolves_the_reports_whose_certificate_it_issued(
    loop: Loop, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vaxlink.certificates.cli.app import app
    from vaxlink.settings import get_settings

    ticket_id = loop.report(loop.b2)
    loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})
    loop.sign("F001")
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(loop.ports.settings.data_dir))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reissue-changed", "--by", "tester"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, (result.output, result.exception)
    assert "1 resolved, 0 still waiting" in result.output
    assert loop.ticket(ticket_id).status == "resolved"
    active = [d for s, d in loop.certificates().values() if s == "active"]
    assert active == [CORRECTED]


def test_the_web_app_settles_waiting_reports_in_the_background(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from fastapi.testclient import TestClient

    from vaxlink.web.app import create_app

    ticket_id = loop.report(loop.b2)
    loop.resolve(ticket_id, loop.b2, {"vaccination_date": CORRECTED})
    loop.sign("F001")  # signed elsewhere (another worker, the CLI): nothing settled it yet
    assert loop.ticket(ticket_id).status == "awaiting_certificate"
    monkeypatch.setenv("VAXLINK_REPORT_REFRESH_IN_APP", "true")
    app = create_app(loop.ports.settings, clock=loop.ports.clock)
    with TestClient(app):
        settler = app.state.certificate_settle
        assert settler is not None
        deadline = time.monotonic() + 60
        while loop.ticket(ticket_id).status != "resolved":
            assert time.monotonic() < deadline, "the background step did not settle the report"
            time.sleep(0.1)
    assert not settler.alive
    with transaction(loop.engine) as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "feedback.ticket.resolved")).one()  # fmt: skip
    assert '"by":"job:web.settle-certificates"' in entry.detail


def test_a_worklist_correction_is_reissued_once_its_site_signs_again(loop: Loop) -> None:
    """No report: a station corrects an approved booster's date on the worklist; the dose goes
    back to its site's queue, and the site's signature alone brings the certificate in line."""
    from vaxlink.cleaning import service as cleaning

    (old_uvci, _), = loop.certificates().items()
    with transaction(loop.engine) as s:
        dose = s.get(DoseRecord, loop.b2)
        assert dose is not None
        cleaning.correct_dose(s, loop.station.principal, loop.b2, expected_version=dose.version,
                              changes={"vaccination_date": CORRECTED}, reason="phiếu tiêm gốc",
                              registry=loop.ports.registry, model=loop.ports.link_model,
                              clock=loop.ports.clock)  # fmt: skip
    assert loop.certificates() == {old_uvci: ("active", B2.isoformat())}  # waits for F001
    approver = create_account(loop.engine, Role.SITE_APPROVER, f"ward:{WARD}",
                              facility_code="F001", username="approver.f001")  # fmt: skip
    with transaction(loop.engine) as s:
        signed = queue.sign(s, approver.principal, loop.ports.key_store, passphrase=SIGNING,
                            dose_ids=None, now=loop.ports.clock.now(),
                            secret=secret_of(loop.ports.settings))  # fmt: skip
        assert certificates.reapproved_people(s, signed.approval_id) == {CID}
        done = loop.ports.after_approval(s, approval_id=signed.approval_id,
                                         actor=approver.principal, by="approver")  # fmt: skip
    assert done.reissued == 1
    certs = loop.certificates()
    assert certs[old_uvci][0] == "revoked"
    (new,) = [u for u, (status, _) in certs.items() if status == "active"]
    assert certs[new] == ("active", CORRECTED)
    with transaction(loop.engine) as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "certificates.reissue_after_approval")).one()  # fmt: skip
        assert entry.actor_id == approver.user_id
        # signing the same site again changes nothing more
        assert certificates.reapproved_people(s, signed.approval_id + 1) == set()

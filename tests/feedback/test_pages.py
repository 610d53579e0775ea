"""The portal over HTTP (SQLite and PostgreSQL): identical answers, the code, reports, the loop."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.cleaning.entry_support import SIGNING
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import Certificate, issue_batch
from vaxlink.db import transaction
from vaxlink.feedback.models import Attachment, Ticket
from vaxlink.feedback.sms import ConsoleSms
from vaxlink.records.service import person_ref

from .conftest import Pki, World

CID = "001085012345"
PHONE = "0912345678"
CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def _citizen_client(staff: Any) -> TestClient:
    # not entered: the staff client's lifespan already holds the app's engine
    client = TestClient(staff.app)
    client.get("/c")
    return client


def _form(client: TestClient, **values: str) -> dict[str, str]:
    return {"csrf_token": client.cookies.get("vaxlink_csrf") or "", **values}


def _lookup(client: TestClient, cid: str, name: str, dob: str) -> Any:
    return client.post("/c/lookup", data=_form(client, id_number=cid, full_name=name,
                                               date_of_birth=dob), follow_redirects=False)  # fmt: skip


def _sms_after(since: int, phone: str = PHONE, contains: str = "") -> str:
    """The newest SMS to `phone` sent after the first `since` (they leave after the commit)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = [m.text for m in list(ConsoleSms.sent)[since:] if m.phone == phone]
        if sent and contains in sent[-1]:
            return sent[-1]
        time.sleep(0.02)
    raise AssertionError(f"no SMS to {phone} containing {contains!r}")


def _login(client: TestClient, cid: str = CID) -> None:
    since = len(ConsoleSms.sent)
    r = _lookup(client, cid, "Nguyễn Văn An", "14/03/1985")
    assert r.status_code == 303
    code = _sms_after(since, contains="Your code").split("Your code: ")[1]
    r = client.post("/c/code", data=_form(client, code=code), follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert r.headers["location"] == "/c/me"


@pytest.fixture
def setup(staff_client: Callable[..., Any], pki: Pki) -> tuple[Any, World]:
    station = staff_client(Role.HEALTH_STATION, "ward:00001")
    pki.save(station.app.state.settings.data_dir / "keys")
    return station, World(station.engine)


def _normalised(body: str) -> str:
    return CSRF.sub('name="csrf_token" value=""', body)


def test_answers_are_identical_whether_or_not_the_id_exists(setup: tuple[Any, World]) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    cases = [(CID, "Trần Thị Bình", "14/03/1985"), ("001099999999", "Trần Thị Bình", "14/03/1985"),
             (CID, "Nguyễn Văn An", "14/03/1985")]  # fmt: skip
    answers = []
    for cid, name, dob in cases:
        client = _citizen_client(station)
        r = _lookup(client, cid, name, dob)
        page = client.get("/c/code")
        answers.append((r.status_code, r.headers["location"], r.content, page.status_code,
                        _normalised(page.text)))  # fmt: skip
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 303
    assert PHONE[-2:] not in answers[0][4]


def test_timings_do_not_tell_existing_ids_apart(setup: tuple[Any, World]) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    client = _citizen_client(station)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(8):
        for label, cid in (("known", CID), ("unknown", f"0010999{i:05d}")):
            started = time.perf_counter()
            # a different client address per request keeps the address limit out of the way
            r = client.post("/c/lookup", data=_form(client, id_number=cid, full_name="Lê Văn C",
                            date_of_birth="01/01/1990"), follow_redirects=False,
                            headers={"X-Forwarded-For": f"10.0.0.{i}"})  # fmt: skip
            times[label].append(time.perf_counter() - started)
            assert r.status_code in (303, 429)
    known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
    assert max(known, unknown) / min(known, unknown) < 3.0, times  # generous: noise, not a leak


def test_code_flow_record_certificate_and_audit(setup: tuple[Any, World], pki: Pki) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    world.dose(CID, 2, dt.date(2021, 8, 30))
    client = _citizen_client(station)
    assert client.get("/c/me", follow_redirects=False).headers["location"] == "/c"
    _login(client)
    page = client.get("/c/me")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text
    assert "no-certificate" in page.text
    # approve and issue, then the certificate shows with its QR and downloads as PDF
    from vaxlink.certificates.service import approve_records

    with transaction(world.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=dt.datetime.now(dt.UTC))
    page = client.get("/c/certificate")
    assert 'id="certificate-qr" src="data:image/svg+xml;base64,' in page.text
    assert "Chứng nhận tiêm chủng" in page.text
    # again (from the page cache) and in English: each view is audited, the language is kept
    again = client.get("/c/certificate")
    assert again.text == page.text
    english = client.get("/c/certificate?lang=en")
    assert "Vaccination certificate" in english.text
    assert english.text.replace("Vaccination certificate", "") != page.text
    with transaction(world.engine) as s:
        ref = person_ref(s, CID)  # citizens are audited by reference, not ID number (#13)
        views = s.scalars(select(AuditEntry.seq).where(
            AuditEntry.object_id == ref, AuditEntry.action == "feedback.citizen.view_certificate"
        )).all()  # fmt: skip
        assert len(views) == 3
    pdf = client.get("/c/certificate.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    with transaction(world.engine) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.object_id == ref)).all()
        actions = {e.action for e in entries}
        assert {
            "feedback.citizen.login",
            "feedback.citizen.view_record",
            "feedback.citizen.view_certificate",
            "feedback.citizen.download_pdf",
        } <= actions
        assert all(e.actor_id is None for e in entries)
        assert not any("Nguy" in e.detail or "1985" in e.detail for e in entries)
    # the citizen cookie is HttpOnly and separate from the staff session
    r = client.post("/c/logout", data=_form(client), follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/c/me", follow_redirects=False).status_code == 303


def test_wrong_codes_then_lockout_page(setup: tuple[Any, World]) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    client = _citizen_client(station)
    statuses = []
    for _ in range(14):
        _lookup(client, CID, "Nguyễn Văn An", "14/03/1985")
        r = client.post("/c/code", data=_form(client, code="000000"))
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert 429 in statuses
    assert "Quá nhiều lần thử" in r.text


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


def _report(client: TestClient, files: list[tuple[str, bytes]], station: str = "home") -> Any:
    return client.post(
        "/c/report",
        data=_form(client, kind="dose_details", station=station, dose_id="",
                   description="Ngày tiêm mũi 2 bị ghi sai, đúng là 31/08/2021."),
        files=[("attachments", (name, data, "image/jpeg")) for name, data in files],
        follow_redirects=False,
    )  # fmt: skip


def test_attachments_are_checked_by_their_bytes(setup: tuple[Any, World]) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    client = _citizen_client(station)
    _login(client)
    html = _report(client, [("cccd.jpg", b"<html><script>alert(1)</script></html>")])
    exe = _report(client, [("cccd.jpg", b"MZ\x90\x00" + b"\x00" * 100)])
    big = _report(client, [("cccd.jpg", JPEG + b"\x00" * (5 * 1024 * 1024))])
    assert (html.status_code, exe.status_code, big.status_code) == (422, 422, 413)
    ok = _report(client, [("cccd.jpg", JPEG), ("giay.png", PNG)])
    assert ok.status_code == 303, ok.text[:300]
    with transaction(world.engine) as s:
        rows = s.scalars(select(Attachment)).all()
        assert sorted(r.content_type for r in rows) == ["image/jpeg", "image/png"]
        assert s.scalar(select(Ticket.status)) == "new"
    data_dir = station.app.state.settings.data_dir
    stored = list((data_dir / "feedback" / "attachments").iterdir())
    assert len(stored) == 2
    assert all(p.name.isalnum() and "." not in p.name for p in stored)
    assert not any((data_dir.parent / "static").glob("**/*"))


def test_station_corrects_the_site_signs_and_the_citizen_sees_the_new_certificate(
    setup: tuple[Any, World], pki: Pki, staff_client: Callable[..., Any]
) -> None:
    """The station's correction never signs for the site: the report awaits the certificate, the
    portal shows what is pending instead of a QR that disagrees with the record, and once the
    site's approver signs in the approval page the report is resolved with the new certificate."""
    station, world = setup
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    d2 = world.dose(CID, 2, dt.date(2021, 8, 30))
    from vaxlink.certificates.service import approve_records

    with transaction(world.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=dt.datetime.now(dt.UTC))
    client = _citizen_client(station)
    _login(client)
    old = re.search(r'id="certificate-uvci" translate="no">([^<]+)<', client.get("/c/me").text)
    assert old is not None
    # the certificate page is rendered once and then served from the per-certificate cache
    assert f'id="certificate-uvci" translate="no">{old[1]}<' in client.get("/c/certificate").text
    assert f'id="certificate-uvci" translate="no">{old[1]}<' in client.get("/c/certificate").text
    r = client.post("/c/report", data=_form(client, kind="dose_details", station="home",
                    dose_id=str(d2), description="Ngày tiêm mũi 2 đúng là 31/08/2021."),
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with transaction(world.engine) as s:
        ticket_id = s.scalar(select(Ticket.id))
    # another commune's station cannot open it
    other = staff_client(Role.HEALTH_STATION, "ward:00004")
    assert other.get(f"/staff/tickets/{ticket_id}").status_code == 403
    refused = other.post(f"/staff/tickets/{ticket_id}/resolve", data={"answer": "x"})
    assert refused.status_code == 403
    assert other.get(f"/staff/tickets/{ticket_id}/attachments/1").status_code == 403
    listing = station.get("/staff/tickets")
    assert f"#{ticket_id}" in listing.text
    page = station.get(f"/staff/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "30/08/2021" in page.text
    stale = station.post(f"/staff/tickets/{ticket_id}/resolve", data={
        "dose": f"{d2}@7", "vaccination_date": "2021-08-31", "answer": "x"})  # fmt: skip
    assert stale.status_code == 409
    assert 'id="ticket-error"' in stale.text
    with transaction(world.engine) as s:  # nothing of the refused step was kept
        assert s.scalar(select(Ticket.status).where(Ticket.id == ticket_id)) == "new"
    since = len(ConsoleSms.sent)
    r = station.post(f"/staff/tickets/{ticket_id}/resolve", data={
        "dose": f"{d2}@1", "vaccination_date": "2021-08-31",
        "reason": "phiếu tiêm gốc", "answer": "Đã sửa ngày tiêm mũi 2 và cấp lại chứng nhận.",
    }, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    with transaction(world.engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.status == "awaiting_certificate"
        certs = {c.uvci: c.status for c in s.scalars(select(Certificate))}
    assert certs == {old[1]: "active"}  # nothing signed for the site, nothing issued yet
    waiting_sms = _sms_after(since, contains=f"#{ticket_id}")
    assert "awaiting certificate" in waiting_sms
    assert "chung nhan moi" not in waiting_sms
    page = station.get(f"/staff/tickets/{ticket_id}").text
    assert 'id="ticket-pending"' in page
    assert "31/08/2021" in page
    # the portal: the corrected date in the record, and no QR that still says 30/08/2021
    me = client.get("/c/me").text
    assert "31/08/2021" in me
    assert 'id="certificate-qr"' not in me
    assert old[1] not in me
    assert 'id="certificate-updating"' in me
    assert "Mũi tiêm ngày 31/08/2021 đang chờ cơ sở tiêm F001 ký duyệt." in re.sub(r"<[^>]+>", "", me)
    assert "Đã sửa hồ sơ; chứng nhận mới đang chờ cơ sở tiêm ký duyệt" in me
    english = client.get("/c/me?lang=en").text
    assert "The dose of 31/08/2021 waits for the signature of site F001." in re.sub(r"<[^>]+>", "", english)
    certificate_page = client.get("/c/certificate").text
    assert 'id="certificate-qr"' not in certificate_page
    assert 'id="certificate-updating"' in certificate_page
    assert client.get("/c/certificate.pdf").status_code == 409
    # the vaccination site's approver signs its queue: the report settles
    approver = staff_client(Role.SITE_APPROVER, "ward:00001", facility_code="F001",
                            username="approver.f001")  # holds F001's key (conftest's Pki)
    queue = approver.get("/approval").text
    assert f'data-dose="{d2}"' in queue
    signed = approver.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING}, follow_redirects=False)
    assert signed.status_code == 303, signed.text[:300]
    with transaction(world.engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.status == "resolved"
        certs = {c.uvci: c.status for c in s.scalars(select(Certificate))}
    assert certs[old[1]] == "revoked"
    me = client.get("/c/me").text
    new = re.search(r'id="certificate-uvci" translate="no">([^<]+)<', me)
    assert new is not None
    assert new[1] != old[1]
    assert certs[new[1]] == "active"
    # the cached page of the revoked certificate is not served: the page shows the new one
    page = client.get("/c/certificate").text
    assert f'id="certificate-uvci" translate="no">{new[1]}<' in page
    assert old[1] not in page
    assert "31/08/2021" in me
    assert "Đã sửa ngày tiêm" in me
    assert 'id="certificate-updating"' not in me
    assert f"#{ticket_id}" in _sms_after(since, contains="da giai quyet, da cap chung nhan moi")


def test_a_certificate_still_true_but_behind_a_newer_unsigned_dose_is_shown_with_it_pending(
    setup: tuple[Any, World], pki: Pki
) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    world.dose(CID, 2, dt.date(2021, 8, 30))
    from vaxlink.certificates.service import approve_records

    with transaction(world.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=dt.datetime.now(dt.UTC))
    world.dose(CID, 3, dt.date(2022, 1, 10), facility="F002", category="booster")
    client = _citizen_client(station)
    _login(client)
    me = client.get("/c/me").text
    assert 'id="certificate-qr"' in me  # its facts are still those of the record's dose 2
    assert 'id="certificate-updating"' not in me
    assert 'id="certificate-newer"' in me
    shown = re.sub(r"<[^>]+>", "", me)  # the site's code is marked as data (translate="no")
    assert "Mũi tiêm ngày 10/01/2022 đang chờ cơ sở tiêm F002 ký duyệt." in shown
    assert client.get("/c/certificate.pdf").status_code == 200


def test_a_lookup_is_two_statements_or_one_transaction_of_four(setup: tuple[Any, World]) -> None:
    """The portal's busiest write stays lean (benchmarks/citizen_lookup_post_bench.py): one read
    (lockouts and the person), then on PostgreSQL one statement for every write, both in
    autocommit; on SQLite one upsert for the three lookup counters, one for the phone's, the
    challenge, and one commit. Matched or not, the same statements."""
    station, world = setup
    world.citizen(CID, phone=PHONE)
    client = _citizen_client(station)
    seen: list[str] = []

    def statement(*args: Any) -> None:
        seen.append(str(args[2]).lstrip().split()[0].upper())

    def commit(*_args: Any) -> None:
        seen.append("COMMIT")

    event.listen(station.engine, "before_cursor_execute", statement)
    event.listen(station.engine, "commit", commit)
    try:
        runs = []
        for name in ("Nguyễn Văn An", "Trần Thị Bình"):
            seen.clear()
            assert _lookup(client, CID, name, "14/03/1985").status_code == 303
            runs.append(list(seen))
    finally:
        event.remove(station.engine, "before_cursor_execute", statement)
        event.remove(station.engine, "commit", commit)
    if station.engine.dialect.name == "postgresql":
        assert runs[0] == runs[1] == ["SELECT", "WITH"]
    else:
        assert runs[0] == runs[1] == ["SELECT", "WITH", "INSERT", "INSERT", "COMMIT"]


def test_an_overlong_lookup_field_reads_as_missing(setup: tuple[Any, World]) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    client = _citizen_client(station)
    r = _lookup(client, CID, "Nguyễn Văn An " + "x" * 200, "14/03/1985")
    assert r.status_code == 422  # the form again, with the name's error (nobody was looked up)
    assert "Nhập họ và tên như trên căn cước." in r.text
    assert "x" * 200 not in r.text

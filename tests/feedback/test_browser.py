"""The citizen portal in Chromium at phone width (390×844): look up, report, the station fixes it,
the site signs, the citizen sees the new certificate; and the abuse cases (guessed codes,
disguised files)."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cleaning.entry_support import SIGNING
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import approve_records, issue_batch
from vaxlink.db import transaction
from vaxlink.feedback.sms import ConsoleSms

from ..web_support import login
from .conftest import Pki, World

pytestmark = pytest.mark.browser

CID, PHONE = "001085012345", "0912345678"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 500


def _code_after(since: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = [m for m in list(ConsoleSms.sent)[since:] if m.phone == PHONE]
        if sent:
            return sent[-1].text.split("Your code: ")[1]
        time.sleep(0.05)
    raise AssertionError("no code was sent")


def _look_up(page: Any, base: str) -> None:
    page.goto(f"{base}/c")
    page.fill("input[name=id_number]", CID)
    page.fill("input[name=full_name]", "nguyen van an")
    page.fill("input[name=date_of_birth]", "14/03/1985")
    with page.expect_navigation():
        page.click("#lookup-form button[type=submit]")


def _world(live_server: Any, pki: Pki) -> tuple[World, int]:
    pki.save(live_server.settings.data_dir / "keys")
    world = World(live_server.engine)
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    d2 = world.dose(CID, 2, dt.date(2021, 8, 30))
    with transaction(live_server.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(live_server.engine, pki.dsc, issuer_name="Bộ Y tế", by="test",
                now=dt.datetime.now(dt.UTC))  # fmt: skip
    return world, d2


def _qr_text(phone_page: Any) -> str:
    """The HC1 text of the QR the page shows, read back from its pixels (a screenshot of the
    image, decoded with the project's own QR reader)."""
    from vaxlink.certificates.service import read_qr

    return read_qr(phone_page.locator("#certificate-qr").screenshot())


def _attested_date(live_server: Any, pki: Pki, hc1: str) -> str:
    """The vaccination date the certificate attests, once it verifies against the test DSC."""
    from vaxlink.certificates.service import InMemoryTrustList, verify

    verified = verify(hc1, InMemoryTrustList([pki.dsc.certificate]),
                      clock=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))  # fmt: skip
    assert verified.payload is not None
    return str(verified.payload["v"][0]["dt"])


def test_lookup_report_fix_sign_and_new_certificate_on_a_phone(
    live_server: Any, make_user: Any, phone_page: Any, page: Any, pki: Pki, tmp_path: Path
) -> None:
    """A citizen reports a wrong date; the station corrects it (never signing for the site), the
    portal says the certificate waits for the site instead of showing the old QR, the site's
    approver signs in the approval page, and the QR then carries the corrected date.

    The approval page is filled in at "the site's approver signs" below (`#select-all`, the
    approver's `#signing-passphrase`, `#sign-selected`)."""
    base = live_server.url
    _world(live_server, pki)
    since = len(ConsoleSms.sent)
    _look_up(phone_page, base)
    assert phone_page.url.endswith("/c/code")
    phone_page.fill("input[name=code]", _code_after(since))
    with phone_page.expect_navigation():
        phone_page.click("#code-form button[type=submit]")
    assert phone_page.url.endswith("/c/me")
    assert phone_page.locator("#certificate-qr").is_visible()
    old_uvci = phone_page.inner_text("#certificate-uvci")
    assert _attested_date(live_server, pki, _qr_text(phone_page)) == "2021-08-30"
    # fits the phone: no horizontal scrolling
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    with phone_page.expect_download() as download:
        phone_page.click("#certificate-pdf")
    assert download.value.path().read_bytes().startswith(b"%PDF")

    phone_page.click("#report-link")
    phone_page.select_option("select[name=kind]", "dose_details")
    phone_page.select_option("select[name=dose_id]", index=2)
    phone_page.select_option("select[name=station]", "home")
    phone_page.fill("textarea[name=description]", "Ngày tiêm mũi 2 bị ghi sai, đúng là 31/08/2021.")
    photo = tmp_path / "giay-chung-nhan.jpg"
    photo.write_bytes(JPEG)
    phone_page.set_input_files("input[name=attachments]", str(photo))
    with phone_page.expect_navigation():
        phone_page.click("#report-form button[type=submit]")
    notice = phone_page.inner_text("#reported")
    ticket_id = re.search(r"#(\d+)", notice)
    assert ticket_id is not None

    # the station corrects the date
    station = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    login(page, base, station, next_path="/staff/tickets")
    page.goto(f"{base}/staff/tickets")
    page.click(f"a[href='/staff/tickets/{ticket_id[1]}']")
    assert "30/08/2021" in page.inner_text("#ticket-doses")
    page.fill("#resolve-form input[name=vaccination_date]", "2021-08-31")
    page.fill("#resolve-form input[name=reason]", "Phiếu tiêm gốc ghi 31/08/2021")
    page.fill(
        "#resolve-form textarea[name=answer]", "Đã sửa ngày tiêm mũi 2, chứng nhận mới đã cấp."
    )
    with page.expect_navigation():
        page.click("#resolve")
    assert "chờ cơ sở tiêm ký duyệt" in page.inner_text("#ticket-status")
    assert "31/08/2021" in page.inner_text("#ticket-pending")

    # the citizen sees the corrected record and what the certificate waits for, not the old QR
    phone_page.goto(f"{base}/c/me")
    assert "31/08/2021" in phone_page.inner_text("#doses")
    assert phone_page.locator("#certificate-qr").count() == 0
    assert phone_page.locator("#certificate-pdf").count() == 0
    pending = phone_page.inner_text("#certificate-pending")
    assert "Mũi tiêm ngày 31/08/2021 đang chờ cơ sở tiêm F001 ký duyệt." in pending
    assert "chờ cơ sở tiêm ký duyệt" in phone_page.inner_text("#my-reports")
    assert "Đã giải quyết" not in phone_page.inner_text("#my-reports")

    # the site's approver signs the corrected dose in the approval page
    page.context.clear_cookies()
    approver = make_user(live_server.engine, Role.SITE_APPROVER, "ward:00001",
                         facility_code="F001", username="approver.f001")  # fmt: skip
    login(page, base, approver, next_path="/approval")
    page.goto(f"{base}/approval")
    assert "31/08/2021" in page.inner_text("#queue")
    page.check("#select-all")
    page.fill("#signing-passphrase", SIGNING)  # the approver's own passphrase unlocks F001's key
    page.click("#sign-selected")
    page.wait_for_selector("#manifest-valid")

    # the report is resolved and the portal's QR carries the corrected date
    phone_page.goto(f"{base}/c/me")
    reports = phone_page.inner_text("#my-reports")
    assert "Đã giải quyết" in reports
    assert "chứng nhận mới đã cấp" in reports
    assert phone_page.locator("#certificate-qr").is_visible()
    new_uvci = phone_page.inner_text("#certificate-uvci")
    assert new_uvci != old_uvci
    hc1 = _qr_text(phone_page)
    assert _attested_date(live_server, pki, hc1) == "2021-08-31"
    with transaction(live_server.engine) as s:
        from sqlalchemy import select

        from vaxlink.certificates.models import Certificate

        assert s.scalar(select(Certificate.hc1).where(Certificate.uvci == new_uvci)) == hc1
    phone_page.goto(f"{base}/c/certificate")
    assert _attested_date(live_server, pki, _qr_text(phone_page)) == "2021-08-31"


def test_guessing_codes_locks_out_and_disguised_files_are_refused(
    live_server: Any, phone_page: Any, pki: Pki, tmp_path: Path
) -> None:
    base = live_server.url
    _world(live_server, pki)
    locked = False
    for _ in range(4):
        _look_up(phone_page, base)
        for _ in range(5):
            if phone_page.locator("#code-form").count() == 0:
                break
            phone_page.fill("input[name=code]", "000000")
            with phone_page.expect_navigation():
                phone_page.click("#code-form button[type=submit]")
            if phone_page.locator("#locked").count():
                locked = True
                break
        if locked:
            break
    assert locked
    assert "Quá nhiều lần thử" in phone_page.inner_text("#locked")

    # lift the lockout (as its hour passing would) and check the file checks, in English
    with transaction(live_server.engine) as s:
        from sqlalchemy import delete

        from vaxlink.ratelimit.models import RateCounter

        s.execute(delete(RateCounter))
    since = len(ConsoleSms.sent)
    _look_up(phone_page, base)
    phone_page.fill("input[name=code]", _code_after(since))
    with phone_page.expect_navigation():
        phone_page.click("#code-form button[type=submit]")
    phone_page.goto(f"{base}/c/report?lang=en")
    fake = tmp_path / "cccd.jpg"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    phone_page.fill("textarea[name=description]", "My name is misspelt on the record.")
    phone_page.set_input_files("input[name=attachments]", str(fake))
    with phone_page.expect_navigation():
        phone_page.click("#report-form button[type=submit]")
    assert "JPEG or PNG" in phone_page.inner_text("#report-error")
    big = tmp_path / "big.jpg"
    big.write_bytes(JPEG + b"\x00" * (6 * 1024 * 1024))
    phone_page.fill("textarea[name=description]", "My name is misspelt on the record.")
    phone_page.set_input_files("input[name=attachments]", str(big))
    with phone_page.expect_navigation():
        phone_page.click("#report-form button[type=submit]")
    assert "larger than" in phone_page.inner_text("#report-error")

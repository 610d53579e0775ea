"""The citizen portal in Chromium at phone width (390×844): look up, report, the station fixes it,
the citizen sees the new certificate; and the abuse cases (guessed codes, disguised files)."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest

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


def test_lookup_report_fix_and_new_certificate_on_a_phone(
    live_server: Any, make_user: Any, phone_page: Any, page: Any, pki: Pki, tmp_path: Path
) -> None:
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

    station = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    login(page, base, station, next_path="/staff/tickets")
    page.goto(f"{base}/staff/tickets")
    page.click(f"a[href='/staff/tickets/{ticket_id[1]}']")
    assert "2021-08-30" in page.inner_text("#ticket-doses")
    page.fill("#resolve-form input[name=vaccination_date]", "2021-08-31")
    page.fill("#resolve-form input[name=reason]", "Phiếu tiêm gốc ghi 31/08/2021")
    page.fill(
        "#resolve-form textarea[name=answer]", "Đã sửa ngày tiêm mũi 2, chứng nhận mới đã cấp."
    )
    with page.expect_navigation():
        page.click("#resolve")
    assert "Đã giải quyết" in page.inner_text("#ticket-status")

    phone_page.goto(f"{base}/c/me")
    new_uvci = phone_page.inner_text("#certificate-uvci")
    assert new_uvci != old_uvci
    assert "31/08/2021" in phone_page.inner_text("#doses")
    reports = phone_page.inner_text("#my-reports")
    assert "Đã giải quyết" in reports
    assert "chứng nhận mới đã cấp" in reports


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

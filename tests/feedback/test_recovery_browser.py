"""In Chromium: the station enters a recovery on /recovery, the issuer signs it, and the citizen,
on a phone, sees the recovery certificate beside the vaccination one; the QR on the screen, read
from a screenshot, verifies with the project's verifier as the stored certificate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from vaxlink.auth.roles import Role
from vaxlink.certificates.service import Certificate, InMemoryTrustList, KeyStore, read_qr, verify
from vaxlink.certificates.service import Role as KeyRole
from vaxlink.db import transaction
from vaxlink.feedback.sms import ConsoleSms

from ..web_support import login
from .conftest import Pki
from .test_browser import CID, _code_after, _look_up, _world
from .test_recovery_portal import issue_recovery

pytestmark = pytest.mark.browser


def test_station_enters_and_the_citizen_sees_the_recovery_on_a_phone(
    live_server: Any, make_user: Any, page: Any, phone_page: Any, pki: Pki
) -> None:
    base = live_server.url
    _world(live_server, pki)  # CID, vaccinated and issued
    station = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    login(page, base, station, next_path="/recovery")
    page.goto(f"{base}/recovery")
    page.fill("#recovery-id", CID)
    positive = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).date()
    page.fill("#recovery-date", positive.isoformat())
    with page.expect_navigation():
        page.click("#recovery-go")
    assert page.locator("#recovery-done").is_visible()
    keys = live_server.settings.data_dir / "keys"
    issue_recovery(live_server.engine, pki, keys)
    with transaction(live_server.engine) as s:
        certificate = s.scalars(select(Certificate).where(
            Certificate.citizen_id == CID, Certificate.kind == "r")).one()  # fmt: skip
        uvci, hc1 = certificate.uvci, certificate.hc1

    since = len(ConsoleSms.sent)
    _look_up(phone_page, base)
    phone_page.fill("input[name=code]", _code_after(since))
    with phone_page.expect_navigation():
        phone_page.click("#code-form button[type=submit]")
    assert phone_page.url.endswith("/c/me")
    assert phone_page.locator("#certificate-qr").is_visible()
    assert phone_page.locator("#recovery-qr").is_visible()
    assert phone_page.inner_text("#recovery-uvci") == uvci
    assert phone_page.inner_text("#recovery-first-positive") == positive.strftime("%d/%m/%Y")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    shown = read_qr(phone_page.locator("#recovery-qr").screenshot())
    assert shown == hc1
    trust = InMemoryTrustList(KeyStore(keys).certificates(KeyRole.DSC))  # the published DSCs
    verified = verify(shown, trust, clock=dt.datetime.now(dt.UTC))
    assert verified.payload is not None
    assert verified.payload["r"][0]["ci"] == uvci

    with phone_page.expect_download() as download:
        phone_page.click("#recovery-pdf")
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == "chung-nhan-khoi-benh.pdf"

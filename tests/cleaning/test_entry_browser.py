"""Dose entry and approval in headless Chromium: a phone types an ID, records a dose and must
acknowledge a too-short interval; a photo of the chip-card QR identifies the person; the camera
(a fake video device showing the card's QR) is read by the vendored zxing-wasm reader; the site
approver selects doses, signs, and sees the approval."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from tests.cleaning.entry_support import (
    SIGNING,
    add_citizen,
    add_dose,
    chip_png,
    chip_text,
    facility_keys,
)
from tests.web_support import CHROMIUM, CHROMIUM_ARGS, login
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import ApprovalState, approval_state
from vaxlink.records.models import DoseRecord

pytestmark = pytest.mark.browser
CID = "001085012345"


def test_phone_types_id_records_dose_and_acknowledges_short_interval(
    live_server, make_user, phone_page
) -> None:
    page = phone_page
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    add_citizen(live_server.engine)
    add_dose(live_server.engine, CID, dt.date.today() - dt.timedelta(days=10), facility="F009")
    login(page, live_server.url, account, next_path="/entry")
    assert page.url.endswith("/entry")
    page.fill("#id-number", CID)
    page.click("#id-check")
    page.wait_for_selector("#person")
    assert page.inner_text("#person-name") == "Nguyễn Văn An"
    assert "Phúc Xá" in page.inner_text("#person-address")
    assert "F009" in page.inner_text("#history")
    # the form is pre-filled from the history: primary dose 2 of Pfizer, today
    assert page.input_value("#sequence") == "2"
    assert page.input_value("#vaccine") == "Comirnaty"
    page.fill("#lot", "FK1234")
    page.click("#record")
    page.wait_for_selector("#schedule-warnings")
    warning = page.locator("label.warning[data-code=interval_too_short]")
    assert "tối thiểu 21 ngày" in warning.inner_text()
    page.click("#record")  # the browser refuses: the acknowledgement box is required
    assert page.locator("#schedule-warnings").is_visible()
    warning.locator("input").check()
    page.click("#record")
    page.wait_for_selector("#recorded")
    assert "Đã xác thực" in page.inner_text("#record-status")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone
    with live_server.session() as s:
        record = s.scalars(select(DoseRecord).where(DoseRecord.lot_number == "FK1234")).one()
        assert (record.status, record.dose_number, record.facility_code) == ("verified", 2, "F001")
        assert record.warnings == "schedule warning acknowledged: interval_too_short"


def test_photo_upload_of_the_chip_qr_identifies(
    live_server, make_user, phone_page, tmp_path
) -> None:
    page = phone_page
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    add_citizen(live_server.engine)
    photo = tmp_path / "card.png"
    photo.write_bytes(chip_png(chip_text()))
    login(page, live_server.url, account, next_path="/entry")
    page.set_input_files("#photo", str(photo))
    page.click("#photo-send")
    page.wait_for_selector("#person")
    assert page.inner_text("#person-name") == "Nguyễn Văn An"
    assert page.locator("#card-mismatch").count() == 0


def _fits_a_phone(page: Any) -> None:
    """No sideways scrolling at 390 px, and every tab of the menu is on screen (none clipped)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tabs = page.locator("nav.menu a")
    assert tabs.count() >= 1
    for i in range(tabs.count()):
        box = tabs.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= 390, box


def test_keyboard_wedge_scan_with_nothing_focused_identifies(
    live_server, make_user, phone_page
) -> None:
    """A USB scanner types the card's QR text a few ms a key and presses Enter: the page routes
    the burst to the chip-QR path, whatever has focus."""
    page = phone_page
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    add_citizen(live_server.engine)
    login(page, live_server.url, account, next_path="/entry")
    page.wait_for_selector("#wedge-hint", state="visible")
    assert not page.locator("#scan-stop").is_visible()  # only once scanning has started
    assert not page.locator("#wedge-status").is_visible()
    _fits_a_phone(page)
    page.keyboard.type(chip_text(), delay=5)
    page.keyboard.press("Enter")
    page.wait_for_selector("#person")
    assert page.inner_text("#person-name") == "Nguyễn Văn An"
    assert page.locator('input[name=source][value="chip_qr"]').count() == 1
    assert page.locator("#card-mismatch").count() == 0
    _fits_a_phone(page)


def test_keyboard_wedge_into_the_id_field_shows_card_and_registry_side_by_side(
    live_server, make_user, page
) -> None:
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    add_citizen(live_server.engine)
    login(page, live_server.url, account, next_path="/entry")
    page.click("#id-number")  # the scan lands in the ID field, as it does at a real desk
    page.keyboard.type(chip_text(name="Nguyễn Văn Anh"), delay=5)
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-compare")
    row = page.locator('#card-compare tr[data-field="full_name"]')
    assert row.locator("td.on-card").inner_text() == "Nguyễn Văn Anh"
    assert row.locator("td.in-registry").inner_text() == "Nguyễn Văn An"
    assert page.locator("#card-compare tbody tr").count() == 1
    assert "Trên thẻ" in page.inner_text("#card-compare thead")


def test_slow_typing_is_not_taken_for_a_scan(live_server, make_user, page) -> None:
    """A person typing (100 ms a key) keeps what they typed in the ID field."""
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    login(page, live_server.url, account, next_path="/entry")
    page.click("#id-number")
    page.keyboard.type("0010|85012345|x|y", delay=100)
    assert page.input_value("#id-number") == "0010|85012345|x|y"
    assert page.locator("#wedge-status").is_hidden()


def _y4m(png: bytes, path: Path, frames: int = 10) -> Path:
    """A Y4M video (the format Chromium's fake camera reads) showing the image, grey chroma."""
    image = Image.open(io.BytesIO(png)).convert("L")
    canvas = Image.new("L", (640, 480), 255)
    image.thumbnail((440, 440))
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def camera_page(browser: Any, tmp_path: Path) -> Any:
    """A phone page whose camera films the chip card's QR (Chromium's fake capture device)."""
    video = _y4m(chip_png(chip_text(), scale=5), tmp_path / "card.y4m")
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, permissions=["camera"])  # fmt: skip
    try:
        yield context.new_page()
    finally:
        context.close()
        chromium.close()


def test_camera_scan_reads_the_card_with_the_vendored_reader(
    live_server, make_user, camera_page
) -> None:
    page = camera_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
    add_citizen(live_server.engine)
    login(page, live_server.url, account, next_path="/entry")
    page.wait_for_selector("#scan-start", state="visible")
    page.click("#scan-start")
    page.wait_for_selector("#person", timeout=30_000)
    assert page.inner_text("#person-name") == "Nguyễn Văn An"
    assert page.locator('input[name=source][value="chip_qr"]').count() == 1
    assert all(u.startswith(live_server.url) for u in requests), "nothing loads from elsewhere"
    assert any(u.endswith("/static/vendor/zxing-wasm/zxing_reader.wasm") for u in requests)


def test_page_works_without_javascript(live_server, make_user, browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        account = make_user(live_server.engine, Role.HEALTH_STATION, facility_code="F001")
        add_citizen(live_server.engine)
        login(page, live_server.url, account, next_path="/entry")
        assert not page.locator("#scan").is_visible()  # the camera needs JS; typing does not
        page.fill("#id-number", CID)
        page.click("#id-check")
        page.wait_for_selector("#person")
        assert page.inner_text("#person-name") == "Nguyễn Văn An"
    finally:
        context.close()


def test_approver_selects_doses_and_signs(live_server, make_user, page) -> None:
    account = make_user(live_server.engine, Role.SITE_APPROVER, facility_code="F-TEST")
    facility_keys(live_server.settings.data_dir, "F-TEST", holders=[account.username])
    add_citizen(live_server.engine)
    ids = [add_dose(live_server.engine, CID, dt.date(2021, 8, 2) + dt.timedelta(days=28 * i),
                    facility="F-TEST", dose_number=i + 1) for i in range(3)]  # fmt: skip
    login(page, live_server.url, account, next_path="/approval")
    assert page.locator("#queue tbody tr").count() == 3
    page.check(f"#dose-{ids[0]}")
    page.check(f"#dose-{ids[2]}")
    page.fill("#signing-passphrase", SIGNING)
    page.click("#sign-selected")
    page.wait_for_selector("#manifest-valid")
    assert "Chữ ký hợp lệ" in page.inner_text("#manifest-valid")
    assert page.inner_text("#manifest-count") == "2"
    page.goto(live_server.url + "/approval")
    assert page.locator("#queue tbody tr").count() == 1
    page.check("#select-all")  # the page's "select all" (JS) ticks the rest
    assert page.is_checked(f"#dose-{ids[1]}")
    page.fill("#signing-passphrase", SIGNING)
    page.click("#sign-selected")
    page.wait_for_selector("#manifest-valid")
    page.goto(live_server.url + "/approval")
    assert page.locator("#approval-empty").is_visible()
    with live_server.session() as s:
        assert {approval_state(s, i) for i in ids} == {ApprovalState.APPROVED}

"""The verifier page's form after a refusal and its photo control (#fixes-1): the pasted text comes
back in the text box (escaped, capped at the longest text a QR code holds) so the border officer
can correct it; the photo control is labelled in the page's language, not the browser's."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from vaxlink.certificates.core.hc1 import MAX_TEXT_LENGTH
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

TEXTAREA = re.compile(r"<textarea name=\"hc1\"[^>]*>(.*?)</textarea>", re.S)


@pytest.fixture
def client(tmp_path) -> Any:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    with TestClient(app) as test_client:
        yield test_client


def _box(page: str) -> str:
    found = TEXTAREA.search(page)
    assert found, "the page has no hc1 text box"
    return html.unescape(found.group(1))


def test_a_refused_text_comes_back_escaped(client: TestClient) -> None:
    assert _box(client.get("/verify").text) == ""
    typed = 'HC1:6BF<script>alert("x")</script>&amp; NCF'
    refused = client.post("/verify", data={"hc1": typed, "lang": "vi"})
    assert "KHÔNG HỢP LỆ" in refused.text
    assert "<script>alert" not in refused.text  # escaped, not markup
    assert _box(refused.text) == typed
    assert refused.headers["cache-control"] == "no-store"


def test_a_refused_text_comes_back_capped(client: TestClient) -> None:
    long = "HC1:" + "A" * (3 * MAX_TEXT_LENGTH)
    refused = client.post("/verify?lang=en", data={"hc1": long, "lang": "en"})
    assert "NOT VALID" in refused.text
    assert _box(refused.text) == long[:MAX_TEXT_LENGTH]


def test_a_photo_alone_leaves_the_box_empty(client: TestClient) -> None:
    refused = client.post(
        "/verify?lang=en", data={"lang": "en"}, files={"image": ("qr.png", b"nope", "image/png")}
    )
    assert "NOT VALID" in refused.text
    assert _box(refused.text) == ""


@pytest.mark.parametrize(
    ("lang", "choose", "none"),
    [("vi", "Chọn hoặc chụp ảnh…", "Chưa chọn ảnh nào."),
     ("en", "Choose or take a photo…", "No photo chosen.")],
)  # fmt: skip
def test_the_photo_control_is_labelled_in_the_pages_language(
    client: TestClient, lang: str, choose: str, none: str
) -> None:
    page = client.get(f"/verify?lang={lang}").text
    assert f'<label for="photo" class="button secondary" id="photo-choose">{choose}</label>' in page
    assert none in page
    assert 'class="file-pick"' in page


@pytest.mark.browser
def test_in_an_english_browser_the_form_speaks_vietnamese(live_server, browser) -> None:
    """Chromium in English: the native "Choose File" control is hidden (1 px, still focusable),
    the label in the page's language opens it and the chosen file's name shows; after a refusal
    the text is back in the box."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/verify")
        native = page.locator("input[type=file][name=image]")
        box = native.bounding_box()
        assert box is not None
        assert box["width"] <= 1
        assert box["height"] <= 1
        assert page.locator("#photo-choose").is_visible()
        assert page.locator("#photo-choose").inner_text() == "Chọn hoặc chụp ảnh…"
        assert page.locator("#photo-none").is_visible()
        with page.expect_file_chooser() as chooser:
            page.click("#photo-choose")
        chooser.value.set_files({"name": "ma-qr.png", "mimeType": "image/png", "buffer": b"x"})
        assert page.locator("#photo-name").inner_text() == "ma-qr.png"
        assert page.locator("#photo-none").is_hidden()
        page.focus("input[type=file][name=image]")  # reachable from the keyboard
        page.fill("textarea[name=hc1]", "HC1:NOT-A-CERTIFICATE")
        page.set_input_files("input[type=file][name=image]", [])
        with page.expect_navigation():
            page.click("form button[type=submit]")
        assert page.locator("#verdict").count() == 1
        assert page.input_value("textarea[name=hc1]") == "HC1:NOT-A-CERTIFICATE"
    finally:
        context.close()

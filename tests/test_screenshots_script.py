"""scripts/screenshots.py shoots the pages as a reader in Vietnam sees them (#fixes-3): its
browser, launched as the script launches it, draws a date field as dd/mm/yyyy (typing 25, 12,
2026 gives 25 December 2026) and keeps Vietnam's time zone."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.web_support import CHROMIUM

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "screenshots.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_screenshots_browser_types_dates_day_first() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    script = _script()
    with sync_playwright() as p:
        browser = script.launch(p)
        try:
            page = browser.new_context(**script.CONTEXT).new_page()
            page.set_content('<html lang="vi"><body><input type="date" id="d"></body></html>')
            page.focus("#d")  # its first part: the day in dd/mm/yyyy, the month in mm/dd/yyyy
            page.keyboard.type("25122026")
            assert page.input_value("#d") == "2026-12-25"  # day, month, year: dd/mm/yyyy
            zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
            assert zone in ("Asia/Ho_Chi_Minh", "Asia/Saigon")
            assert page.evaluate("navigator.language") == "vi-VN"
        finally:
            browser.close()

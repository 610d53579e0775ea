"""scripts/screenshots.py shoots the pages as a reader in Vietnam sees them (#fixes-3): its
browser, launched as the script launches it, draws a date field as dd/mm/yyyy (typing 25, 12,
2026 gives 25 December 2026) and keeps Vietnam's time zone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web_support import CHROMIUM

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "screenshots.py"


#: Run in a child process: the test session's own Playwright (tests.web_support's session
#: browser) may be running in this thread, and a second sync Playwright cannot start beside it.
_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("screenshots_script", sys.argv[1])
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    browser = script.launch(p)
    try:
        page = browser.new_context(**script.CONTEXT).new_page()
        page.set_content('<html lang="vi"><body><input type="date" id="d"></body></html>')
        page.focus("#d")  # its first part: the day in dd/mm/yyyy, the month in mm/dd/yyyy
        page.keyboard.type("25122026")
        print(json.dumps({
            "value": page.input_value("#d"),
            "zone": page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone"),
            "language": page.evaluate("navigator.language"),
        }))
    finally:
        browser.close()
"""


def test_the_screenshots_browser_types_dates_day_first() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(SCRIPT)], capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["value"] == "2026-12-25"  # day, month, year: dd/mm/yyyy
    assert seen["zone"] in ("Asia/Ho_Chi_Minh", "Asia/Saigon")
    assert seen["language"] == "vi-VN"

# ruff: noqa: S603 - runs this checkout's own vaxlink executable
"""Screenshots of every main page, on a desktop and on a phone, for the README and
docs/screenshots.md: a small demo store, the app under uvicorn, Debian's Chromium driven by
Playwright. Writes docs/screenshots/<page>-desktop.png and <page>-phone.png.

    .venv/bin/python scripts/screenshots.py            # ~4 minutes on a quiet 2-core machine

Nothing here runs in CI; the PNGs are documentation, made again when the pages change.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
VAXLINK = str(ROOT / ".venv" / "bin" / "vaxlink")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
PASSWORD = "screenshots-" + os.urandom(6).hex()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: (user name, role, level of the demo commune's unit, works at the commune's site)
ROLES: tuple[tuple[str, str, str, bool], ...] = (
    ("shot.police", "commune_police", "ward", False),
    ("shot.station", "health_station", "ward", True),
    ("shot.province", "provincial_cdc", "province", False),
    ("shot.issuer", "national_issuer", "nation", False),
    ("shot.admin", "admin", "nation", False),
)
#: name -> TOTP secret of the accounts that need a second factor
SECRETS: dict[str, str] = {}


def _accounts(data_dir: Path) -> None:
    """One account per role around the demo's busiest commune, with a known password; the demo's
    site approver (who holds the site's signing key) gets the same password."""
    import datetime as dt

    from vaxlink.auth import service, totp
    from vaxlink.auth.demo import SITE_APPROVER, busiest_ward
    from vaxlink.auth.models import User
    from vaxlink.auth.roles import SECOND_FACTOR_ROLES, Role
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.geo.codes import Level, UnitKey
    from vaxlink.geo.index import UnitIndex
    from vaxlink.settings import Settings

    settings = Settings(data_dir=data_dir)
    engine = engine_from_settings(settings)
    now = dt.datetime.now(dt.UTC)
    with transaction(engine) as s:
        found = busiest_ward(s)
        assert found, "the demo store has no doses"
        ward, site = found
        path = {k.level: k for k in UnitIndex.for_version().path(UnitKey(Level.WARD, ward))}
        for name, role_name, level, at_site in ROLES:
            role = Role(role_name)
            unit = "VN" if level == "nation" else path[Level(level)]
            user = service.create_user(s, username=name, password=PASSWORD, role=role, unit=unit,
                                       facility_code=site if at_site else None, now=now)  # fmt: skip
            if role in SECOND_FACTOR_ROLES:
                SECRETS[name] = totp.enrol_now(user, now=now, key=totp.key_of(settings))
        approver = s.scalars(select(User).where(User.username == SITE_APPROVER)).one()
        service.set_password(s, approver, PASSWORD, now=now)
    engine.dispose()


def _citizen(data_dir: Path) -> tuple[str, str, str, str]:
    """(ID, full name, dd/mm/yyyy, HC1) of a citizen with a certificate and a phone on record."""
    from vaxlink.certificates.service import Certificate
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.registry.models import Citizen
    from vaxlink.settings import Settings

    engine = engine_from_settings(Settings(data_dir=data_dir))
    with transaction(engine) as s:
        row = s.execute(
            select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth, Certificate.hc1)
            .join(Certificate, Certificate.citizen_id == Citizen.citizen_id)
            .where(Citizen.phone.is_not(None), Citizen.dob_precision == "day")
            .order_by(Citizen.citizen_id)
            .limit(1)
        ).one()
    engine.dispose()
    y, m, d = row[2].split("-")
    return row[0], row[1], f"{d}/{m}/{y}", row[3]


def _login(page: Page, base: str, username: str) -> None:
    import pyotp

    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    if username in SECRETS:  # the issuer and the administrator: the code step
        page.fill("input[name=code]", pyotp.TOTP(SECRETS[username]).now())
        page.click("#totp-form button[type=submit]")
        page.wait_for_load_state("networkidle")


def _shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"  docs/screenshots/{name}.png", flush=True)


def _staff_pages(page: Page, base: str, suffix: str, citizen_id: str) -> None:
    """Every main staff page, each role on its own pages, shot as `<page>-<suffix>.png`."""
    page.goto(f"{base}/login")
    _shot(page, f"login-{suffix}")
    _login(page, base, "shot.police")
    _shot(page, f"home-{suffix}")
    page.goto(f"{base}/worklist")
    _shot(page, f"worklist-{suffix}")
    first = page.locator("a[href^='/worklist/doses/']").first
    if first.count():
        first.click()
        _shot(page, f"worklist-detail-{suffix}")
    page.goto(f"{base}/worklist/import")
    _shot(page, f"worklist-import-{suffix}")
    _login(page, base, "shot.station")
    page.goto(f"{base}/entry")
    _shot(page, f"entry-{suffix}")
    page.fill("#id-form input[name=id_number]", citizen_id)
    page.click("#id-check")
    _shot(page, f"entry-person-{suffix}")
    page.goto(f"{base}/staff/tickets?show=all")
    _shot(page, f"tickets-{suffix}")
    ticket = page.locator("a[href^='/staff/tickets/']").first
    if ticket.count():
        ticket.click()
        _shot(page, f"ticket-{suffix}")
    page.goto(f"{base}/recovery")
    _shot(page, f"recovery-{suffix}")
    _login(page, base, "demo.duyet")
    page.goto(f"{base}/approval")
    _shot(page, f"approval-{suffix}")
    page.goto(f"{base}/approval/manifests")
    _shot(page, f"approval-manifests-{suffix}")
    _login(page, base, "shot.province")
    page.goto(f"{base}/dashboard")
    page.wait_for_timeout(1500)  # the charts animate in
    _shot(page, f"dashboard-{suffix}")
    page.goto(f"{base}/reports")
    _shot(page, f"reports-{suffix}")
    _login(page, base, "shot.issuer")
    page.goto(f"{base}/issuer")
    _shot(page, f"issuer-{suffix}")
    _login(page, base, "shot.admin")
    page.goto(f"{base}/audit")
    _shot(page, f"audit-{suffix}")


def _public_pages(page: Page, base: str, suffix: str, citizen: tuple[str, str, str],
                  hc1: str, log: Path) -> None:  # fmt: skip
    """The verifier page (empty and with a result) and the citizen portal, as `<page>-<suffix>`."""
    page.context.clear_cookies()
    page.goto(f"{base}/verify")
    _shot(page, f"verify-{suffix}")
    page.fill("textarea[name=hc1]", hc1)
    page.click("form button[type=submit]")
    _shot(page, f"verify-result-{suffix}")
    page.goto(f"{base}/c")
    _shot(page, f"citizen-lookup-{suffix}")
    page.fill("input[name=id_number]", citizen[0])
    page.fill("input[name=full_name]", citizen[1])
    page.fill("input[name=date_of_birth]", citizen[2])
    page.click("#lookup-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)
    codes = re.findall(r"\b(\d{6})\b", log.read_text())
    if not codes:
        print("  no one-time code in the server's console; citizen pages skipped")
        return
    page.fill("input[name=code]", codes[-1])
    page.click("#code-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, f"citizen-record-{suffix}")
    page.goto(f"{base}/c/report")
    _shot(page, f"citizen-report-{suffix}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaxlink-shots-") as tmp:
        data_dir = Path(tmp)
        env = {**os.environ, "VAXLINK_DATA_DIR": str(data_dir)}
        env.pop("VAXLINK_DATABASE_URL", None)
        print("building the demo store…", flush=True)
        subprocess.run([VAXLINK, "demo", "--citizens", "2000", "--no-serve"], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        os.environ["VAXLINK_DATA_DIR"] = str(data_dir)
        _accounts(data_dir)
        citizen = _citizen(data_dir)
        port = _free_port()
        log = (data_dir / "serve.log").open("w+")
        server = subprocess.Popen([VAXLINK, "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=CHROMIUM_ARGS)  # fmt: skip
                sizes = {"desktop": {"viewport": {"width": 1280, "height": 860}},
                         "phone": {"viewport": {"width": 390, "height": 844},
                                   "device_scale_factor": 2, "is_mobile": True,
                                   "has_touch": True}}  # fmt: skip
                for suffix, size in sizes.items():
                    page = browser.new_context(locale="vi-VN", **size).new_page()  # type: ignore[arg-type]
                    _public_pages(page, base, suffix, citizen[:3], citizen[3],
                                  data_dir / "serve.log")  # fmt: skip
                    _staff_pages(page, base, suffix, citizen[0])
                    page.context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

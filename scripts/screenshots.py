# ruff: noqa: S603 - runs this checkout's own vaxlink executable
"""Screenshots of the main pages for the README: a small demo store, the app under uvicorn,
Debian's Chromium driven by Playwright. Writes docs/screenshots/*.png.

    .venv/bin/python scripts/screenshots.py            # ~3 minutes on a quiet 2-core machine

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


def _accounts(data_dir: Path) -> dict[str, str]:
    """One account per role around the demo's busiest commune, with a known password."""
    from vaxlink.auth import service
    from vaxlink.auth.demo import busiest_ward
    from vaxlink.auth.roles import Role
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.geo.codes import Level, UnitKey
    from vaxlink.geo.index import UnitIndex
    from vaxlink.settings import Settings

    engine = engine_from_settings(Settings(data_dir=data_dir))
    with transaction(engine) as s:
        found = busiest_ward(s)
        assert found, "the demo store has no doses"
        ward, site = found
        path = UnitIndex.for_version().path(UnitKey(Level.WARD, ward))
        units = {k.level: k for k in path}
        wanted = {
            "shot.police": (Role.COMMUNE_POLICE, units[Level.WARD], None),
            "shot.station": (Role.HEALTH_STATION, units[Level.WARD], site),
            "shot.approver": (Role.SITE_APPROVER, units[Level.WARD], site),
            "shot.nation": (Role.PROVINCIAL_CDC, units[Level.PROVINCE], None),
        }
        for name, (role, unit, facility) in wanted.items():
            service.create_user(s, username=name, password=PASSWORD, role=role, unit=unit,
                                facility_code=facility)  # fmt: skip
    engine.dispose()
    return {name: role.value for name, (role, _u, _f) in wanted.items()}


def _citizen(data_dir: Path) -> tuple[str, str, str]:
    """(ID, full name, dd/mm/yyyy) of a citizen with a certificate and a phone on record."""
    from vaxlink.certificates.service import Certificate
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.registry.models import Citizen
    from vaxlink.settings import Settings

    engine = engine_from_settings(Settings(data_dir=data_dir))
    with transaction(engine) as s:
        row = s.execute(
            select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth)
            .join(Certificate, Certificate.citizen_id == Citizen.citizen_id)
            .where(Citizen.phone.is_not(None), Citizen.dob_precision == "day")
            .order_by(Citizen.citizen_id)
            .limit(1)
        ).one()
    engine.dispose()
    y, m, d = row[2].split("-")
    return row[0], row[1], f"{d}/{m}/{y}"


def _login(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"  docs/screenshots/{name}.png", flush=True)


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
                desk = browser.new_page(viewport={"width": 1280, "height": 860})
                desk.goto(f"{base}/login")
                _shot(desk, "login")
                _login(desk, base, "shot.police")
                desk.goto(f"{base}/worklist")
                _shot(desk, "worklist")
                first = desk.locator("a[href^='/worklist/doses/']").first
                if first.count():
                    first.click()
                    _shot(desk, "worklist-detail")
                _login(desk, base, "shot.approver")
                desk.goto(f"{base}/approval")
                _shot(desk, "approval")
                _login(desk, base, "shot.nation")
                desk.goto(f"{base}/dashboard")
                desk.wait_for_timeout(1500)  # the charts animate in
                _shot(desk, "dashboard")
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                _login(phone, base, "shot.station")
                phone.goto(f"{base}/entry")
                _shot(phone, "entry-phone")
                phone.context.clear_cookies()
                phone.goto(f"{base}/c")
                phone.fill("input[name=id_number]", citizen[0])
                phone.fill("input[name=full_name]", citizen[1])
                phone.fill("input[name=date_of_birth]", citizen[2])
                phone.click("button[type=submit]")
                phone.wait_for_load_state("networkidle")
                time.sleep(0.5)
                log.flush()
                codes = re.findall(r"\b(\d{6})\b", (data_dir / "serve.log").read_text())
                if codes:
                    phone.fill("input[name=code]", codes[-1])
                    phone.click("button[type=submit]")
                    phone.wait_for_load_state("networkidle")
                    _shot(phone, "citizen-record-phone")
                else:
                    print("  no one-time code in the server's console; citizen page skipped")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

# ruff: noqa: S603 - runs this checkout's own vaxlink executable
"""Screenshots of every main page, on a desktop and on a phone, for the README and
docs/screenshots.md: a small demo store, the app under uvicorn, Debian's Chromium driven by
Playwright. Writes docs/screenshots/<page>-desktop.png (1366×900) and <page>-phone.png (390×844),
each page in Vietnamese as the role that uses it (Chromium itself in Vietnamese and Vietnam's
time zone: date fields read dd/mm/yyyy), as palette PNGs (under 100 kB each).

    .venv/bin/python scripts/screenshots.py            # ~6 minutes on a quiet 2-core machine

Before the staff pages the citizen files two reports (a missing dose for the station, personal
data for the commune police) to their home commune, whose station and police accounts then shoot
the report lists and a report's page.

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

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
VAXLINK = str(ROOT / ".venv" / "bin" / "vaxlink")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]  # fmt: skip
PASSWORD = "screenshots-" + os.urandom(6).hex()
CHROMIUM = "/usr/bin/chromium"
#: Chromium's own language on Linux comes from LANGUAGE (its --lang flag is ignored there), and a
#: date field (`<input type=date>`) is drawn in Chromium's language, not the page's or the
#: context's: with "vi" (and Debian's chromium-l10n, which holds vi.pak) it reads dd/mm/yyyy.
BROWSER_ENV = {"LANGUAGE": "vi"}
VI_PAK = Path("/usr/lib/chromium/locales/vi.pak")
#: Every page as a reader in Vietnam sees it: Vietnamese, the time in Hà Nội / TP.HCM.
CONTEXT = {"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, in Vietnamese (see BROWSER_ENV)."""
    if not VI_PAK.exists():
        print(f"warning: no {VI_PAK} (Debian package chromium-l10n, scripts/setup installs it): "
              "date fields will read mm/dd/yyyy", file=sys.stderr)  # fmt: skip
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                      env={**os.environ, **BROWSER_ENV})  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: (user name, role, level of the demo commune's unit, works at the commune's site)
ROLES: tuple[tuple[str, str, str, bool], ...] = (
    ("shot.police", "commune_police", "ward", False),
    ("shot.station", "health_station", "ward", True),
    ("shot.committee", "commune_committee", "ward", False),
    ("shot.district", "district_health", "district", False),
    ("shot.province", "provincial_cdc", "province", False),
    ("shot.issuer", "national_issuer", "nation", False),
    ("shot.admin", "admin", "nation", False),
)
#: the station and police of the citizen's own commune, whose queues get the citizen's reports
#: (in the demo no one with a certificate lives in the busiest commune, whose records need cleaning)
REPORT_ROLES: tuple[tuple[str, str], ...] = (
    ("shot.reports.station", "health_station"),
    ("shot.reports.police", "commune_police"),
)
#: name -> TOTP secret of the accounts that need a second factor
SECRETS: dict[str, str] = {}


def _accounts(data_dir: Path, citizen_ward: str) -> None:
    """One account per role around the demo's busiest commune, with a known password, and the
    station and police of `citizen_ward`; the demo's site approver (who holds the site's signing
    key) gets the same password."""
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
        home = UnitKey(Level.WARD, citizen_ward)
        for name, role_name in REPORT_ROLES:
            service.create_user(s, username=name, password=PASSWORD, role=Role(role_name),
                                unit=home, now=now)  # fmt: skip
        approver = s.scalars(select(User).where(User.username == SITE_APPROVER)).one()
        service.set_password(s, approver, PASSWORD, now=now)
    engine.dispose()


def _citizen(data_dir: Path) -> tuple[str, str, str, str, str]:
    """(ID, full name, dd/mm/yyyy, HC1, ward) of a citizen with a certificate and a phone on
    record."""
    from vaxlink.certificates.service import Certificate
    from vaxlink.db import engine_from_settings, transaction
    from vaxlink.registry.models import Citizen
    from vaxlink.settings import Settings

    engine = engine_from_settings(Settings(data_dir=data_dir))
    with transaction(engine) as s:
        row = s.execute(
            select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth, Certificate.hc1,
                   Citizen.ward_code)
            .join(Certificate, Certificate.citizen_id == Citizen.citizen_id)
            .where(Citizen.phone.is_not(None), Citizen.dob_precision == "day",
                   Citizen.ward_code.is_not(None))
            .order_by(Citizen.citizen_id)
            .limit(1)
        ).one()  # fmt: skip
    engine.dispose()
    y, m, d = row[2].split("-")
    return row[0], row[1], f"{d}/{m}/{y}", row[3], row[4]


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


def _shot(page: Page, name: str, *, idle: bool = True) -> None:
    """The visible part of the page (not the whole scroll), as a 256-colour PNG: a screenshot of
    flat UI loses nothing to see and shrinks to about a third."""
    from PIL import Image

    page.wait_for_load_state("networkidle" if idle else "load")
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    SHOTS.append(name)
    print(f"  docs/screenshots/{name}.png  {path.stat().st_size // 1024} kB", flush=True)


#: the names written by this run, in order, and those it could not make
SHOTS: list[str] = []
MISSED: list[str] = []


def _goto(page: Page, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    _shot(page, name)


def _staff_pages(page: Page, base: str, suffix: str, citizen_id: str) -> None:
    """Every main staff page, each as the role that uses it, shot as `<page>-<suffix>.png`."""
    page.goto(f"{base}/login")
    _shot(page, f"login-{suffix}")
    _login(page, base, "shot.police")
    _shot(page, f"home-police-{suffix}")
    _goto(page, base, "/worklist", f"worklist-{suffix}")
    first = page.locator("a[href^='/worklist/doses/']").first
    if first.count():
        first.click()
        _shot(page, f"worklist-detail-{suffix}")
    _goto(page, base, "/worklist/import", f"worklist-import-{suffix}")
    _goto(page, base, "/account/password", f"account-password-{suffix}")
    _login(page, base, "shot.reports.police")
    _goto(page, base, "/police/tickets?show=all", f"police-tickets-{suffix}")
    _ticket(page, "/police/tickets/", f"police-ticket-{suffix}")
    _login(page, base, "shot.station")
    _goto(page, base, "/entry", f"entry-{suffix}")
    page.fill("#id-form input[name=id_number]", citizen_id)
    page.click("#id-check")
    _shot(page, f"entry-person-{suffix}")
    _goto(page, base, "/recovery", f"recovery-{suffix}")
    _login(page, base, "shot.reports.station")
    _goto(page, base, "/staff/tickets?show=all", f"tickets-{suffix}")
    _ticket(page, "/staff/tickets/", f"ticket-{suffix}")
    _login(page, base, "shot.committee")
    _shot(page, f"home-committee-{suffix}")
    _goto(page, base, "/worklist/police-lists", f"police-lists-{suffix}")
    _goto(page, base, "/backfill", f"backfill-{suffix}")
    _login(page, base, "demo.duyet")
    _goto(page, base, "/approval", f"approval-{suffix}")
    _goto(page, base, "/approval/manifests", f"approval-manifests-{suffix}")
    _login(page, base, "shot.district")
    _goto(page, base, "/district/approval", f"district-approval-{suffix}")
    _login(page, base, "shot.province")
    page.goto(f"{base}/dashboard")
    page.wait_for_timeout(1500)  # the charts animate in
    _shot(page, f"dashboard-{suffix}")
    _goto(page, base, "/reports", f"reports-{suffix}")
    _goto(page, base, "/ageing", f"ageing-{suffix}")
    _goto(page, base, "/focal-points", f"focal-points-{suffix}")
    _login(page, base, "shot.issuer")
    _goto(page, base, "/issuer", f"issuer-{suffix}")
    _login(page, base, "shot.admin")
    _shot(page, f"home-admin-{suffix}")
    _goto(page, base, "/admin/accounts", f"admin-accounts-{suffix}")
    _goto(page, base, "/admin/partners", f"admin-partners-{suffix}")
    _goto(page, base, "/admin/phases", f"admin-phases-{suffix}")
    _goto(page, base, "/admin/focal-points", f"admin-focal-points-{suffix}")
    _goto(page, base, "/audit", f"audit-{suffix}")


def _ticket(page: Page, prefix: str, name: str) -> None:
    """The first report of the list on screen; the citizen filed one for each queue, so a list
    without any is a failure of this script (not a page to leave out quietly)."""
    link = page.locator(f"a[href^='{prefix}']").first
    if not link.count():
        MISSED.append(name)
        print(f"  {name}: no report in {prefix} (the citizen's report did not reach it)")
        return
    link.click()
    _shot(page, name)


def _public_pages(page: Page, base: str, suffix: str, citizen: tuple[str, str, str],
                  hc1: str, log: Path) -> None:  # fmt: skip
    """The verifier page (empty and with a result) and the citizen portal, as `<page>-<suffix>`."""
    page.context.clear_cookies()
    page.goto(f"{base}/verify")
    _shot(page, f"verify-{suffix}")
    page.fill("textarea[name=hc1]", hc1)
    page.click("form button[type=submit]")
    _shot(page, f"verify-result-{suffix}")
    warnings: list[str] = []
    page.on(
        "console", lambda m: warnings.append(m.text) if m.type in ("warning", "error") else None
    )
    page.goto(f"{base}/verifier")
    page.wait_for_timeout(2000)  # fetches the trust list; never network-idle (service worker)
    _shot(page, f"verifier-{suffix}", idle=False)
    page.fill("#hc1", hc1)
    page.click("#verify-go")
    page.wait_for_timeout(1500)
    _shot(page, f"verifier-result-{suffix}", idle=False)
    for text in warnings:  # a refused trust list says why only here
        print(f"  /verifier console: {text[:200]}")
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
    if suffix == "desktop":  # one report per queue is enough for both sizes
        for kind, text in (("missing_dose", "Tôi đã tiêm mũi 3 nhưng hồ sơ chưa có."),
                           ("personal_info", "Ngày sinh trên hồ sơ của tôi bị sai.")):  # fmt: skip
            page.goto(f"{base}/c/report")
            page.select_option("#report-form select[name=kind]", kind)
            page.select_option("#report-form select[name=station]", "home")
            page.fill("#report-form textarea[name=description]", text)
            page.click("#report-form button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/c/me" not in page.url:
                print(f"  the {kind} report was refused: {page.locator('main').inner_text()[:300]}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vaxlink-shots-") as tmp:
        data_dir = Path(tmp)
        env = {**os.environ, "VAXLINK_DATA_DIR": str(data_dir)}
        env.pop("VAXLINK_DATABASE_URL", None)
        print("building the demo store…", flush=True)
        subprocess.run([VAXLINK, "demo", "--citizens", "2000", "--no-serve"], env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        # the offline verifier needs a signed trust list, which the demo does not make
        csca = (data_dir / "demo" / "csca-passphrase.txt").read_text().strip()
        subprocess.run([VAXLINK, "keys", "trust-list", "--out", str(data_dir / "trust")],
                       env={**env, "VAXLINK_CSCA_PASSPHRASE": csca}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        os.environ["VAXLINK_DATA_DIR"] = str(data_dir)
        citizen = _citizen(data_dir)
        _accounts(data_dir, citizen[4])
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
                browser = launch(p)
                sizes = {"desktop": {"viewport": {"width": 1366, "height": 900}},
                         "phone": {"viewport": {"width": 390, "height": 844},
                                   "device_scale_factor": 2, "is_mobile": True,
                                   "has_touch": True}}  # fmt: skip
                for suffix, size in sizes.items():
                    page = browser.new_context(**CONTEXT, **size).new_page()  # type: ignore[arg-type]
                    _public_pages(page, base, suffix, citizen[:3], citizen[3],
                                  data_dir / "serve.log")  # fmt: skip
                    _staff_pages(page, base, suffix, citizen[0])
                    page.context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    stale = sorted(p.name for p in OUT.glob("*.png") if p.stem not in SHOTS)
    if stale:
        print("not made by this run (remove them or the script's miss):", *stale, sep="\n  ")
    total = sum((OUT / f"{n}.png").stat().st_size for n in SHOTS)
    print(f"{len(SHOTS)} screenshots, {total / 1e6:.1f} MB")
    if MISSED:
        print("not made:", *MISSED, sep="\n  ")
    return 1 if MISSED else 0


if __name__ == "__main__":
    sys.exit(main())

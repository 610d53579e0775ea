"""Vietnamese first, no dead ends (#17): each role walks its journey in Chromium — home, its work
pages, a form sent with a mistake, a detail page — once in Vietnamese and once in English, over a
demo store (`vaxlink demo`), and every page it sees is in the one language (`tests.web_language`:
data marked translate="no" aside) and is a page, never raw JSON.

One demo store and one live server serve the whole module (about 30–60 s to build on 2 cores)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from tests.web_language import assert_page_language, findings, raw_json
from tests.web_support import (
    PASSWORD,
    Account,
    LiveServer,
    create_account,
    demo_data_dir,
    login,
    serving,
)

from vaxlink.auth.roles import Role
from vaxlink.db import make_engine, transaction
from vaxlink.geo.codes import Level
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings

pytestmark = pytest.mark.browser
LANGS = ("vi", "en")


@dataclass
class Demo:
    """The demo store served live, with the commune its demo accounts sit in."""

    server: LiveServer
    ward: str
    site: str
    units: dict[Level, str]
    signing_passphrase: str
    citizen: tuple[str, str, str, str]  # ID, full name, dd/mm/yyyy, phone
    hc1: str



@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`vaxlink demo` (120 people) in a fresh data directory, served by uvicorn in a thread."""

    from vaxlink.auth.demo import busiest_ward
    from vaxlink.certificates.models import Certificate
    from vaxlink.registry.models import Citizen
    from vaxlink.web.app import create_app

    data_dir = tmp_path_factory.mktemp("demo")
    demo_data_dir(data_dir)
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'vaxlink.db'}")
    engine = make_engine(settings.resolved_database_url())
    with transaction(engine) as s:
        found = busiest_ward(s)
        assert found, "the demo store has no doses"
        assert found[1], "the demo commune has no vaccination site"
        ward, site = found
        citizen = s.execute(
            select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth, Citizen.phone,
                   Certificate.hc1)
            .join(Certificate, Certificate.citizen_id == Citizen.citizen_id)
            .where(Citizen.phone.is_not(None), Citizen.dob_precision == "day")
            .order_by(Citizen.citizen_id).limit(1)
        ).one()  # fmt: skip
    units = {k.level: str(k) for k in UnitIndex.for_version().path(f"ward:{ward}")}
    y, m, d = citizen[2].split("-")
    passphrase = (data_dir / "demo" / "signing-passphrase.txt").read_text().strip()
    try:
        with serving(create_app(settings), name="demo-server") as url:
            yield Demo(LiveServer(url, engine, settings), ward, site, units,
                       passphrase, (citizen[0], citizen[1], f"{d}/{m}/{y}", citizen[3]),
                       citizen[4])  # fmt: skip
    finally:
        engine.dispose()


@dataclass
class Walk:
    """One journey in one language: visits pages and gathers what is wrong with each."""

    page: Any
    base: str
    lang: str
    problems: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Check the page the browser shows now."""
        self.page.wait_for_load_state("load")
        url = self.page.url.removeprefix(self.base)
        self.seen.append(url)
        why = raw_json(self.page)
        if why:
            self.problems.append(f"{url}: raw JSON ({why})")
            return
        marked = self.page.evaluate("document.documentElement.getAttribute('lang')")
        if marked != self.lang:
            self.problems.append(f"{url}: marked lang={marked!r}")
        self.problems += [f"{url}: {f}" for f in findings(self.page, self.lang)]

    def go(self, path: str) -> None:
        sep = "&" if "?" in path else "?"
        response = self.page.goto(f"{self.base}{path}{sep}lang={self.lang}")
        if response is not None and "json" in (response.headers.get("content-type") or ""):
            self.problems.append(f"{path}: served as {response.headers['content-type']}")
        self.check()

    def submit(self, form: str, values: dict[str, str], button: str | None = None) -> None:
        """Fill `values` into `form` (skipping the browser's own checks) and send it; when the
        answer shows the form again (an error), it must hold what was typed (not secrets)."""
        for name, value in values.items():
            field_ = self.page.locator(f"{form} [name={name}]").first
            if field_.evaluate("e => e.tagName") == "SELECT":
                field_.select_option(value)
            else:
                field_.fill(value)
        self.page.eval_on_selector(form, "f => f.setAttribute('novalidate', '')")
        with self.page.expect_navigation():
            self.page.click(button or f"{form} [type=submit]")
        self.check()
        if not self.page.locator(form).count():
            return  # done: the next page
        for name, value in values.items():
            typed = self.page.locator(f"{form} [name={name}]").first
            if typed.get_attribute("type") in ("password", "hidden") or name == "code":
                continue
            if typed.input_value() != value:
                self.problems.append(f"{self.page.url}: {form} lost {name}={value!r}")

    def follow(self, selector: str) -> bool:
        """Open the first link matching `selector`, if there is one."""
        link = self.page.locator(selector).first
        if not link.count():
            return False
        with self.page.expect_navigation():
            link.click()
        self.check()
        return True

    def done(self, at_least: int) -> None:
        assert len(self.seen) >= at_least, f"the journey saw too few pages: {self.seen}"
        assert not self.problems, f"{len(self.problems)} problems in {self.lang}:\n" + "\n".join(
            self.problems
        )


@contextmanager
def _walk(browser: Any, demo: Demo, lang: str, account: Account | None) -> Iterator[Walk]:
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  locale="vi-VN" if lang == "vi" else "en-GB")  # fmt: skip
    try:
        page = context.new_page()
        base = demo.server.url
        if account is not None:
            page.goto(f"{base}/login?lang={lang}")
            login(page, base, account)
        yield Walk(page, base, lang)
    finally:
        context.close()


@pytest.fixture(params=LANGS)
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _staff(demo: Demo, role: Role, level: Level = Level.WARD) -> Account:
    site = demo.site if role in (Role.HEALTH_STATION, Role.SITE_APPROVER) else None
    unit = "VN" if level is Level.NATION else demo.units[level]
    return create_account(demo.server.engine, role, unit, facility_code=site)


Walker = Callable[[Account | None], AbstractContextManager[Walk]]


@pytest.fixture
def walker(browser: Any, demo: Demo, lang: str) -> Walker:
    return lambda account: _walk(browser, demo, lang, account)


def _worklist_detail(w: Walk) -> None:
    w.go("/worklist")
    w.go("/worklist?status=unmatched&sort=date")
    assert w.follow("#worklist a[href^='/worklist/doses/']"), "the demo commune has no work"


def test_health_station(demo: Demo, walker: Walker) -> None:
    with walker(_staff(demo, Role.HEALTH_STATION)) as w:
        w.go("/")
        _worklist_detail(w)
        w.page.click("#correct summary")
        w.submit("#correction-form", {"vaccination_date": "31/02/2021", "reason": "sổ"})
        w.go("/entry")
        w.submit("#id-form", {"id_number": "12345"})
        w.go("/entry")
        w.submit("#id-form", {"id_number": demo.citizen[0]})
        w.submit("#dose-form", {"lot": "", "date": "2099-01-01"})  # the person's page, an error
        w.go("/entry")
        w.submit("#id-form", {"id_number": "001099999990"})  # not in the registry
        w.page.click("#unregistered summary")
        w.submit("#unregistered-form", {"full_name": "Trần Thị B", "date_of_birth": "31/02/1990",
                                        "note": "ngắn"})  # fmt: skip
        w.go("/recovery")
        w.submit("#recovery-form", {"id_number": demo.citizen[0], "first_positive": "2030-01-01"})
        w.go("/staff/tickets")
        w.go("/staff/tickets?show=all")
        w.go("/dashboard")
        w.done(15)


def test_commune_police(demo: Demo, walker: Walker) -> None:
    with walker(_staff(demo, Role.COMMUNE_POLICE)) as w:
        w.go("/")
        _worklist_detail(w)
        w.page.click("#identity-form >> xpath=.. >> summary")
        w.submit("#identity-form", {"id_number": "12", "date_of_birth": "32/13/1990"})
        w.go("/worklist/import")
        w.go("/worklist?state=all")
        w.done(6)


def test_commune_committee(demo: Demo, walker: Walker) -> None:
    with walker(_staff(demo, Role.COMMUNE_COMMITTEE)) as w:
        w.go("/")
        _worklist_detail(w)
        w.go("/staff/tickets")
        w.go("/worklist/police-lists")  # the demo police's verified list
        assert w.follow("#police-lists a[href^='/worklist/police-lists/']"), "no police list"
        w.done(7)


def test_site_approver(demo: Demo, walker: Walker) -> None:
    from vaxlink.auth import service
    from vaxlink.auth.models import User

    with demo.server.session() as s:  # the demo's approver holds the site's key
        user = s.scalars(select(User).where(User.username == "demo.duyet")).one()
        service.set_password(s, user, PASSWORD, now=dt.datetime.now(dt.UTC))
        principal = service.principal_of(user)
    account = Account("demo.duyet", PASSWORD, principal.user_id, principal)
    with walker(account) as w:
        w.go("/")
        w.go("/approval")
        if w.page.locator("#approval-form").count():
            w.submit("#approval-form", {"passphrase": "not the passphrase"}, "#sign-all")
        w.go("/approval/manifests")
        w.follow("#manifests a[href^='/approval/manifests/']")
        w.go("/entry")
        w.go("/dashboard")
        w.done(6)


@pytest.mark.parametrize("level", [Level.DISTRICT, Level.PROVINCE])
def test_district_and_province(demo: Demo, walker: Walker, level: Level) -> None:
    role = Role.DISTRICT_HEALTH if level is Level.DISTRICT else Role.PROVINCIAL_CDC
    with walker(_staff(demo, role, level)) as w:
        w.go("/")
        w.go("/dashboard")
        w.go("/reports")
        w.go("/worklist")
        w.follow("#worklist a[href^='/worklist/doses/']")
        if role is Role.DISTRICT_HEALTH:
            w.go("/staff/tickets?show=all")
        w.done(5)


def test_national_issuer(demo: Demo, walker: Walker) -> None:
    with walker(_staff(demo, Role.NATIONAL_ISSUER, Level.NATION)) as w:
        w.go("/")
        w.go("/issuer")
        w.submit("#revoke-form", {"uvci": "URN:UVCI:01:VN:NOPE", "reason": "thử"})
        w.go("/issuer")
        w.submit("#issue-form", {})
        w.page.wait_for_selector("#run-done, #run-failed", timeout=60_000)
        w.check()
        w.go("/dashboard")
        w.go("/reports")
        w.done(7)


def test_admin(demo: Demo, walker: Walker) -> None:
    with walker(_staff(demo, Role.ADMIN, Level.NATION)) as w:
        w.go("/")
        w.go("/audit")
        w.go("/audit?action=auth.")
        w.submit("#audit-filters", {"since": "2099-01-01"})
        w.go("/account/second-factor")
        w.go("/dashboard")
        for path in ("/admin/partners", "/admin/phases", "/admin/focal-points"):  # the demo's
            w.go(path)
            assert w.page.locator("main table tbody tr").count() >= 1, f"{path} is empty"
        w.done(9)


def test_citizen(demo: Demo, walker: Walker) -> None:
    from vaxlink.feedback.sms import ConsoleSms

    cid, name, dob, phone = demo.citizen
    with walker(None) as w:
        w.go("/c")
        w.submit(
            "#lookup-form", {"id_number": cid, "full_name": "Không Phải Tên", "date_of_birth": dob}
        )
        w.go("/c")
        since = len(ConsoleSms.sent)
        w.submit("#lookup-form", {"id_number": cid, "full_name": name, "date_of_birth": dob})
        w.submit("#code-form", {"code": "000000"})
        deadline = time.monotonic() + 10
        while not (sent := [m for m in list(ConsoleSms.sent)[since:] if m.phone == phone]):
            assert time.monotonic() < deadline, "no code was sent"
            time.sleep(0.05)
        code = re.findall(r"\d{6}", sent[-1].text)[-1]
        w.submit("#code-form", {"code": code})
        w.go("/c/me")
        w.go("/c/certificate")
        w.go("/c/report")
        # a wrong vaccination date: the station's queue (personal data goes to the police's)
        w.submit("#report-form", {"kind": "dose_details", "description": "ngắn"})
        w.submit("#report-form", {"kind": "dose_details",
                                  "description": "Ngày tiêm mũi 2 trên chứng nhận bị sai, xin kiểm tra."})  # fmt: skip
        assert w.page.locator("#reported").count() == 1, w.page.url
        w.done(9)


def test_a_station_works_the_citizens_report(demo: Demo, walker: Walker, lang: str) -> None:
    """The station of the ward a report went to (the citizen's journey filed it) opens it, sends
    its fix with a mistake, and reads the ticket history."""
    from vaxlink.feedback.models import Ticket

    with demo.server.session() as s:
        tickets = s.scalars(select(Ticket).order_by(Ticket.id)).all()[-len(LANGS) :]
        assert tickets, "the citizen's journey filed no report"
        ticket = tickets[LANGS.index(lang) % len(tickets)]  # one report per language
        ticket_id, ward = ticket.id, ticket.ward_code
    assert ward, "the report went to no station"
    station = create_account(demo.server.engine, Role.HEALTH_STATION, f"ward:{ward}",
                             facility_code=demo.site)  # fmt: skip
    with walker(station) as w:
        w.go("/staff/tickets")
        assert w.follow(f"a[href='/staff/tickets/{ticket_id}']"), "the report is not listed"
        w.submit("#resolve-form", {"vaccination_date": "31/02/2021", "answer": "Đã kiểm tra."})
        w.go(f"/staff/tickets/{ticket_id}")
        w.done(4)


def test_the_language_switch_keeps_the_page(demo: Demo, browser: Any) -> None:
    """Switching language keeps the filters of a list, and after a form was sent it stays on the
    page the form was on (not the form's address, which only takes a POST)."""
    account = _staff(demo, Role.COMMUNE_POLICE)
    with _walk(browser, demo, "vi", account) as w:
        w.go("/worklist?status=unmatched&sort=date")
        with w.page.expect_navigation():
            w.page.click("#switch-language")
        assert "status=unmatched" in w.page.url
        assert "sort=date" in w.page.url
        assert w.page.evaluate("document.documentElement.lang") == "en"
        assert w.page.input_value("#worklist-filter select[name=status]") == "unmatched"
        w.lang = "en"
        w.check()
        assert w.follow("#worklist a[href^='/worklist/doses/']")
        detail = w.page.url
        w.page.click("#identity-form >> xpath=.. >> summary")
        w.submit("#identity-form", {"id_number": "12"})
        assert w.page.url.endswith("/decision")
        with w.page.expect_navigation():
            w.page.click("#switch-language")
        assert w.page.url.split("?")[0] == detail.split("?")[0]
        assert w.page.evaluate("document.documentElement.lang") == "vi"
        w.lang = "vi"
        w.check()
        w.done(5)


def test_border_verifier(demo: Demo, walker: Walker) -> None:
    with walker(None) as w:
        w.go("/verify")
        w.page.fill("textarea[name=hc1]", "HC1:NOT-A-CERTIFICATE")
        with w.page.expect_navigation():
            w.page.click("form button[type=submit]")
        w.check()
        w.go("/verify")
        w.page.fill("textarea[name=hc1]", demo.hc1)
        with w.page.expect_navigation():
            w.page.click("form button[type=submit]")
        w.check()
        assert w.page.locator("#verdict").count() == 1
        w.done(4)


def test_unknown_url_and_login(demo: Demo, walker: Walker) -> None:
    """A mistyped address gives a page (in the reader's language), never JSON; so do the login
    pages and their errors."""
    with walker(None) as w:
        w.go("/no/such/page")
        w.go("/login")
        w.submit("#login-form", {"username": "nobody", "password": "wrong password!"})
        w.go("/api/v1/no-such-thing")
        w.done(4)


def test_the_checker_catches_planted_strings(demo: Demo, browser: Any) -> None:
    """The checker is not blind: English planted in a Vietnamese page and Vietnamese planted in
    an English page are found, and data marked translate="no" is not."""
    context = browser.new_context()
    try:
        page = context.new_page()
        for lang, planted in (("vi", "Download certificate"), ("en", "Tải chứng nhận")):
            page.goto(f"{demo.server.url}/c?lang={lang}")
            assert_page_language(page, lang)
            page.evaluate(
                "t => { const p = document.createElement('p'); p.translate = false;"
                " p.textContent = t; document.querySelector('main').append(p); }", planted
            )  # fmt: skip
            assert_page_language(page, lang)  # data: skipped
            page.evaluate(
                "t => { const b = document.createElement('button'); b.setAttribute('aria-label', t);"
                " document.querySelector('main').append(b); }", planted
            )  # fmt: skip
            with pytest.raises(AssertionError, match=planted.split()[0]):
                assert_page_language(page, lang)
        page.set_content('<html lang="vi"><body>{"status": "ok"}</body></html>')
        with pytest.raises(AssertionError, match="raw JSON"):
            assert_page_language(page, "vi")
    finally:
        context.close()

"""The seeds' procedure, role by role (#16): in Chromium, in Vietnamese, over one demo store
(`vaxlink demo`), each role DOES its work through the browser (clicks, forms, real Excel files
downloaded, edited with openpyxl and uploaded) and the result is checked in the store; each
role's home page shows a link to its work with a count of what waits; and each role that works
on a commune or district tries another one's record by URL or by a tampered form and is refused
(a 403 page in Vietnamese, nothing changed, the refusal audited).

The tests follow the procedure (docs/procedure.md) in file order and hand work on: the station's
export is the file it sends the police (stale once the police decide, so its row is refused);
the police's own export is the numbered list they fill, upload and mark verified, and the
committee types its fix from; the dose the police identify through it is the one the site head
signs, the district signs and the issuer sees covered. Run the module whole. One demo store and
one live server serve it (~4 min with the demo's build at load 20 on 2 cores, ~1–1.5 min with
`VAXLINK_TEST_DEMO_DIR`, a built demo made with the same `VAXLINK_TOTP_KEY`).

The demo commune's open work is three unmatched doses without a candidate; the weak candidate
the police's second step needs is planted on one of them (a dose_link row, as `vaxlink verify`
writes one for a low-probability match)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from tests.web_language import assert_page_language
from tests.web_support import (
    _SECOND_FACTORS,
    PASSWORD,
    Account,
    LiveServer,
    create_account,
    demo_data_dir,
    login,
    serving,
)

from vaxlink.auth.roles import SECOND_FACTOR_ROLES, Role
from vaxlink.cleaning.excel import SHEET as POLICE_SHEET
from vaxlink.db import make_engine, transaction
from vaxlink.geo.codes import Level
from vaxlink.geo.index import UnitIndex
from vaxlink.settings import Settings

pytestmark = pytest.mark.browser


@dataclass
class Person:
    citizen_id: str
    full_name: str
    dob: str  # yyyy-mm-dd
    sex: str
    ward: str
    phone: str | None


@dataclass
class Demo:
    """The demo store served live (district approval required), and the work it holds."""

    server: LiveServer
    data_dir: Path
    ward: str  # the demo commune
    site: str  # its vaccination site
    units: dict[Level, str]
    passphrase: str  # the demo signing passphrase (sites and district)
    open_doses: list[int]  # the demo commune's unmatched doses, its site's first
    other_dose: int  # a dose of another district's commune
    resident: Person  # a registry person living in the demo district
    citizen: Person  # a person with a certificate and a phone
    state: dict[str, Any] = field(default_factory=dict)  # what one step hands the next



def _person(row: Any) -> Person:
    return Person(row[0], row[1], row[2], row[3], row[4], row[5])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from vaxlink.auth.demo import busiest_ward
    from vaxlink.certificates.models import Certificate
    from vaxlink.records.models import DoseRecord
    from vaxlink.registry.models import Citizen
    from vaxlink.web.app import create_app

    data_dir = tmp_path_factory.mktemp("roles")
    demo_data_dir(data_dir)
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'vaxlink.db'}",
                        require_district_approval=True)  # fmt: skip
    engine = make_engine(settings.resolved_database_url())
    index = UnitIndex.for_version()
    with transaction(engine) as s:
        found = busiest_ward(s)
        assert found, "the demo store has no doses"
        assert found[1], "the demo commune has no vaccination site"
        ward, site = found
        units = {k.level: str(k) for k in index.path(f"ward:{ward}")}
        district = units[Level.DISTRICT]
        open_doses = list(s.scalars(select(DoseRecord.id).where(
            DoseRecord.ward_code == ward, DoseRecord.status == "unmatched")
            .order_by(DoseRecord.facility_code != site, DoseRecord.id)))  # fmt: skip
        assert len(open_doses) >= 3, f"the demo commune {ward} has too little work: {open_doses}"
        assert all(s.get(DoseRecord, d).facility_code == site for d in open_doses[:2])  # type: ignore[union-attr]
        people = s.execute(
            select(Citizen.citizen_id, Citizen.full_name, Citizen.date_of_birth, Citizen.sex,
                   Citizen.ward_code, Citizen.phone)
            .where(Citizen.dob_precision == "day").order_by(Citizen.citizen_id)
        ).all()  # fmt: skip
        in_district = [
            p for p in people
            if p[4] and district in (str(k) for k in index.path(f"ward:{p[4]}"))
        ]  # fmt: skip
        assert in_district, f"nobody in the registry lives in {district}"
        certified = set(s.scalars(select(Certificate.citizen_id)))
        with_phone = [p for p in people if p[5] and p[0] in certified and p[4]]
        citizen = next((p for p in with_phone if p in in_district), with_phone[0])
        province = units[Level.PROVINCE]
        others = s.execute(select(DoseRecord.id, DoseRecord.ward_code).where(
            DoseRecord.ward_code.is_not(None)).order_by(DoseRecord.id)).all()  # fmt: skip
        # a dose of another province's commune: outside every unit of the demo's accounts
        other = next(
            d for d, w in others if province not in (str(k) for k in index.path(f"ward:{w}"))
        )
        # the weak candidate the linkage could have offered for the first open dose
        s.execute(text("UPDATE dose_link SET status='review', candidates=:c, reason='weak' "
                       "WHERE dose_record_id=:d"),
                  {"c": json.dumps([{"citizen_id": in_district[0][0], "probability": 0.31}]),
                   "d": open_doses[0]})  # fmt: skip
        s.execute(text("UPDATE dose_record SET status='review' WHERE id=:d"), {"d": open_doses[0]})
    passphrase = (data_dir / "demo" / "signing-passphrase.txt").read_text().strip()
    try:
        with serving(create_app(settings), name="roles-server") as url:
            yield Demo(LiveServer(url, engine, settings), data_dir, ward, site,
                       units, passphrase, open_doses, other, _person(in_district[0]),
                       _person(citizen))  # fmt: skip
    finally:
        engine.dispose()


def _demo_account(demo: Demo, username: str) -> Account:
    """A demo account as `vaxlink demo` printed it, with a password (and second factor) the
    test knows."""
    from vaxlink.auth import service, totp
    from vaxlink.auth.models import User

    with demo.server.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        service.set_password(s, user, PASSWORD, now=dt.datetime.now(dt.UTC))
        secret = None
        if Role(user.role) in SECOND_FACTOR_ROLES:
            secret = totp.enrol_now(user, now=dt.datetime.now(dt.UTC), key=totp.key_of(Settings()))
            _SECOND_FACTORS[username] = (secret, 0)
        principal = service.principal_of(user)
    return Account(username, PASSWORD, principal.user_id, principal, secret)


@contextmanager
def _as(browser: Any, demo: Demo, account: Account | None) -> Iterator[Any]:
    """A Vietnamese browser page, logged in as `account` (None: a citizen)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                                  accept_downloads=True)  # fmt: skip
    try:
        page = context.new_page()
        page.goto(f"{demo.server.url}/c?lang=vi")
        if account is not None:
            login(page, demo.server.url, account)
        yield page
    finally:
        context.close()


def _go(page: Any, demo: Demo, path: str) -> Any:
    response = page.goto(demo.server.url + path)
    assert response is not None
    assert response.status == 200, f"{path}: {response.status} {page.inner_text('body')[:300]}"
    assert_page_language(page, "vi")
    return response


def _click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state("load")


def _waiting(page: Any, demo: Demo, path: str) -> int:
    """The count the home page shows beside the link to `path` (the link must be there)."""
    _go(page, demo, "/")
    card = page.locator(f'#abilities .open[data-path="{path}"]')
    assert card.count() == 1, f"the home page has no link to {path}: {page.inner_text('main')}"
    badge = card.locator(".waiting")
    assert badge.count() == 1, f"the home page shows no count beside {path}"
    return int(str(badge.get_attribute("data-waiting")))


def _denied(demo: Demo, object_id: str) -> int:
    from vaxlink.auth.models import AuditEntry

    with demo.server.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "access.denied", AuditEntry.object_id == object_id)) or 0)  # fmt: skip


def _refused(page: Any, demo: Demo, path: str, object_id: str | None = None) -> None:
    """Opening `path` is refused with a Vietnamese 403 page (and audited, for a record)."""
    before = _denied(demo, object_id) if object_id else 0
    response = page.goto(demo.server.url + path)
    assert response is not None
    assert response.status == 403, f"{path}: {response.status}"
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert_page_language(page, "vi")
    if object_id:
        assert _denied(demo, object_id) == before + 1, f"{path}: the refusal was not audited"


def _post_from_page(page: Any, demo: Demo, path: str, form: dict[str, str]) -> int:
    """POST a form as the page's own session would (its CSRF token taken from the page): a
    tampered or hand-made form. Returns the status (redirects not followed)."""
    token = page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    response = page.request.post(demo.server.url + path, form={"csrf_token": token, **form},
                                 max_redirects=0)  # fmt: skip
    return int(response.status)


def _dose(demo: Demo, dose_id: int) -> Any:
    from vaxlink.records.models import DoseRecord

    with demo.server.session() as s:
        dose = s.get(DoseRecord, dose_id)
        assert dose is not None
        s.expunge(dose)
        return dose


def _download(page: Any, selector: str, to: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(to)
    return to


# 1. The health station exports the records with missing or wrong personal data for the police,
#    and does its own vaccination facts through the Excel round trip.
def test_1_health_station(demo: Demo, browser: Any, tmp_path: Path) -> None:
    from vaxlink.cleaning.vaccination_excel import KEY_COLUMNS, OPEN_COLUMNS, SHEET

    station = _demo_account(demo, "demo.tram")
    with _as(browser, demo, station) as page:
        assert _waiting(page, demo, "/worklist") == len(demo.open_doses)
        _click(page, '#abilities a[href="/worklist"]')
        assert_page_language(page, "vi")
        sheet = _download(page, "#export-link", tmp_path / "cong-an.xlsx")
        ws = load_workbook(sheet)[POLICE_SHEET]
        header = [str(c.value) for c in ws[1]]
        listed = {
            str(row[header.index("Mã dòng")]) for row in ws.iter_rows(min_row=2, values_only=True)
        }
        assert listed == {str(d) for d in demo.open_doses}, listed
        demo.state["police_sheet"] = sheet  # what the station sends the commune police

        # the vaccination facts: download, change a lot number, upload, read the row results
        _go(page, demo, "/worklist")
        vsheet = _download(page, "#vaccination-export-link", tmp_path / "tiem.xlsx")
        target = _dose(demo, demo.open_doses[0])
        wb = load_workbook(vsheet)
        ws = wb[SHEET]
        col = {c.value: int(c.column or 0) for c in ws[1]}
        labels = dict(KEY_COLUMNS) | {k: label for k, label, _f in OPEN_COLUMNS}
        for row in ws.iter_rows(min_row=2):
            if str(row[col[labels["record_id"]] - 1].value) == target.record_id:
                ws.cell(int(row[0].row or 0), col[labels["new_lot"]], "LOT-SO-2")
                ws.cell(int(row[0].row or 0), col[labels["reason"]], "Sổ tiêm chủng trang 4")
                break
        else:
            raise AssertionError(f"{target.record_id} is not in the vaccination sheet")
        wb.save(vsheet)
        _click(page, "#vaccination-import-link")
        page.set_input_files("#vaccination-import-form input[name=file]", str(vsheet))
        _click(page, "#vaccination-import-form [type=submit]")
        assert_page_language(page, "vi")
        assert page.locator("#import-rows tr[data-outcome=applied]").count() == 1, page.inner_text(
            "main"
        )
        assert _dose(demo, target.id).lot_number == "LOT-SO-2"

        # another district's dose: refused, audited, unchanged
        _refused(page, demo, f"/worklist/doses/{demo.other_dose}", str(demo.other_dose))


# 2. The commune police verify and correct identities: a decision with the second step on a
#    weak candidate, undone; the Excel file; the numbered list marked verified.
def test_2_commune_police(demo: Demo, browser: Any) -> None:
    assert "police_sheet" in demo.state, "run the module whole: the station's export comes first"
    police = _demo_account(demo, "demo.congan")
    weak, by_excel = demo.open_doses[0], demo.open_doses[1]
    with _as(browser, demo, police) as page:
        assert _waiting(page, demo, "/worklist") == len(demo.open_doses)
        _go(page, demo, f"/worklist/doses/{weak}")
        _click(page, "#confirm-1")
        assert page.locator("#second-step").count() == 1, page.inner_text("main")[:500]
        assert page.locator("#disagreements tr[data-field]").count() >= 1
        assert_page_language(page, "vi")
        assert _dose(demo, weak).status == "review"  # nothing decided yet
        _click(page, "#confirm-anyway")
        assert page.get_attribute("#dose-status", "data-status") == "verified"
        assert _dose(demo, weak).citizen_id == demo.resident.citizen_id
        page.click("#undo summary")
        page.fill("#undo-form input[name=reason]", "Nhầm người, CCCD khác")
        _click(page, "#undo-button")
        assert page.locator("#undone").count() == 1
        assert_page_language(page, "vi")
        assert _dose(demo, weak).status == "review"
        assert _dose(demo, weak).citizen_id is None

        # the station's file is stale now (the decision and its undo reached the person's
        # other doses): its row is refused, nothing overwritten
        sheet: Path = demo.state["police_sheet"]
        _fill_police_sheet(sheet, by_excel, demo.resident)
        _go(page, demo, "/worklist/import")
        page.set_input_files("#import-form input[name=file]", str(sheet))
        _click(page, "#import-form button[type=submit]")
        assert_page_language(page, "vi")
        assert page.locator("tr[data-outcome=refused]").count() == 1, page.inner_text("main")
        assert _dose(demo, by_excel).status == "unmatched"

        # the police's own export is a numbered list: filled in, uploaded, marked verified
        _go(page, demo, "/worklist")
        fresh = _download(page, "#export-link", sheet.with_name("danh-sach.xlsx"))
        with demo.server.session() as s:
            lists = s.execute(text("SELECT id FROM police_verification_list ORDER BY id")).all()
        assert lists, "the police's export made no numbered verification list"
        demo.state["list_id"] = lists[-1][0]
        _fill_police_sheet(fresh, by_excel, demo.resident)
        _go(page, demo, "/worklist/import")
        page.set_input_files("#import-form input[name=file]", str(fresh))
        _click(page, "#import-form button[type=submit]")
        assert_page_language(page, "vi")
        assert page.locator("tr[data-outcome=applied]").count() == 1, page.inner_text("main")
        dose = _dose(demo, by_excel)
        assert (dose.status, dose.citizen_id) == ("verified", demo.resident.citizen_id)
        _go(page, demo, f"/worklist/police-lists/{demo.state['list_id']}")
        page.fill("input[name=paper_ref]", "DS 07/CAX 07/12")
        _click(page, "#plist-verify button[type=submit]")
        assert_page_language(page, "vi")
        assert "DS 07/CAX 07/12" in page.inner_text("#plist-state")

        # another district's dose: the page and a hand-made decision are refused
        _refused(page, demo, f"/worklist/doses/{demo.other_dose}", str(demo.other_dose))
        _go(page, demo, f"/worklist/doses/{weak}")
        before = _dose(demo, demo.other_dose)
        status = _post_from_page(page, demo, f"/worklist/doses/{demo.other_dose}/decision",
                                 {"version": str(before.version), "decision": "cannot_verify",
                                  "reason": "other"})  # fmt: skip
        assert status == 403
        after = _dose(demo, demo.other_dose)
        assert (after.status, after.version) == (before.status, before.version)


def _fill_police_sheet(sheet: Path, dose_id: int, person: Person) -> None:
    """What the police officer types into a worklist file: the person's right identity."""
    wb = load_workbook(sheet)
    ws = wb[POLICE_SHEET]
    header = {str(c.value): n for n, c in enumerate(ws[1], start=1)}
    y, m, d = person.dob.split("-")
    values = {"Quyết định": "Nhập danh tính đúng",
              "Số định danh đúng / số ứng viên": person.citizen_id,
              "Họ tên đúng": person.full_name, "Ngày sinh đúng": f"{d}/{m}/{y}",
              "Giới tính đúng": "Nam" if person.sex == "M" else "Nữ"}  # fmt: skip
    for r, row in enumerate(ws.iter_rows(min_row=2), start=2):
        if str(row[header["Mã dòng"] - 1].value) == str(dose_id):
            for label, value in values.items():
                ws.cell(row=r, column=header[label], value=value)
            break
    else:
        raise AssertionError(f"dose {dose_id} is not in the police file")
    wb.save(sheet)


def _citizen_signs_in(page: Any, demo: Demo, person: Person) -> None:
    from vaxlink.feedback.sms import ConsoleSms

    y, m, d = person.dob.split("-")
    _go(page, demo, "/c")
    since = len(ConsoleSms.sent)
    page.fill("#lookup-form [name=id_number]", person.citizen_id)
    page.fill("#lookup-form [name=full_name]", person.full_name)
    page.fill("#lookup-form [name=date_of_birth]", f"{d}/{m}/{y}")
    _click(page, "#lookup-form [type=submit]")
    deadline = time.monotonic() + 10
    while not (sent := [m for m in list(ConsoleSms.sent)[since:] if m.phone == person.phone]):
        assert time.monotonic() < deadline, "no code was sent"
        time.sleep(0.05)
    page.fill("#code-form [name=code]", re.findall(r"\d{6}", sent[-1].text)[-1])
    _click(page, "#code-form [type=submit]")
    assert_page_language(page, "vi")


def _citizen_reports(page: Any, demo: Demo, kind: str, description: str) -> int:
    from vaxlink.feedback.models import Ticket

    _go(page, demo, "/c/report")
    page.select_option("#report-form [name=kind]", kind)
    page.fill("#report-form [name=description]", description)
    _click(page, "#report-form [type=submit]")
    assert page.locator("#reported").count() == 1, page.inner_text("main")[:400]
    with demo.server.session() as s:
        return int(s.scalars(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)).one())


# 6 (with 2). The citizen looks up, gets a code, sees the certificate and reports errors: the
# vaccination facts go to the station of the ward where the person lives, personal data to its
# police, who answer it.
def test_3_citizen_and_the_police_queue(demo: Demo, browser: Any) -> None:
    from vaxlink.feedback.models import Ticket

    person = demo.citizen
    with _as(browser, demo, None) as page:
        _citizen_signs_in(page, demo, person)
        _go(page, demo, "/c/me")
        _go(page, demo, "/c/certificate")
        assert page.locator("img, svg").count() >= 1  # the QR code
        facts = _citizen_reports(page, demo, "dose_details",
                                 "Ngày tiêm mũi 2 trên chứng nhận bị sai, xin kiểm tra lại.")  # fmt: skip
        personal = _citizen_reports(page, demo, "personal_info",
                                    "Họ tên trên chứng nhận viết sai dấu, xin sửa lại giúp.")  # fmt: skip
    with demo.server.session() as s:
        t1, t2 = s.get(Ticket, facts), s.get(Ticket, personal)
        assert t1 is not None
        assert t2 is not None
        assert (t1.ward_code, t2.ward_code) == (person.ward, person.ward)
        assert (t1.kind, t2.kind) == ("dose_details", "personal_info")
    police = create_account(demo.server.engine, Role.COMMUNE_POLICE, f"ward:{person.ward}")
    with _as(browser, demo, police) as page:
        assert _waiting(page, demo, "/police/tickets") >= 1
        _go(page, demo, "/police/tickets")
        assert page.locator(f"a[href='/police/tickets/{personal}']").count() == 1
        assert page.locator(f"a[href='/police/tickets/{facts}']").count() == 0  # the station's
        _click(page, f"a[href='/police/tickets/{personal}']")
        page.fill("#resolve-form [name=answer]", "Đã đối chiếu CCCD, thông tin đúng như sổ.")
        _click(page, "#resolve")
        assert_page_language(page, "vi")
    with demo.server.session() as s:
        assert s.get(Ticket, personal).status != "open"  # type: ignore[union-attr]
    # the demo commune's police (another commune) cannot open it
    assert person.ward != demo.ward
    with _as(browser, demo, _demo_account(demo, "demo.congan")) as page:
        _refused(page, demo, f"/police/tickets/{personal}", str(personal))
        assert page.locator(f"a[href='/police/tickets/{personal}']").count() == 0


# 3. The commune People's Committee types the police-verified fixes on behalf of the station
#    and enters missed doses.
def test_4_commune_committee(demo: Demo, browser: Any) -> None:
    from vaxlink.records.models import DoseRecord

    assert "list_id" in demo.state, "run the module whole: the police verify the list first"
    committee = _demo_account(demo, "demo.ubnd")
    list_id = demo.state["list_id"]
    fixed = demo.open_doses[-1]
    with _as(browser, demo, committee) as page:
        _waiting(page, demo, "/worklist")
        to_type = _waiting(page, demo, "/worklist/police-lists")
        assert to_type >= 1, "the police's verified list does not wait for the committee"
        _click(page, '#abilities a[href="/worklist/police-lists"]')
        _click(page, f"a[href='/worklist/police-lists/{list_id}']")
        _click(page, f"a[href^='/worklist/doses/{fixed}?list={list_id}']")
        assert page.input_value("#verification-list") == str(list_id)
        page.fill("#correction-form [name=full_name]", "Võ Minh Vĩnh")
        page.fill("#correction-form [name=reason]", "Theo danh sách công an đã xác minh")
        _click(page, "#save-correction")
        assert_page_language(page, "vi")
        assert page.locator("#saved").count() == 1, page.inner_text("main")[:400]
        assert _dose(demo, fixed).full_name == "Võ Minh Vĩnh"
        history = page.locator(".history-version")
        typed = [history.nth(i).inner_text() for i in range(history.count())]
        assert any("Võ Minh Vĩnh" in v and "Nhập thay cho trạm y tế" in v for v in typed), typed
        # typed: done, on this list and on the demo's older list that holds the same dose
        assert _waiting(page, demo, "/worklist/police-lists") == to_type - 1

        # a missed dose, from the site's logbook
        with demo.server.session() as s:
            before = s.scalar(select(func.count()).select_from(DoseRecord))
        _go(page, demo, "/backfill")
        typed = {"reference": "", "collected_by": "Vũ Thị Hoa", "full_name": "Lê Thị Hoà",
                 "date_of_birth": "12/03/1975", "lot": "FA1234", "date": "2021-09-20",
                 "sequence": "1", "site": "KHONG-CO"}  # fmt: skip
        for name, value in typed.items():
            page.fill(f"#backfill-form [name={name}]", value)
        page.select_option("#backfill-form [name=sex]", "Nữ")
        page.eval_on_selector("#backfill-form", "f => f.setAttribute('novalidate', '')")
        _click(page, "#backfill-save")  # two mistakes: each said, in Vietnamese, form kept
        assert_page_language(page, "vi")
        said = page.locator("#backfill-error [data-problem]")
        assert {said.nth(i).get_attribute("data-problem") for i in range(said.count())} == {
            "backfill.err.reference", "backfill.err.site"}  # fmt: skip
        assert page.input_value("#backfill-form [name=full_name]") == "Lê Thị Hoà"
        page.fill("#backfill-form [name=reference]", "Sổ 2, trang 14, dòng 3")
        page.fill("#backfill-form [name=site]", demo.site)
        _click(page, "#backfill-save")
        assert_page_language(page, "vi")
        assert page.locator("#backfill-saved").count() == 1, page.inner_text("main")[:400]
        with demo.server.session() as s:
            assert s.scalar(select(func.count()).select_from(DoseRecord)) == (before or 0) + 1
            assert s.scalar(select(DoseRecord.facility_code).where(
                DoseRecord.lot_number == "FA1234")) == demo.site  # fmt: skip

        _refused(page, demo, f"/worklist/doses/{demo.other_dose}", str(demo.other_dose))
        _go(page, demo, "/backfill")  # a page with the session's CSRF token
        before = _dose(demo, demo.other_dose)
        status = _post_from_page(page, demo, f"/worklist/doses/{demo.other_dose}/correction",
                                 {"version": str(before.version), "full_name": "Tên Khác",
                                  "verification_list": str(list_id), "reason": "thử"})  # fmt: skip
        assert status == 403
        after = _dose(demo, demo.other_dose)
        assert (after.full_name, after.version) == (before.full_name, before.version)


# 4. The vaccination site's head signs its verified records.
def test_5_site_head_signs(demo: Demo, browser: Any) -> None:
    from vaxlink.certificates.models import FacilityApproval

    signed = demo.open_doses[1]  # identified by the police's file
    approver = _demo_account(demo, "demo.duyet")
    with _as(browser, demo, approver) as page:
        assert _waiting(page, demo, "/approval") >= 1
        # (the count of the site's unsigned doses; tests/certificates/test_approval_pages.py
        # checks its value)
        _click(page, '#abilities a[href="/approval"]')
        assert page.locator(f"#dose-{signed}").count() == 1, page.inner_text("main")[:500]
        page.check("#select-all")
        page.fill("#signing-passphrase", demo.passphrase)
        page.click("#sign-selected")
        page.wait_for_selector("#manifest-valid", timeout=60_000)
        assert_page_language(page, "vi")
        with demo.server.session() as s:
            other = s.scalars(select(FacilityApproval.id).where(
                FacilityApproval.facility_code != demo.site).limit(1)).one()  # fmt: skip
        _refused(page, demo, f"/approval/manifests/{other}", str(other))


# 5. The district health centre signs the list of its residents' verified records.
def test_6_district_signs(demo: Demo, browser: Any) -> None:
    district = _demo_account(demo, "demo.huyen")
    code = demo.units[Level.DISTRICT].split(":")[1]
    with demo.server.session() as s:
        count = "SELECT count(*) FROM district_approval WHERE district_code=:d"
        before = s.execute(text(count), {"d": code}).scalar()
    with _as(browser, demo, district) as page:
        waiting = _waiting(page, demo, "/district/approval")
        assert waiting >= 1
        _click(page, '#abilities a[href="/district/approval"]')
        page.fill("#district-passphrase", demo.passphrase)
        _click(page, "#district-sign")
        assert_page_language(page, "vi")  # the signing runs after the answer; the page shows it
        # and reloads itself until it ends, then shows the result
        page.wait_for_selector("#district-signed", timeout=60_000)
        assert_page_language(page, "vi")
        with demo.server.session() as s:
            assert s.execute(text(count), {"d": code}).scalar() == (before or 0) + 1
        assert _waiting(page, demo, "/district/approval") == 0  # all signed as it stands
        # a tampered form for another district is refused and signs nothing
        _go(page, demo, "/district/approval")
        page.eval_on_selector("#district-form [name=district]", "e => e.value = '001'")
        page.fill("#district-passphrase", demo.passphrase)
        with page.expect_navigation():
            page.click("#district-sign")
        with demo.server.session() as s:
            assert s.execute(text(count), {"d": "001"}).scalar() == 0
        assert page.locator("#district-signed").count() == 0
        assert_page_language(page, "vi")
        _refused(page, demo, f"/worklist/doses/{demo.other_dose}", str(demo.other_dose))


# 10. The Ministry (national issuer) sees the condition and issues.
def test_7_national_issuer(demo: Demo, browser: Any) -> None:
    issuer = _demo_account(demo, "demo.cap")
    code = demo.units[Level.DISTRICT].split(":")[1]
    with _as(browser, demo, issuer) as page:
        _click(page, '#abilities a[href="/issuer"]')
        assert_page_language(page, "vi")
        row = page.locator(f'#issuer-districts tr[data-district="{code}"]')
        assert row.count() == 1, page.inner_text("main")[:800]
        people, covered = (int(row.locator("td").nth(i).inner_text().replace(".", ""))
                           for i in (0, 1))  # fmt: skip
        assert 1 <= covered <= people  # the district signed its list (step 5)
        _click(page, "#issue-go")
        page.wait_for_selector("#run-done, #run-failed", timeout=60_000)
        assert page.locator("#run-done").count() == 1, page.inner_text("main")[:500]
        assert_page_language(page, "vi")


# 7–9. The province's and the district's officers see the figures, the ageing of unfixed errors
# per site, the focal points and the phases with their deadlines (set by the administrator).
def test_8_officers(demo: Demo, browser: Any) -> None:
    from vaxlink.auth.models import User
    from vaxlink.auth.roles import SECOND_FACTOR_ROLES

    admin = _demo_account(demo, "demo.admin")
    with demo.server.session() as s:  # accounts that cannot work until they enrol a 2nd factor
        no_second_factor = s.scalar(select(func.count()).select_from(User).where(
            User.active.is_(True), User.totp_confirmed_at.is_(None),
            User.role.in_([r.value for r in SECOND_FACTOR_ROLES])))  # fmt: skip
    with _as(browser, demo, admin) as page:
        # the administrator's home: its three pages, with what waits on accounts and partners
        assert _waiting(page, demo, "/admin/accounts") == no_second_factor
        assert _waiting(page, demo, "/admin/partners") == 0
        for path in ("/admin/focal-points", "/admin/phases"):
            assert page.locator(f'#abilities a[href="{path}"]').count() == 1, path
        _go(page, demo, "/admin/focal-points")
        page.click("#add summary")
        for name, value in {"unit": demo.units[Level.DISTRICT], "full_name": "Nguyễn Văn Đầu Mối",
                            "organisation": "Trung tâm Y tế quận", "campaign_role": "Đầu mối tiêm",
                            "phone": "0912345678", "email": "daumoi@example.vn"}.items():  # fmt: skip
            page.fill(f"#add-form [name={name}]", value)
        _click(page, "#add-focal-point")
        assert page.locator("#directory-done").count() == 1, page.inner_text("main")[:400]
        _go(page, demo, "/admin/phases")
        page.click("#add summary")
        today = dt.date.today()
        page.fill("#phase-form [name=name]", "Đợt tiêm mũi 3")
        page.fill("#phase-form [name=unit]", demo.units[Level.PROVINCE])
        page.fill("#phase-form [name=starts_on]", (today - dt.timedelta(days=3)).isoformat())
        page.fill("#phase-form [name=deadline]", (today + dt.timedelta(days=10)).isoformat())
        page.fill("#phase-form [name=target_percent]", "90")
        _click(page, "#add-phase")
        assert page.locator("#phase-done").count() == 1, page.inner_text("main")[:400]
    from vaxlink.facilities.models import Facility
    from vaxlink.records.models import DoseRecord

    index = UnitIndex.for_version()
    with demo.server.session() as s:  # errors still unfixed, by site and the site's ward
        unfixed = s.execute(
            select(DoseRecord.facility_code, func.coalesce(Facility.ward_code, DoseRecord.ward_code))
            .outerjoin(Facility, Facility.code == DoseRecord.facility_code)
            .where(DoseRecord.status.in_(("review", "unmatched", "invalid")))
        ).all()  # fmt: skip
    for username, level in (("demo.huyen", Level.DISTRICT), ("demo.tinh", Level.PROVINCE)):
        expected = {site for site, ward in unfixed if ward and demo.units[level] in
                    (str(k) for k in index.path(f"ward:{ward}"))}  # fmt: skip
        assert expected or level is Level.DISTRICT, "no unfixed error left in the province"
        officer = _demo_account(demo, username)
        with _as(browser, demo, officer) as page:
            # the unfixed errors of the area wait on its worklist; the ageing page sorts them
            assert _waiting(page, demo, "/worklist") >= 1
            assert page.locator('#abilities a[href="/ageing"]').count() == 1
            _go(page, demo, "/dashboard")
            assert "Đợt tiêm mũi 3" in page.inner_text("#phases")
            _go(page, demo, "/ageing")
            shown = {page.locator("#table-ageing tbody tr").nth(i).get_attribute("data-site")
                     for i in range(page.locator("#table-ageing tbody tr").count())}  # fmt: skip
            assert shown == expected, (shown, expected)
            _go(page, demo, "/focal-points")
            assert "Nguyễn Văn Đầu Mối" in page.inner_text("main")
            _refused(page, demo, f"/worklist/doses/{demo.other_dose}", str(demo.other_dose))

"""The whole cleaning loop in Chromium: the station exports its worklist, the police correct one
dose in the browser and another through the Excel file, the station sees them verified, the
site's approver signs, and the person gets a certificate that verifies; on the way, an officer
opening a dose of another commune is refused and audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from tests.cleaning.entry_support import SIGNING, facility_keys
from tests.cleaning.world import build
from tests.web_support import LiveServer, MakeUser, login
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import (
    Certificate,
    DccType,
    InMemoryTrustList,
    create_csca,
    create_dsc,
    issue_batch,
    verification_result,
)
from vaxlink.cleaning.excel import SHEET
from vaxlink.records.models import DoseRecord


def _fill(path: Path, dose_id: int, values: dict[str, str]) -> None:
    """What the police officer types into the exported file (only the open columns)."""
    wb = load_workbook(path)
    ws = wb[SHEET]
    header = {str(c.value): n for n, c in enumerate(ws[1], start=1)}
    for r, row in enumerate(ws.iter_rows(min_row=2), start=2):
        if str(row[header["Mã dòng"] - 1].value) == str(dose_id):
            for label, value in values.items():
                ws.cell(row=r, column=header[label], value=value)
            break
    else:
        raise AssertionError(f"dose {dose_id} is not in the exported worklist")
    wb.save(path)


def test_export_correct_verify_sign_and_certify(
    live_server: LiveServer, make_user: MakeUser, page: Any, tmp_path: Path
) -> None:
    with live_server.session() as s:
        world = build(s)
    station = make_user(live_server.engine, Role.HEALTH_STATION, "ward:00001")
    police = make_user(live_server.engine, Role.COMMUNE_POLICE, "ward:00001")
    approver = make_user(live_server.engine, Role.SITE_APPROVER, "ward:00001",
                         facility_code=world.facility)  # fmt: skip
    facility_keys(live_server.settings.data_dir, world.facility, holders=[approver.username])
    an1, binh = world.doses["an1"], world.doses["binh"]

    # the station exports its worklist for the police to work offline
    login(page, live_server.url, station, next_path="/worklist")
    with page.expect_download() as download:
        page.click("#export-link")
    sheet = tmp_path / "worklist.xlsx"
    download.value.save_as(sheet)
    page.context.clear_cookies()

    # the police confirm one person's candidate in the browser ...
    login(page, live_server.url, police, next_path="/worklist")
    page.goto(f"{live_server.url}/worklist/doses/{an1}")
    with page.expect_navigation():
        page.click("#confirm-1")
    assert page.get_attribute("#dose-status", "data-status") == "verified"
    # a dose of another commune is refused, and the attempt is audited
    other = world.doses["cuong"]
    refused = page.goto(f"{live_server.url}/worklist/doses/{other}")
    assert refused is not None
    assert refused.status == 403
    with live_server.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied",
                                                    AuditEntry.object_id == str(other))).all()  # fmt: skip
    assert len(denied) == 1
    # ... and enter another's right identity in the file, then upload it
    _fill(sheet, binh, {"Quyết định": "Nhập danh tính đúng",
                        "Số định danh đúng / số ứng viên": "001190000111",
                        "Họ tên đúng": "Trần Thị Bình", "Ngày sinh đúng": "02/07/1990",
                        "Giới tính đúng": "Nữ"})  # fmt: skip
    page.goto(f"{live_server.url}/worklist/import")
    page.set_input_files("#import-form input[name=file]", str(sheet))
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    assert page.locator("tr[data-outcome=applied]").count() == 1, page.inner_text("main")
    page.context.clear_cookies()

    # the station sees both people's doses verified and off its list
    login(page, live_server.url, station, next_path="/worklist")
    page.goto(f"{live_server.url}/worklist")
    for dose in (an1, world.doses["an2"], binh):
        assert page.locator(f'tr[data-dose="{dose}"]').count() == 0
    page.goto(f"{live_server.url}/worklist/doses/{binh}")
    assert page.get_attribute("#dose-status", "data-status") == "verified"
    page.context.clear_cookies()

    # the vaccination site's approver signs every verified dose
    login(page, live_server.url, approver, next_path="/approval")
    page.check("#select-all")
    page.fill("#signing-passphrase", SIGNING)
    page.click("#sign-selected")
    page.wait_for_selector("#manifest-valid")

    # the national issuer's batch gives both people a certificate that verifies
    now = dt.datetime.now(dt.UTC)
    csca = create_csca(country="VN", organization="Bộ Y tế", now=now - dt.timedelta(days=1))
    dsc = create_dsc(csca, now=now - dt.timedelta(days=1), common_name="DSC test",
                     types=(DccType.VACCINATION,))  # fmt: skip
    issue_batch(live_server.engine, dsc, issuer_name="Bộ Y tế", by="test", now=now)
    with live_server.session() as s:
        certificates = {c.citizen_id: c.hc1 for c in s.scalars(select(Certificate))}
        linked = {d.id: d.citizen_id for d in s.scalars(select(DoseRecord))}
    assert linked[an1] == "001085012345"
    assert linked[binh] == "001190000111"
    trust = InMemoryTrustList([dsc.certificate])
    for citizen in ("001085012345", "001190000111"):
        result = verification_result(
            certificates[citizen], trust, clock=now + dt.timedelta(minutes=1)
        )
        assert result.valid, (citizen, result.failure)

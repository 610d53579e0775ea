"""The citizen's recovery certificate in the portal (SQLite and PostgreSQL): the station enters the
recovery, the issuer signs it, the citizen sees it beside the vaccination certificate and downloads
its PDF, whose QR the project's verifier reads back as the same certificate."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import unicodedata
from typing import Any

import pytest
from sqlalchemy import select

from tests.certificates.test_pdf import _run, _tool
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import (
    Certificate,
    CertificateKind,
    DccType,
    KeyStore,
    approve_records,
    create_dsc,
    issue_batch,
)
from vaxlink.certificates.service import Role as KeyRole
from vaxlink.db import transaction
from vaxlink.records.service import person_ref

from .conftest import Pki, World
from .test_pages import CID, PHONE, _citizen_client, _login

#: A second registry citizen with a vaccination certificate and no recovery.
OTHER = "001085054321"


def issue_recovery(engine: Any, pki: Pki, keys: Any) -> None:
    """Sign the entered recoveries with a recovery DSC of the tests' CSCA, published in `keys`."""
    now = dt.datetime.now(dt.UTC)
    dsc = create_dsc(pki.csca, now=now - dt.timedelta(hours=1), common_name="DSC R",
                     types=(DccType.RECOVERY,), validity_days=365)  # fmt: skip
    KeyStore(keys).save(KeyRole.DSC, dsc)
    report = issue_batch(engine, dsc, issuer_name="Bộ Y tế", by="test", now=now,
                         kind=CertificateKind.RECOVERY)  # fmt: skip
    assert report.issued == 1, report


def recovered_world(station: Any, world: World, pki: Pki) -> Certificate:
    """CID vaccinated and recovered (entered by the station on /recovery); OTHER vaccinated."""
    world.citizen(CID, phone=PHONE)
    world.citizen(OTHER, phone=PHONE)  # a family phone
    for cid in (CID, OTHER):
        world.dose(cid, 1, dt.date(2021, 8, 2))
        world.dose(cid, 2, dt.date(2021, 8, 30))
    now = dt.datetime.now(dt.UTC)
    with transaction(world.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A", now=now)
    issue_batch(world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=now)
    positive = (now - dt.timedelta(days=20)).date().isoformat()
    r = station.post("/recovery", data={"id_number": CID, "first_positive": positive},
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    issue_recovery(world.engine, pki, station.app.state.settings.data_dir / "keys")
    with transaction(world.engine) as s:
        certificate = s.scalars(select(Certificate).where(
            Certificate.citizen_id == CID, Certificate.kind == "r")).one()  # fmt: skip
        s.expunge(certificate)
    return certificate


@pytest.fixture
def setup(staff_client: Any, pki: Pki) -> tuple[Any, World]:
    station = staff_client(Role.HEALTH_STATION, "ward:00001")
    pki.save(station.app.state.settings.data_dir / "keys")
    return station, World(station.engine)


def _vn(day: str) -> str:
    return "/".join(reversed(day.split("-")))


def test_the_citizen_sees_the_recovery_beside_the_vaccination(setup, pki) -> None:
    station, world = setup
    certificate = recovered_world(station, world, pki)
    entry = certificate.payload["r"][0]
    client = _citizen_client(station)
    _login(client)
    me = client.get("/c/me").text
    assert 'id="certificate-qr" src="data:image/svg+xml;base64,' in me  # the vaccination card
    assert 'id="recovery-qr" src="data:image/svg+xml;base64,' in me
    assert f'id="recovery-uvci" translate="no">{certificate.uvci}<' in me
    assert f'id="recovery-first-positive">{_vn(entry["fr"])}<' in me
    assert (
        'id="recovery-country" translate="no">Viet Nam<' in me
    )  # the value set's name, not the code
    assert f'id="recovery-valid-from">{_vn(entry["df"])}<' in me
    assert f'id="recovery-valid-until">{_vn(entry["du"])}<' in me
    assert "Chứng nhận khỏi bệnh COVID-19" in me
    assert "COVID-19 recovery certificate" in client.get("/c/me?lang=en").text
    vaccination = re.search(r'id="certificate-uvci" translate="no">([^<]+)<', me)
    assert vaccination is not None
    assert vaccination[1] != certificate.uvci

    # the other person, vaccinated only, sees no recovery card and gets no recovery PDF
    other = _citizen_client(station)
    _login(other, OTHER)
    page = other.get("/c/me").text
    assert 'id="certificate-qr"' in page
    assert 'id="recovery' not in page
    assert other.get("/c/recovery-certificate.pdf").status_code == 404
    # without a citizen session: back to the lookup form
    anonymous = _citizen_client(station)
    r = anonymous.get("/c/recovery-certificate.pdf", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/c")


def test_the_recovery_pdf_carries_the_same_certificate(setup, pki, tmp_path) -> None:
    station, world = setup
    certificate = recovered_world(station, world, pki)
    entry = certificate.payload["r"][0]
    client = _citizen_client(station)
    _login(client)
    pdf = client.get("/c/recovery-certificate.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "chung-nhan-khoi-benh.pdf" in pdf.headers["content-disposition"]
    path = tmp_path / "recovery.pdf"
    path.write_bytes(pdf.content)
    text = " ".join(unicodedata.normalize("NFC", _run("pdftotext", "-enc", "UTF-8", str(path),
                                                      "-")).split())  # fmt: skip
    for expected in ("Giấy chứng nhận khỏi bệnh COVID-19", "Nguyễn Văn An", entry["fr"],
                     entry["df"], entry["du"], "Date of first positive test result",
                     certificate.uvci):  # fmt: skip
        assert expected in text, expected
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-png", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    photo = (tmp_path / "page.png").read_bytes()
    result = client.post("/api/v1/certificates/verify",
                         files={"image": ("page.png", photo, "image/png")}).json()  # fmt: skip
    assert result["valid"] is True, result
    assert {f["key"]: f["value"] for f in result["fields"]}["certificate_id"] == certificate.uvci
    # the vaccination PDF is still the vaccination one
    vaccination = client.get("/c/certificate.pdf")
    assert vaccination.status_code == 200
    assert vaccination.content != pdf.content
    with transaction(world.engine) as s:
        ref = person_ref(s, CID)
        downloads = s.scalars(select(AuditEntry).where(
            AuditEntry.object_id == ref, AuditEntry.action == "feedback.citizen.download_pdf"
        ).order_by(AuditEntry.seq)).all()  # fmt: skip
        assert [json.loads(d.detail).get("kind") for d in downloads] == ["r", None]
        assert all(d.actor_id is None and CID not in d.detail for d in downloads)

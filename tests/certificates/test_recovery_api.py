"""A recovery certificate through the citizen-app API (SQLite and PostgreSQL): JSON, PDF and FHIR
with `kind=r`, behind the same client token, quota, access record and audit as a vaccination's;
the QR printed in the PDF verifies, through the project's own verifier, as the stored certificate."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.clients import add_client
from vaxlink.certificates.issuance.recovery import record_recovery
from vaxlink.certificates.models import CertificateAccess, CertificateKind
from vaxlink.certificates.web.deps import clock
from vaxlink.db import transaction
from vaxlink.records.refs import person_ref
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW
from .test_pdf import _run, _tool

LATER = NOW + dt.timedelta(days=2)
RECOVERED, VACCINATED = "001085000401", "001085000402"
FIRST_POSITIVE = NOW.date() - dt.timedelta(days=20)


@pytest.fixture
def client(world, fully_vaccinated, pki, store_url, tmp_path) -> Iterator[TestClient]:
    """The app on the test store: one person recovered (an `r` certificate), one vaccinated."""
    world.citizen(RECOVERED, "Trần Thị Hằng", dob="1990-07-02")
    fully_vaccinated(VACCINATED, "Nguyễn Văn Bình")
    with transaction(world.engine) as s:
        record_recovery(s, citizen_id=RECOVERED, first_positive=FIRST_POSITIVE,
                        station_code="ward:00001", recorded_by="station", now=NOW)  # fmt: skip
    world.approve()
    world.issue()
    assert world.issue(kind=CertificateKind.RECOVERY).issued == 1
    pki.save(tmp_path / "keys")
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    app.dependency_overrides[clock] = lambda: LATER
    with TestClient(app) as test_client:
        yield test_client


def _token(world) -> dict[str, str]:
    with transaction(world.engine) as s:
        _, token = add_client(s, "VNeID", by="tester", now=NOW)
    return {"Authorization": f"Bearer {token}"}


def _ref(client: TestClient, auth: dict[str, str], citizen_id: str) -> str:
    body = client.post("/api/v1/citizens/certificate", json={"citizen_id": citizen_id, "kind": "r"},
                       headers=auth)  # fmt: skip
    assert body.status_code == 200, body.text
    assert body.json()["kind"] == "r"
    return str(body.json()["ref"])


def test_recovery_pdf_and_fhir_need_the_token_and_answer_the_recovery(client, world) -> None:
    certificate = world.active(RECOVERED, "r")
    url = "/api/v1/citizens/{ref}/certificate"
    # no token, no answer (the same dependency as the vaccination documents)
    anonymous = client.get(url.format(ref="p" + "a" * 26) + ".pdf", params={"kind": "r"})
    assert anonymous.status_code == 401
    auth = _token(world)
    ref = _ref(client, auth, RECOVERED)
    pdf = client.get(url.format(ref=ref) + ".pdf", params={"kind": "r"}, headers=auth)
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    assert "recovery-certificate.pdf" in pdf.headers["content-disposition"]
    fhir = client.get(url.format(ref=ref) + ".fhir.json", params={"kind": "r"}, headers=auth)
    assert fhir.status_code == 200
    assert fhir.headers["content-type"] == "application/fhir+json"
    bundle = Bundle.model_validate_json(fhir.content)
    assert bundle.type == "document"
    data = json.loads(fhir.content)
    assert data["identifier"]["value"] == certificate.uvci
    res = {e["resource"]["resourceType"]: e["resource"] for e in data["entry"]}
    entry = certificate.payload["r"][0]
    assert res["Condition"]["onsetDateTime"] == entry["fr"] == FIRST_POSITIVE.isoformat()
    assert res["Composition"]["event"][0]["period"] == {"start": entry["df"], "end": entry["du"]}
    assert res["Patient"]["identifier"][0]["value"] == RECOVERED
    # the default stays the vaccination certificate, which this person does not have
    assert client.get(url.format(ref=ref) + ".pdf", headers=auth).status_code == 404
    assert client.get(url.format(ref=ref) + ".fhir.json", headers=auth).status_code == 404
    # and the vaccinated person has no recovery certificate
    other = client.post("/api/v1/citizens/certificate", json={"citizen_id": VACCINATED},
                        headers=auth).json()["ref"]  # fmt: skip
    assert client.get(url.format(ref=other) + ".pdf", headers=auth).status_code == 200
    assert client.get(url.format(ref=other) + ".pdf", params={"kind": "r"},
                      headers=auth).status_code == 404  # fmt: skip
    with world.session() as s:
        documents = [d for (d,) in s.execute(select(CertificateAccess.document).where(
            CertificateAccess.person_ref == person_ref(s, RECOVERED))
            .order_by(CertificateAccess.id))]  # fmt: skip
        assert documents == ["json", "pdf", "fhir", "pdf", "fhir"]
        actions = set(s.scalars(select(AuditEntry.action)))
        assert {"certificates.client.fetch_pdf", "certificates.client.fetch_fhir"} <= actions


def test_the_qr_in_the_recovery_pdf_is_the_stored_certificate(client, world, tmp_path) -> None:
    certificate = world.active(RECOVERED, "r")
    auth = _token(world)
    ref = _ref(client, auth, RECOVERED)
    pdf = client.get(f"/api/v1/citizens/{ref}/certificate.pdf", params={"kind": "r"}, headers=auth)
    path = tmp_path / "recovery.pdf"
    path.write_bytes(pdf.content)
    text = _run("pdftotext", "-enc", "UTF-8", str(path), "-")
    text = " ".join(unicodedata.normalize("NFC", text).split())
    entry = certificate.payload["r"][0]
    for expected in ("Giấy chứng nhận khỏi bệnh COVID-19", "COVID-19 Recovery Certificate",
                     "Trần Thị Hằng", "Date of first positive test result", entry["fr"],
                     "Certificate valid from", entry["df"], "Certificate valid until",
                     entry["du"], "Certificate issuer", entry["is"], "COVID-19",
                     certificate.uvci):  # fmt: skip
        assert expected in text, expected
    # the page as a photo, sent to the public verifier: valid, and the same certificate
    subprocess.run([_tool("pdftoppm"), "-r", "150", "-png", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    photo = Path(tmp_path / "page.png").read_bytes()
    result = client.post("/api/v1/certificates/verify",
                         files={"image": ("page.png", photo, "image/png")}).json()  # fmt: skip
    assert result["valid"] is True, result
    fields = {f["key"]: f["value"] for f in result["fields"]}
    assert fields["certificate_id"] == certificate.uvci
    assert fields["first_positive"] == entry["fr"]
    assert fields["valid_until"] == entry["du"]

"""The certificate API and verifier page over a real store (SQLite and PostgreSQL), via TestClient."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from vaxlink.certificates.clients import add_client, deactivate_client
from vaxlink.certificates.core.hc1 import b45encode
from vaxlink.certificates.core.trust import InMemoryRevocationList
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.keys.trustlist import load_trust_list
from vaxlink.certificates.models import CertificateAccess
from vaxlink.certificates.qrimage import qr_png
from vaxlink.certificates.web.deps import JSON_LIMIT, clock
from vaxlink.db import transaction
from vaxlink.records.models import PersonRef
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
LATER = NOW + dt.timedelta(days=20)
ALICE, BOB, NOBODY = "001085000201", "001085000202", "001085000299"


@pytest.fixture
def client(world, fully_vaccinated, pki, store_url, tmp_path) -> Iterator[TestClient]:
    """The app on the test store with two issued certificates (Bob's revoked) and the keys."""
    fully_vaccinated(ALICE, "Nguyễn Thị Hoa")
    fully_vaccinated(BOB, "Trần Văn Hùng")
    world.approve()
    world.issue()
    with transaction(world.engine) as s:
        revoke(s, world.active(BOB).uvci, reason="test", by="tester", now=NOW)
    pki.save(tmp_path / "keys")
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    app.dependency_overrides[clock] = lambda: LATER
    with TestClient(app) as test_client:
        yield test_client


def _hc1(world, citizen_id: str) -> str:
    return next(c.hc1 for c in world.certificates(citizen_id))


def _post(client: TestClient, hc1: object) -> dict:
    response = client.post("/api/v1/certificates/verify", json={"hc1": hc1})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_verify_endpoint_valid_tampered_revoked_and_garbage(client, world) -> None:
    good = _hc1(world, ALICE)
    result = _post(client, good)
    assert result["valid"] is True
    assert len(result["fields"]) == 11
    assert result["fields"][0]["value"] == "Nguyễn, Thị Hoa / NGUYEN<<THI<HOA"
    middle = len(good) // 2
    tampered = good[:middle] + ("A" if good[middle] != "A" else "B") + good[middle + 1 :]
    broken = _post(client, tampered)
    assert broken["valid"] is False
    assert broken["failure"]["code"] in {
        "signature_invalid", "decompression_failed", "cbor_invalid", "cose_malformed",
        "claims_invalid", "truncated", "base45_invalid", "schema_invalid",
    }  # fmt: skip
    revoked = _post(client, _hc1(world, BOB))
    assert (revoked["valid"], revoked["failure"]["code"]) == (False, "revoked")
    assert revoked["authentic"] is True
    for garbage, code in [
        ("hello", "prefix_invalid"),
        ("", "prefix_invalid"),
        ("HC1:!!!!", "base45_invalid"),
        ("HC1:" + "A" * 8200, "input_too_large"),
        ("HC1:" + b45encode(b"not a zlib stream"), "decompression_failed"),
    ]:
        result = _post(client, garbage)
        assert (result["valid"], result["failure"]["code"]) == (False, code), garbage
    for body, status in [
        (b"not json", 422),
        (b'{"nohc1": 1}', 422),
        (b'["HC1:"]', 422),
        (b'{"hc1": "' + b"A" * JSON_LIMIT + b'"}', 413),
    ]:
        response = client.post(
            "/api/v1/certificates/verify",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == status, body[:20]
        assert response.headers["content-type"] == "application/problem+json"
    response = client.post(
        "/api/v1/certificates/verify", content=b"HC1:", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422


def test_verify_endpoint_reads_a_photo_of_the_qr(client, world) -> None:
    png = qr_png(_hc1(world, ALICE))
    response = client.post(
        "/api/v1/certificates/verify", files={"image": ("qr.png", png, "image/png")}
    )
    assert response.status_code == 200
    assert response.json()["valid"] is True
    junk = client.post(
        "/api/v1/certificates/verify", files={"image": ("qr.png", b"\x89PNG nope", "image/png")}
    )
    assert junk.status_code == 200
    assert (junk.json()["failed_step"], junk.json()["failure"]["code"]) == ("image", "qr_not_found")


def test_downloads_for_offline_verifiers(client, world, pki) -> None:
    response = client.get("/api/v1/certificates/trust-list")
    assert response.status_code == 200
    trust = load_trust_list(
        response.content, response.headers["x-signature"], [pki.csca.certificate], now=LATER
    )
    assert pki.dsc.kid in trust.kids()
    revocations = client.get("/api/v1/certificates/revocations").json()
    assert revocations["count"] == 1
    offline = InMemoryRevocationList(hashes=[base64.b64decode(h) for h in revocations["hashes"]])
    assert offline.is_revoked(world.certificates(BOB)[0].uvci)
    assert not offline.is_revoked(world.active(ALICE).uvci)
    since = client.get(
        "/api/v1/certificates/revocations", params={"since": "2025-03-02T00:00:00+00:00"}
    )
    assert since.json()["count"] == 0
    naive = client.get("/api/v1/certificates/revocations", params={"since": "2025-03-02T00:00:00"})
    assert naive.status_code == 422


def test_citizen_app_endpoint_needs_a_token_and_records_access(client, world) -> None:
    with transaction(world.engine) as s:
        _, token = add_client(s, "VNeID", by="tester", now=NOW)
        _, retired = add_client(s, "Old app", by="tester", now=NOW)
        deactivate_client(s, "Old app")
    by_id = "/api/v1/citizens/certificate"
    for headers in ({}, {"Authorization": "Bearer vxl_" + "A" * 43},
                    {"Authorization": f"Bearer {retired}"}, {"Authorization": f"Basic {token}"}):  # fmt: skip
        response = client.post(by_id, json={"citizen_id": ALICE}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    auth = {"Authorization": f"Bearer {token}"}
    body = client.post(by_id, json={"citizen_id": ALICE}, headers=auth)
    assert body.status_code == 200
    data = body.json()
    assert data["uvci"] == world.active(ALICE).uvci
    assert data["hc1"].startswith("HC1:")
    assert data["expires_at"].startswith("2026-03-01")
    assert len(data["fields"]) == 11
    assert body.headers["cache-control"] == "no-store"
    url = f"/api/v1/citizens/{data['ref']}/certificate"
    assert client.get(url, headers=auth).json()["uvci"] == data["uvci"]
    assert client.post(by_id, json={"citizen_id": BOB}, headers=auth).status_code == 404
    assert client.post(by_id, json={"citizen_id": NOBODY}, headers=auth).status_code == 404
    assert client.post(by_id, json={"citizen_id": "12ab"}, headers=auth).status_code == 422
    # The ID number in the URL is refused, and an unknown reference is not found.
    assert client.get(f"/api/v1/citizens/{ALICE}/certificate", headers=auth).status_code == 422
    unknown = "/api/v1/citizens/p" + "a" * 26 + "/certificate"
    assert client.get(unknown, headers=auth).status_code == 404
    pdf = client.get(f"{url}.pdf", headers=auth)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    fhir = client.get(f"{url}.fhir.json", headers=auth)
    assert fhir.status_code == 200
    bundle = Bundle.model_validate_json(fhir.content)
    assert bundle.type == "document"
    assert json.loads(fhir.content)["identifier"]["value"] == world.active(ALICE).uvci
    with world.session() as s:
        accesses = s.execute(  # the log names the person by reference; the store resolves it
            select(PersonRef.citizen_id, CertificateAccess.document)
            .join(PersonRef, PersonRef.ref == CertificateAccess.person_ref)
            .order_by(CertificateAccess.id)
        ).all()  # fmt: skip
        assert "citizen_id" not in CertificateAccess.__table__.c  # no ID number kept
    assert [tuple(a) for a in accesses] == [
        (ALICE, "json"), (ALICE, "json"), (BOB, "json"), (NOBODY, "json"), (ALICE, "pdf"),
        (ALICE, "fhir"),
    ]  # fmt: skip


def test_verifier_page_in_vietnamese_and_english(client, world) -> None:
    page = client.get("/verify")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Kiểm tra chứng nhận tiêm chủng" in page.text
    assert 'name="viewport"' in page.text
    english = client.get("/verify?lang=en")
    assert "Verify a vaccination certificate" in english.text
    assert '<html lang="en">' in english.text
    valid = client.post("/verify", data={"hc1": _hc1(world, ALICE), "lang": "vi"})
    assert valid.status_code == 200
    assert "HỢP LỆ" in valid.text
    assert "KHÔNG HỢP LỆ" not in valid.text
    assert "Ngày tiêm" in valid.text  # the 11 fields, in the page's language (#17)
    assert "Date of vaccination" not in valid.text
    in_english = client.post("/verify?lang=en", data={"hc1": _hc1(world, ALICE), "lang": "en"})
    assert "Date of vaccination" in in_english.text  # the regulation's own labels
    assert "Nguyễn, Thị Hoa" in valid.text
    assert valid.headers["cache-control"] == "no-store"
    revoked = client.post("/verify?lang=en", data={"hc1": _hc1(world, BOB)})
    assert "NOT VALID" in revoked.text
    assert "revoked" in revoked.text
    garbage = client.post("/verify", data={"hc1": "hello", "lang": "vi"})
    assert "KHÔNG HỢP LỆ" in garbage.text
    assert "phải bắt đầu bằng HC1:" in garbage.text
    assert "Surname" not in garbage.text  # nothing shown from an unverified text
    photo = client.post(
        "/verify?lang=en",
        data={"lang": "en"},
        files={"image": ("qr.png", qr_png(_hc1(world, ALICE)), "image/png")},
    )
    assert "VALID" in photo.text
    assert "NOT VALID" not in photo.text

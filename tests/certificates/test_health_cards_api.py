"""The WHO DDCC:VS and SMART Health Card routes over a real store (SQLite and PostgreSQL): the
card checked by jwcrypto with the JWKS the app publishes, the DDCC QR by pycose with the DSC of
the trust list, the FHIR export by the DDCC profile checker."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from pycose.headers import KID
from sqlalchemy import select

from vaxlink.certificates.clients import add_client
from vaxlink.certificates.core import shc
from vaxlink.certificates.core.fhir import PROFILE_DOCUMENT
from vaxlink.certificates.keys.trustlist import load_trust_list
from vaxlink.certificates.models import CertificateAccess
from vaxlink.certificates.qrimage import read_qr
from vaxlink.certificates.web.deps import clock
from vaxlink.db import transaction
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW
from .test_ddcc_profiles import PROFILES
from .test_ddcc_qr import _pycose_payload, _sign1
from .test_shc import verified_claims

LATER = NOW + dt.timedelta(days=2)
HOLDER, OTHER = "001085000501", "001085000502"
ISSUER = "https://vaxlink.example.vn"


@pytest.fixture
def client(world, fully_vaccinated, pki, store_url, tmp_path) -> Iterator[TestClient]:
    """The app on the test store, one person fully vaccinated, the SHC issuer URL configured."""
    fully_vaccinated(HOLDER, "Nguyễn Thị Hoa")
    world.approve()
    world.issue()
    pki.save(tmp_path / "keys")
    settings = Settings(data_dir=tmp_path, database_url=store_url, shc_issuer_url=ISSUER)
    app = create_app(settings)
    app.dependency_overrides[clock] = lambda: LATER
    with TestClient(app) as test_client:
        yield test_client


def _auth(world, client: TestClient) -> tuple[dict[str, str], str]:
    with transaction(world.engine) as s:
        _, token = add_client(s, "Partner", by="tester", now=NOW)
    auth = {"Authorization": f"Bearer {token}"}
    body = client.post("/api/v1/citizens/certificate", json={"citizen_id": HOLDER}, headers=auth)
    assert body.status_code == 200, body.text
    return auth, f"/api/v1/citizens/{body.json()['ref']}/certificate"


def test_jwks_publishes_the_trusted_dsc_public_keys_only(client, pki) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    keys = response.json()["keys"]
    expected = {shc.public_jwk(p.certificate.public_key())["kid"] for p in (pki.dsc, pki.dsc2)}
    assert {k["kid"] for k in keys} == expected
    for key in keys:
        assert set(key) == {"kty", "kid", "use", "alg", "crv", "x", "y", "crlVersion"}  # no "d"
        assert (key["use"], key["alg"], key["crv"]) == ("sig", "ES256", "P-256")


def test_the_smart_health_card_verifies_with_the_published_keys(client, world) -> None:
    anonymous = client.get("/api/v1/citizens/p" + "a" * 26 + "/certificate.shc")
    assert anonymous.status_code == 401
    auth, url = _auth(world, client)
    response = client.get(f"{url}.shc", headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/smart-health-card"
    assert response.headers["cache-control"] == "no-store"
    assert ".smart-health-card" in response.headers["content-disposition"]
    (token,) = response.json()["verifiableCredential"]
    keys = client.get("/.well-known/jwks.json").json()
    claims = verified_claims(token, keys)
    assert claims["iss"] == ISSUER
    certificate = world.active(HOLDER)
    iat = certificate.iat if certificate.iat.tzinfo else certificate.iat.replace(tzinfo=dt.UTC)
    assert claims["nbf"] == int(iat.timestamp())
    patient, immunization = (
        e["resource"] for e in claims["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    )
    assert patient["birthDate"] == certificate.payload["dob"]
    assert patient["name"][0]["family"] == certificate.payload["nam"]["fn"]
    entry = certificate.payload["v"][0]
    assert immunization["occurrenceDateTime"] == entry["dt"]
    assert immunization["vaccineCode"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/cvx"
    # the QR image carries the same card
    qr = client.get(f"{url}.shc.png", headers=auth)
    assert qr.status_code == 200
    assert qr.headers["content-type"] == "image/png"
    text = read_qr(qr.content)
    assert text.startswith("shc:/")
    verified_claims(shc.from_numeric(text), keys)


def test_the_ddcc_qr_verifies_with_pycose_and_the_fhir_export_meets_the_profiles(
    client, world, pki
) -> None:
    auth, url = _auth(world, client)
    response = client.get(f"{url}.ddcc", headers=auth)
    assert response.status_code == 200, response.text
    text = response.text
    assert text.startswith("HC1:")
    # each request signs anew (ECDSA signatures differ), the claims are the same
    from_image = read_qr(client.get(f"{url}.ddcc.png", headers=auth).content)
    assert from_image.startswith("HC1:")
    assert from_image != text
    # a verifier finds the DSC by the message's kid on the signed trust list, as for an EU DCC
    listed = client.get("/api/v1/certificates/trust-list")
    trust = load_trust_list(listed.content, listed.headers["x-signature"],
                            [pki.csca.certificate], now=LATER)  # fmt: skip
    (dsc,) = trust.lookup(_sign1(text).phdr[KID])
    claims = _pycose_payload(text, dsc.public_key())
    assert _pycose_payload(from_image, pki.dsc.certificate.public_key()) == claims
    data = claims[-260][2]
    certificate = world.active(HOLDER)
    assert data["certificate"]["hcid"]["value"] == certificate.uvci
    assert data["vaccination"]["dose"] == certificate.payload["v"][0]["dn"]
    assert data["vaccination"]["disease"]["code"] == "RA01"
    fhir = client.get(f"{url}.fhir.json", headers=auth)
    assert fhir.status_code == 200
    bundle = json.loads(fhir.content)
    assert [str(i) for i in PROFILES.check_bundle(bundle, PROFILE_DOCUMENT)] == []
    with world.session() as s:
        documents = s.scalars(
            select(CertificateAccess.document).order_by(CertificateAccess.id)
        ).all()
    assert documents == ["json", "ddcc", "ddcc-qr", "fhir"]


def test_unset_issuer_url_falls_back_to_the_request_address(world, fully_vaccinated, pki,
                                                            store_url, tmp_path) -> None:  # fmt: skip
    fully_vaccinated(OTHER, "Trần Văn Hùng")
    world.approve()
    world.issue()
    pki.save(tmp_path / "keys")
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    app.dependency_overrides[clock] = lambda: LATER
    with TestClient(app, base_url="https://vaxlink.test") as client:
        with transaction(world.engine) as s:
            _, token = add_client(s, "Partner", by="tester", now=NOW)
        auth = {"Authorization": f"Bearer {token}"}
        ref = client.post("/api/v1/citizens/certificate", json={"citizen_id": OTHER},
                          headers=auth).json()["ref"]  # fmt: skip
        card = client.get(f"/api/v1/citizens/{ref}/certificate.shc", headers=auth).json()
        keys = client.get("/.well-known/jwks.json").json()
    assert verified_claims(card["verifiableCredential"][0], keys)["iss"] == "https://vaxlink.test"
    pem = pki.dsc.certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem.startswith(b"-----BEGIN PUBLIC KEY")


def test_a_revoked_certificates_card_is_on_its_keys_revocation_list(client, world) -> None:
    """SHC revocation (method `rid`): the card carries its certificate's rid and end; once the
    certificate is revoked, the kid's list at /.well-known/crl/{kid}.json names that rid."""
    from vaxlink.certificates.issuance.lifecycle import revoke

    auth, url = _auth(world, client)
    (token,) = client.get(f"{url}.shc", headers=auth).json()["verifiableCredential"]
    keys = client.get("/.well-known/jwks.json").json()
    claims = verified_claims(token, keys)
    certificate = world.active(HOLDER)
    exp = certificate.exp if certificate.exp.tzinfo else certificate.exp.replace(tzinfo=dt.UTC)
    assert claims["exp"] == int(exp.timestamp())
    card_rid = claims["vc"]["rid"]
    kid = json.loads(base64url_decode(token.split(".")[0]))["kid"]
    listed = client.get(f"/.well-known/crl/{kid}.json")
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == "*"
    assert card_rid not in listed.json()["rids"]
    before = listed.json()["ctr"]
    with transaction(world.engine) as s:
        revoke(s, certificate.uvci, reason="identity corrected", by="tester", now=NOW)
    after = client.get(f"/.well-known/crl/{kid}.json").json()
    assert (after["kid"], after["method"]) == (kid, "rid")
    assert card_rid in after["rids"]
    assert after["ctr"] > before
    assert client.get("/.well-known/crl/" + "A" * 43 + ".json").status_code == 404


def base64url_decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

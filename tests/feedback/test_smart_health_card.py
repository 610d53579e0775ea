"""The citizen portal offers the vaccination as a SMART Health Card file: signed by the issuer's
key, verified here by jwcrypto with the keys the same app publishes, and audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.certificates.test_shc import verified_claims
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.service import approve_records, issue_batch
from vaxlink.db import transaction
from vaxlink.records.service import person_ref

from .conftest import Pki, World
from .test_pages import CID, PHONE, _citizen_client, _login


@pytest.fixture
def setup(staff_client: Callable[..., Any], pki: Pki) -> tuple[Any, World]:
    station = staff_client(Role.HEALTH_STATION, "ward:00001")
    pki.save(station.app.state.settings.data_dir / "keys")
    return station, World(station.engine)


def test_the_citizen_downloads_a_verifiable_smart_health_card(
    setup: tuple[Any, World], pki: Pki
) -> None:
    station, world = setup
    world.citizen(CID, phone=PHONE)
    world.dose(CID, 1, dt.date(2021, 8, 2))
    world.dose(CID, 2, dt.date(2021, 8, 30))
    client = _citizen_client(station)
    _login(client)
    assert client.get("/c/certificate.smart-health-card").status_code == 404  # none issued yet
    with transaction(world.engine) as s:
        approve_records(s, pki.facility["F001"], facility_code="F001", approver="A",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip
    issue_batch(
        world.engine, pki.dsc, issuer_name="Bộ Y tế", by="test", now=dt.datetime.now(dt.UTC)
    )
    page = client.get("/c/certificate").text
    assert 'id="certificate-shc" href="/c/certificate.smart-health-card"' in page
    response = client.get("/c/certificate.smart-health-card")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/smart-health-card"
    assert response.headers["cache-control"] == "no-store"
    assert "attachment" in response.headers["content-disposition"]
    (token,) = response.json()["verifiableCredential"]
    claims = verified_claims(token, client.get("/.well-known/jwks.json").json())
    assert claims["iss"] == "http://testserver"  # no VAXLINK_SHC_ISSUER_URL: the request's address
    patient, immunization = (
        e["resource"] for e in claims["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    )
    assert patient["birthDate"] == "1985-03-14"
    assert immunization["occurrenceDateTime"] == "2021-08-30"  # the certificate's (last) dose
    with transaction(world.engine) as s:
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == person_ref(s, CID))).all()  # fmt: skip
    assert "feedback.citizen.download_shc" in actions
    # without a citizen session there is nothing to download
    assert _citizen_client(station).get("/c/certificate.smart-health-card",
                                        follow_redirects=False).status_code in (303, 401)  # fmt: skip

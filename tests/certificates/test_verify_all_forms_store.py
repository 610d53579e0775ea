"""The online verifier over a real store (SQLite and PostgreSQL): the WHO DDCC:VS and SMART Health
Card a partner app downloads are verified by the verify API, the `/verify` page (text and photo,
both languages) and the `vaxlink certificates verify` command, against the published DSCs, and
refused once the certificate is revoked in the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vaxlink.certificates.cli.app import app as certificates_cli
from vaxlink.certificates.clients import add_client
from vaxlink.certificates.core import shc
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.web.deps import clock
from vaxlink.db import transaction
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW

LATER = NOW + dt.timedelta(days=2)
HOLDER = "001085000601"
ISSUER = "https://vaxlink.example.vn"


@pytest.fixture
def client(world, fully_vaccinated, pki, store_url, tmp_path) -> Iterator[TestClient]:
    fully_vaccinated(HOLDER, "Nguyễn Thị Hoa")
    world.approve()
    world.issue()
    pki.save(tmp_path / "keys")
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url, shc_issuer_url=ISSUER))
    app.dependency_overrides[clock] = lambda: LATER
    with TestClient(app) as test_client:
        yield test_client


def _documents(world, client: TestClient) -> dict[str, str]:
    """The holder's three QR texts as a partner app receives them."""
    with transaction(world.engine) as s:
        _, token = add_client(s, "Partner", by="tester", now=NOW)
    auth = {"Authorization": f"Bearer {token}"}
    ref = client.post("/api/v1/citizens/certificate", json={"citizen_id": HOLDER},
                      headers=auth).json()["ref"]  # fmt: skip
    url = f"/api/v1/citizens/{ref}/certificate"
    (jws,) = client.get(f"{url}.shc", headers=auth).json()["verifiableCredential"]
    return {
        "dcc": world.active(HOLDER).hc1,
        "ddcc": client.get(f"{url}.ddcc", headers=auth).text,
        "shc": shc.numeric(jws),
        "shc.png": client.get(f"{url}.shc.png", headers=auth).content.decode("latin-1"),
        "ddcc.png": client.get(f"{url}.ddcc.png", headers=auth).content.decode("latin-1"),
    }


def _api(client: TestClient, text: str) -> dict:
    response = client.post("/api/v1/certificates/verify", json={"hc1": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_api_and_the_page_verify_each_form_and_refuse_it_once_revoked(client, world) -> None:
    texts = _documents(world, client)
    for form in ("dcc", "ddcc", "shc"):
        result = _api(client, texts[form])
        assert result["valid"], (form, result["failure"])
        assert result["format"] == form
        shown = {f["key"]: f["value"] for f in result["fields"]}
        assert "Nguyễn" in shown["name"], form
        assert shown["date_of_birth"], form
        assert shown["vaccination_date"] == "2021-08-30", form
    # a photo of each QR, through the same endpoint
    for form in ("ddcc", "shc"):
        png = texts[f"{form}.png"].encode("latin-1")
        photo = client.post("/api/v1/certificates/verify",
                            files={"image": ("qr.png", png, "image/png")}).json()  # fmt: skip
        assert photo["valid"], (form, photo["failure"])
        assert photo["format"] == form
    # the page, in Vietnamese: the verdict, the form's name and the labelled fields
    page = client.post("/verify", data={"hc1": texts["shc"], "lang": "vi"})
    assert "HỢP LỆ" in page.text
    assert "KHÔNG HỢP LỆ" not in page.text
    assert "SMART Health Card" in page.text
    assert "Ngày sinh" in page.text
    assert "Ngày tiêm" in page.text
    ddcc_page = client.post("/verify?lang=en", data={"hc1": texts["ddcc"], "lang": "en"})
    assert "WHO DDCC:VS" in ddcc_page.text
    assert "Date of vaccination" in ddcc_page.text
    # a character changed in the card's payload: refused, nothing of it shown
    jws = shc.from_numeric(texts["shc"])
    header, payload, signature = jws.split(".")
    at = len(payload) // 2
    forged = f"{header}.{payload[:at]}{'B' if payload[at] != 'B' else 'C'}{payload[at + 1 :]}"
    tampered = _api(client, shc.numeric(f"{forged}.{signature}"))
    assert tampered["failure"]["code"] == "signature_invalid"
    assert tampered["fields"] == []
    assert tampered["payload"] is None
    # revoked in the store: the DDCC (by its hcid) and the card (by its rid) are refused
    with transaction(world.engine) as s:
        revoke(s, world.active(HOLDER).uvci, reason="test", by="tester", now=NOW)
    for form in ("dcc", "ddcc", "shc"):
        result = _api(client, texts[form])
        assert result["failure"]["code"] == "revoked", form
    revoked = client.post("/verify?lang=en", data={"hc1": texts["shc"], "lang": "en"})
    assert "NOT VALID" in revoked.text
    assert "The certificate has been revoked." in revoked.text
    in_vietnamese = client.post("/verify", data={"hc1": texts["ddcc"], "lang": "vi"})
    assert "Chứng nhận đã bị thu hồi." in in_vietnamese.text


def test_malformed_health_card_texts_are_refused_in_both_languages(client) -> None:
    for text, code in (("shc:/5676", "jws_malformed"), ("shc:/99", "numeric_invalid"),
                       ("shc:/" + "5" * 9000, "input_too_large")):  # fmt: skip
        assert _api(client, text)["failure"]["code"] == code
    vi = client.post("/verify", data={"hc1": "shc:/123", "lang": "vi"})
    assert "chữ số không hợp lệ" in vi.text
    en = client.post("/verify?lang=en", data={"hc1": "shc:/123", "lang": "en"})
    assert "invalid digits" in en.text


def test_the_cli_verifies_a_health_card_with_the_dsc_it_is_given(
    client, world, pki, tmp_path: Path
) -> None:
    texts = _documents(world, client)
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(pki.dsc.certificate.public_bytes(serialization.Encoding.PEM))
    runner = CliRunner()
    at = ["--trust", str(pem), "--clock", LATER.isoformat()]
    for form in ("ddcc", "shc"):
        shown = runner.invoke(certificates_cli, ["verify", texts[form], *at])
        assert shown.exit_code == 0, shown.output
        assert f"VALID ({form})" in shown.output
        assert "Nguyễn" in shown.output
    card_file = tmp_path / "card.txt"
    card_file.write_text(texts["shc"])
    revoked = tmp_path / "revoked.txt"
    revoked.write_text(world.active(HOLDER).uvci + "\n")
    refused = runner.invoke(certificates_cli,
                            ["verify", str(card_file), *at, "--revoked", str(revoked)])  # fmt: skip
    assert refused.exit_code == 1
    assert "revoked" in refused.output

"""The offline verifier in Debian Chromium reads the two further forms vaxlink issues: a WHO
DDCC:VS (`HC1:`, hcert key 2) and a SMART Health Card (`shc:/`, its key found in the verified
trust list by JWK thumbprint), with the network off: valid, tampered, another key, alg none,
revoked, expired, malformed — nothing of a card shown before its signature verifies."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from vaxlink.certificates import documents
from vaxlink.certificates.core import ddcc_qr, shc
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.models import Certificate

from .test_offline_verifier_browser import CHECK, issued, open_verifier

pytestmark = pytest.mark.browser
ISSUER = "https://vaxlink.example.vn"


def _texts(live_server: Any, certificate: Certificate, signer: Any) -> tuple[str, str]:
    with live_server.session() as s:
        ddcc = documents.certificate_ddcc_qr(s, certificate, signer)
        jws = documents.certificate_shc(s, certificate, signer, issuer_url=ISSUER)
    return ddcc, shc.numeric(jws)


def _changed(card: str) -> str:
    """The card with one character of its payload changed (still canonical base64url)."""
    header, payload, signature = shc.from_numeric(card).split(".")
    at = len(payload) // 2
    swapped = "B" if payload[at] != "B" else "C"
    return shc.numeric(f"{header}.{payload[:at]}{swapped}{payload[at + 1 :]}.{signature}")


def _alg_none(card: str) -> str:
    header, payload, _ = shc.from_numeric(card).split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    forged = shc.b64url(json.dumps(fields | {"alg": "none"}).encode())
    return shc.numeric(f"{forged}.{payload}.")


def test_ddcc_and_health_cards_verify_offline(live_server, browser) -> None:
    certificates, pki = issued(live_server)
    valid, _, to_revoke = certificates
    ddcc, card = _texts(live_server, valid, pki.dsc)
    revoked_ddcc, revoked_card = _texts(live_server, to_revoke, pki.dsc)
    with live_server.session() as s:
        revoke(s, to_revoke.uvci, reason="test", by="tester", now=dt.datetime.now(dt.UTC))
    now = dt.datetime.now(dt.UTC)
    stranger_csca = keys.create_csca(country="VN", organization="Giả mạo", now=now)
    stranger = keys.create_dsc(stranger_csca, now=now, common_name="Rogue DSC")
    with live_server.session() as s:
        foreign_card = shc.numeric(documents.certificate_shc(s, valid, stranger, issuer_url=ISSUER))
        foreign_ddcc = ddcc_qr.sign_ddcc(documents.ddcc_record(s, valid), stranger, country="VN",
                                         issued=now, expires=now + dt.timedelta(days=30))  # fmt: skip

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        page = context.new_page()
        open_verifier(page, live_server.url)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        open_verifier(page, live_server.url)
        context.set_offline(True)
        open_verifier(page, live_server.url)  # the shell and the lists from the caches

        def check(text: str) -> dict[str, Any]:
            result: dict[str, Any] = page.evaluate(CHECK, text)
            assert result["ms"] < 1000, result
            return dict(result["verdict"])

        for text in (ddcc, card, "SHC:/" + card[5:]):
            verdict = check(text)
            assert verdict["status"] == "VALID", verdict
            assert verdict["holder"]["name"] == "Nguyễn Văn An"
            assert verdict["holder"]["dob"] == valid.payload["dob"]
        assert page.inner_text("#verdict-title") == "HỢP LỆ"
        assert page.inner_text("#holder-name") == "Nguyễn Văn An"
        dob = valid.payload["dob"]
        assert page.inner_text("#holder-dob") == "/".join(reversed(dob.split("-")))

        tampered = check(_changed(card))
        assert (tampered["status"], tampered["reason"]) == ("NOT_VALID", "signature")
        assert tampered["holder"] is None
        assert page.locator("#holder").is_hidden()
        assert check(_alg_none(card)) == {"status": "NOT_VALID", "reason": "algorithm",
                                          "holder": None}  # fmt: skip
        for foreign in (foreign_card, foreign_ddcc):
            verdict = check(foreign)
            assert (verdict["status"], verdict["holder"]) == ("UNKNOWN_ISSUER", None)
        for revoked in (revoked_ddcc, revoked_card):
            assert check(revoked)["status"] == "REVOKED"
        after = int((valid.exp + dt.timedelta(days=1)).timestamp() * 1000)
        for text in (ddcc, card):
            verdict = page.evaluate("([t, n]) => window.vaxlinkVerifier.check(t, n)", [text, after])
            assert verdict["status"] == "EXPIRED"
        for malformed in ("shc:/99", "shc:/567", "shc:/5676", card[: len(card) // 2], "shc:/"):
            assert check(malformed)["status"] in ("UNREAD", "NOT_VALID"), malformed
            assert check(malformed).get("holder") is None
        assert check("shc:/99")["status"] == "UNREAD"
        check("hello")
        assert "HC1: hoặc shc:/" in page.inner_text("#verdict-reason")
    finally:
        context.close()
    outside = [u for u in requests if not u.startswith(live_server.url + "/")]
    assert not outside, outside

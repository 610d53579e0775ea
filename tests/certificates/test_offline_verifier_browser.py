"""The offline verifier (#18) in Debian Chromium: loaded once online, then with the browser
context offline it verifies real certificates issued by vaxlink in the browser (WebCrypto,
vendored cborg): valid, tampered, revoked, each under a second; it fetches nothing from
another origin, refuses a trust list whose signature fails and keeps the last good one."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import cbor2
import pytest
from sqlalchemy import select

from vaxlink.certificates.core import hc1
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.models import Certificate

from .conftest import World, make_pki

pytestmark = pytest.mark.browser

CHECK = """async (text) => {
  const t0 = performance.now();
  const verdict = await window.vaxlinkVerifier.check(text);
  return {verdict, ms: performance.now() - t0};
}"""


def tampered(text: str) -> str:
    """The same certificate with one byte of its signature changed, re-encoded."""
    message = cbor2.loads(hc1.decode(text))
    protected, unprotected, payload, signature = message.value
    changed = bytearray(signature)
    changed[10] ^= 0x01
    return hc1.encode(cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, changed])))


def issued(live_server: Any) -> tuple[list[Certificate], Any]:
    """Three people with two doses each, approved and issued now, with the server's key store."""
    now = dt.datetime.now(dt.UTC)
    pki = make_pki(now - dt.timedelta(days=1))
    world = World(live_server.engine, pki)
    for i, name in enumerate(("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")):
        world.citizen(f"00108500090{i}", name, dob=f"198{i}-0{i + 3}-1{i}")
        world.dose(f"00108500090{i}", 1, dt.date(2021, 8, 2))
        world.dose(f"00108500090{i}", 2, dt.date(2021, 8, 30))
    world.approve(now=now)
    world.issue(now=now)
    pki.save(live_server.settings.data_dir / "keys")
    with live_server.session() as s:
        certificates = list(s.scalars(select(Certificate).order_by(Certificate.id)))
        s.expunge_all()
    assert len(certificates) == 3
    return certificates, pki


def open_verifier(page: Any, url: str) -> None:
    page.goto(url + "/verifier")
    page.wait_for_selector("#lists[data-ready='1']", state="attached", timeout=30_000)


def test_verifies_offline_in_the_browser(live_server, browser) -> None:
    certificates, _ = issued(live_server)
    valid, other, to_revoke = certificates
    with live_server.session() as s:
        revoke(s, to_revoke.uvci, reason="thẻ bị mất", by="tester", now=dt.datetime.now(dt.UTC))

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        page = context.new_page()
        open_verifier(page, live_server.url)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        open_verifier(page, live_server.url)  # now controlled: the worker caches the lists
        assert page.evaluate("!!navigator.serviceWorker.controller")
        assert "Danh sách tin cậy ngày" in page.inner_text("#trust-age")

        context.set_offline(True)
        assert page.evaluate("navigator.onLine") is False
        open_verifier(page, live_server.url)  # the app shell and the lists from the caches
        age = page.inner_text("#trust-age")
        assert age.startswith("Danh sách tin cậy ngày ")
        assert dt.datetime.strptime(age.rsplit(" ", 2)[-2], "%d/%m/%Y")

        # nothing read yet: a calm message, never NOT VALID
        result = page.evaluate(CHECK, "")
        assert result["verdict"]["status"] == "UNREAD"
        assert "calm" in page.get_attribute("#verdict", "class")
        assert page.inner_text("#verdict-title") == "Chưa đọc được mã QR"
        assert page.evaluate(CHECK, "HC1:NOT-A-QR")["verdict"]["status"] == "UNREAD"

        result = page.evaluate(CHECK, valid.hc1)
        assert result["verdict"]["status"] == "VALID", result
        assert result["ms"] < 1000, result
        assert page.inner_text("#verdict-title") == "HỢP LỆ"
        nam = valid.payload["nam"]
        assert page.inner_text("#holder-name") == f"{nam['fn']} {nam['gn']}" == "Nguyễn Văn An"
        dob = valid.payload["dob"]
        assert page.inner_text("#holder-dob") == "/".join(reversed(dob.split("-")))
        assert page.inner_text("#holder-transliterated") == f"{nam['fnt']}<<{nam['gnt']}"

        result = page.evaluate(CHECK, tampered(other.hc1))
        assert result["verdict"]["status"] == "NOT_VALID", result
        assert result["verdict"]["reason"] == "signature"
        assert result["verdict"]["holder"] is None  # nothing shown before the signature verifies
        assert result["ms"] < 1000, result
        assert page.inner_text("#verdict-title") == "KHÔNG HỢP LỆ"
        assert page.locator("#holder").is_hidden()

        result = page.evaluate(CHECK, to_revoke.hc1)
        assert result["verdict"]["status"] == "REVOKED", result
        assert result["ms"] < 1000, result

        # the device clock decides expiry: a day past the certificate's end, it is EXPIRED
        after = int((valid.exp + dt.timedelta(days=1)).timestamp() * 1000)
        verdict = page.evaluate(
            "([t, n]) => window.vaxlinkVerifier.check(t, n)", [valid.hc1, after]
        )
        assert verdict["status"] == "EXPIRED"

        page.click("#lang-switch")
        page.fill("#hc1", valid.hc1)
        page.click("#verify-go")
        page.wait_for_selector("#verdict[data-status='VALID']")
        assert page.inner_text("#verdict-title") == "VALID"
        assert page.inner_text("#trust-age").startswith("Trust list from ")
    finally:
        context.close()
    assert requests
    outside = [u for u in requests if not u.startswith(live_server.url + "/")]
    assert not outside, outside


def test_a_trust_list_whose_signature_fails_is_refused_and_the_last_good_one_kept(
    live_server, browser
) -> None:
    certificates, _ = issued(live_server)
    # without the worker, so that page.route sees the page's own download of the list
    context = browser.new_context(locale="vi-VN", service_workers="block")
    try:
        page = context.new_page()
        open_verifier(page, live_server.url)
        good = page.inner_text("#trust-age")

        def forged(route: Any) -> None:  # the served list with one kid swapped: the JWS fails
            response = route.fetch()
            body = response.text().replace('"kid":"', '"kid":"A', 1)
            route.fulfill(response=response, body=body)

        page.route("**/api/v1/certificates/trust-list", forged)
        open_verifier(page, live_server.url)
        assert page.locator("#trust-refused").is_visible()
        assert page.inner_text("#trust-age") == good
        verdict = page.evaluate("t => window.vaxlinkVerifier.check(t)", certificates[0].hc1)
        assert verdict["status"] == "VALID"
    finally:
        context.close()


def test_a_kid_not_in_the_trust_list_is_an_unknown_issuer(live_server, browser) -> None:
    certificates, _ = issued(live_server)
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        open_verifier(page, live_server.url)
        text = certificates[0].hc1
        protected, unprotected, payload, signature = cbor2.loads(hc1.decode(text)).value
        header = cbor2.loads(protected)
        header[4] = hashlib.sha256(b"another key").digest()[:8]  # a kid the list does not hold
        message = [cbor2.dumps(header), unprotected, payload, signature]
        other = hc1.encode(cbor2.dumps(cbor2.CBORTag(18, message)))
        verdict = page.evaluate("t => window.vaxlinkVerifier.check(t)", other)
        assert verdict["status"] == "UNKNOWN_ISSUER"
        assert verdict["holder"] is None
    finally:
        context.close()


def test_base45_in_the_browser_matches_the_server(live_server, page) -> None:
    samples = [b"", b"\x00", b"\xff", b"\xff\xff", b"AB", b"Hello!!", bytes(range(256))]
    page.goto(live_server.url + "/verifier")
    decoded = page.evaluate(
        """async (texts) => {
          const m = await import('/static/js/verifier/base45.js');
          return texts.map((t) => { const b = m.decodeBase45(t); return b && Array.from(b); });
        }""",
        [hc1.b45encode(s) for s in samples] + ["GGW", "A", "ab", "::::"],
    )
    assert decoded[: len(samples)] == [list(s) for s in samples]
    assert decoded[len(samples) :] == [None, None, None, None]  # over 65535, dangling, bad chars

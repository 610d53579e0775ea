"""The offline verifier (#18) in Debian Chromium: loaded once online, then with the browser
context offline it verifies real certificates issued by vaxlink in the browser (WebCrypto,
vendored cborg): valid, tampered, revoked, each under a second; it fetches nothing from
another origin, refuses a trust list whose signature fails and keeps the last good one."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import cbor2
import pytest
from PIL import Image
from sqlalchemy import select
from tests.web_support import CHROMIUM, CHROMIUM_ARGS

from vaxlink.certificates.core import hc1
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.keys.hierarchy import create_trust_list_signer
from vaxlink.certificates.keys.trustlist import SignedTrustList, build_trust_list
from vaxlink.certificates.models import Certificate
from vaxlink.certificates.qrimage import qr_png

from .conftest import World, make_pki

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("VAXLINK_SCREENSHOTS")

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
        with live_server.session() as s:  # a revocation the offline device cannot know of yet
            revoke(s, other.uvci, reason="test", by="tester", now=dt.datetime.now(dt.UTC))
        open_verifier(page, live_server.url)  # the app shell and the lists from the caches
        assert page.evaluate("t => window.vaxlinkVerifier.check(t)", other.hc1)["status"] == (
            "VALID"  # the cached list: nothing came from the server while offline
        )
        age = page.inner_text("#trust-age")
        assert age.startswith("Danh sách tin cậy ngày ")
        assert dt.datetime.strptime(age.rsplit(" ", 2)[-2], "%d/%m/%Y")

        # nothing read yet: a calm message, never NOT VALID
        result = page.evaluate(CHECK, "")
        assert result["verdict"]["status"] == "UNREAD"
        assert "calm" in page.get_attribute("#verdict", "class")
        assert page.inner_text("#verdict-title") == "Chưa đọc được mã QR"
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / "verifier-empty.png"), full_page=True)
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
        if SCREENSHOTS:  # to look at the page: VAXLINK_SCREENSHOTS=/some/dir
            page.screenshot(path=str(Path(SCREENSHOTS) / "verifier-valid.png"), full_page=True)
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


def _public_cases(root: Path) -> list[dict[str, Any]]:
    """The EU cases with an EC (P-256) DSC that say whether the signature verifies."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    cases = []
    for path in sorted(root.rglob("*.json")):
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
            expected = case["EXPECTEDRESULTS"]
            der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
            key = x509.load_der_x509_certificate(der).public_key()
        except (ValueError, KeyError, TypeError):
            continue
        if "EXPECTEDVERIFY" not in expected or not isinstance(key, ec.EllipticCurvePublicKey):
            continue
        if not isinstance(case.get("PREFIX"), str) or key.curve.name != "secp256r1":
            continue
        clock = dt.datetime.fromisoformat(case["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
        cases.append({"name": str(path.relative_to(root)), "text": case["PREFIX"],
                      "der": case["TESTCTX"]["CERTIFICATE"], "verify": expected["EXPECTEDVERIFY"],
                      "clock": int(clock.timestamp() * 1000)})  # fmt: skip
    return cases


#: Each case verified against a trust list of its own DSC, at the case's validation clock.
SIGNED = """async (cases) => {
  const dcc = await import('/static/js/verifier/dcc.js');
  const x509 = await import('/static/js/verifier/x509.js');
  const out = {};
  for (const c of cases) {
    const der = Uint8Array.from(atob(c.der), (ch) => ch.charCodeAt(0));
    const cert = x509.parseCertificate(der);
    const key = await crypto.subtle.importKey('spki', cert.spki,
      {name: 'ECDSA', namedCurve: cert.curve}, false, ['verify']);
    // a trust list of the case's DSC alone, under its kid (the first 8 bytes of its SHA-256)
    const kid = new Uint8Array(await crypto.subtle.digest('SHA-256', der)).subarray(0, 8);
    const trust = {byKid: new Map([[btoa(String.fromCharCode(...kid)), [{cert, key}]]])};
    const v = await dcc.verifyHc1(c.text, trust, new Set(), c.clock);
    out[c.name] = v.status + ':' + v.reason;
  }
  return out;
}"""
NOT_SIGNED = {"UNREAD", "UNKNOWN_ISSUER"}
SIGNATURE_REASONS = {"signature", "algorithm", "no_kid", "unknown_kid"}


def test_the_eu_public_cases_verify_in_the_browser_as_they_say(
    live_server, page, dcc_public
) -> None:
    """An independent check: the official test certificates of other countries, each against
    its own test DSC, get past the kid and signature checks in the browser exactly when the case
    says they verify."""
    cases = _public_cases(dcc_public)
    assert len(cases) >= 20
    page.goto(live_server.url + "/verifier")
    verdicts = page.evaluate(SIGNED, cases)
    wrong = []
    for case in cases:
        status, reason = verdicts[case["name"]].split(":")
        signed = status not in NOT_SIGNED and reason not in SIGNATURE_REASONS
        if signed != case["verify"]:
            wrong.append((case["name"], case["verify"], verdicts[case["name"]]))
    assert not wrong, wrong
    assert sum(c["verify"] for c in cases) >= 10


def _y4m(png: bytes, path: Path, frames: int = 10) -> Path:
    """A Y4M video (what Chromium's fake camera plays) showing the image, grey chroma."""
    image = Image.open(io.BytesIO(png)).convert("L")
    canvas = Image.new("L", (640, 480), 255)
    image.thumbnail((460, 460))
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    chroma = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + canvas.tobytes() + chroma + chroma)
    return path


def test_the_live_camera_reads_the_qr_offline(live_server, browser, tmp_path) -> None:
    certificates, _ = issued(live_server)
    video = _y4m(qr_png(certificates[0].hc1, scale=4), tmp_path / "qr.y4m")
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, permissions=["camera"])  # fmt: skip
    try:
        page = context.new_page()
        open_verifier(page, live_server.url)
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        open_verifier(page, live_server.url)
        context.set_offline(True)
        open_verifier(page, live_server.url)
        page.click("#scan-start")
        page.wait_for_selector("#verdict[data-status='VALID']", timeout=30_000)
        assert page.inner_text("#holder-name") == "Nguyễn Văn An"
        assert page.input_value("#hc1") == certificates[0].hc1
        assert page.locator("#scan-video").is_hidden()  # the camera stops once a QR is read
    finally:
        context.close()
        chromium.close()


REFUSAL = """async ([documentText, signature, pins, now]) => {
  const dcc = await import('/static/js/verifier/dcc.js');
  const anchors = await dcc.loadAnchors(pins);
  try {
    const trust = await dcc.verifyTrustList(documentText, signature, anchors, now);
    return 'accepted ' + trust.size;
  } catch (exc) {
    return (exc instanceof dcc.TrustListRefused ? 'refused: ' : 'error: ') + exc.message;
  }
}"""


def test_only_a_trust_list_signed_under_the_pinned_csca_is_used(live_server, page) -> None:
    """A well-formed list signed by another CSCA's trust-list signer is refused, as is one whose
    signer lacks the trust-list EKU; the genuine one is accepted."""
    now = dt.datetime.now(dt.UTC)
    ours, theirs = make_pki(now - dt.timedelta(days=1)), make_pki(now - dt.timedelta(days=1))
    pins = [base64.b64encode(ours.csca.certificate_der).decode()]
    genuine = build_trust_list([ours.dsc.certificate], create_trust_list_signer(ours.csca, now=now),
                               now)  # fmt: skip
    foreign = build_trust_list([ours.dsc.certificate],
                               create_trust_list_signer(theirs.csca, now=now), now)  # fmt: skip
    at = int(now.timestamp() * 1000) + 60_000
    page.goto(live_server.url + "/verifier")

    def run(signed: Any, *, when: int = at) -> str:
        return str(page.evaluate(REFUSAL, [signed.document.decode(), signed.signature, pins, when]))

    assert run(genuine) == "accepted 1"
    assert run(foreign).startswith("refused: the signer was not issued by the pinned CSCA")
    # a DSC (no trust-list EKU) cannot sign the list even though the CSCA issued it
    header = {"alg": "ES256", "typ": "dsc-trust-list+jws", "cty": "application/json",
              "iat": int(now.timestamp()), "x5c": [base64.b64encode(ours.dsc.certificate_der).decode()]}  # fmt: skip
    protected = _b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{protected}.{_b64url(genuine.document)}".encode()
    by_dsc = SignedTrustList(genuine.document,
                             f"{protected}..{_b64url(ours.dsc.sign(signing_input))}")  # fmt: skip
    assert run(by_dsc) == "refused: the signer is not a trust-list signer"
    later = int((now + dt.timedelta(days=3 * 365)).timestamp() * 1000)
    assert run(genuine, when=later) == "refused: the signer is not valid now"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

"""The offline verifier's routes (#18): the page embeds the key store's CSCAs and both
languages' strings, the manifest makes it installable, the service worker names a shell that is
all served here (a missing file would make its install fail), and a new CSCA changes the shell."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import Role
from vaxlink.certificates.web.verifier_pages import SHELL
from vaxlink.certificates.web.verifier_strings import STRINGS
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

from .conftest import NOW, Pki


@pytest.fixture
def client(store_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=store_url))) as c:
        yield c


def _config(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="verifier-config">(.*?)</script>', html, re.S
    )
    assert found, html[:500]
    return json.loads(found.group(1))


def test_the_page_pins_the_key_stores_csca_and_carries_both_languages(
    client: TestClient, pki: Pki, tmp_path: Path
) -> None:
    empty = client.get("/verifier")  # no key store yet: the page says so
    assert empty.status_code == 200
    assert 'id="not-configured"' in empty.text
    assert _config(empty.text)["cscas"] == []

    pki.save(tmp_path / "keys")
    page = client.get("/verifier")
    assert page.status_code == 200
    assert 'id="not-configured"' not in page.text
    der = pki.csca.certificate.public_bytes(serialization.Encoding.DER)
    config = _config(page.text)
    assert config["cscas"] == [base64.b64encode(der).decode()]
    assert config["strings"] == STRINGS
    assert set(STRINGS["vi"]) == set(STRINGS["en"])
    assert "Kiểm tra chứng nhận (ngoại tuyến)" in page.text  # Vietnamese first
    assert "script-src 'self'" in page.headers["content-security-policy"]  # no inline script
    assert '<link rel="manifest" href="/verifier/manifest.webmanifest">' in page.text


def test_manifest_and_service_worker(client: TestClient, pki: Pki, tmp_path: Path) -> None:
    pki.save(tmp_path / "keys")
    manifest = client.get("/verifier/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/verifier", "/verifier",
                                                                   "standalone")  # fmt: skip
    assert body["icons"]

    worker = client.get("/verifier/sw.js")
    assert worker.headers["service-worker-allowed"] == "/verifier"
    assert worker.headers["content-type"].startswith("text/javascript")
    shell = json.loads(re.search(r"^const SHELL = (.*);$", worker.text, re.M).group(1))  # type: ignore[union-attr]
    assert shell == list(SHELL)
    assert "/static/vendor/cborg/cborg.js" in shell
    assert "/static/vendor/zxing-wasm/zxing_reader.wasm" in shell
    for url in shell:  # everything the worker caches is served here
        assert client.get(url).status_code == 200, url
    # every module the scripts import is in the shell (so they load offline)
    root = Path(__file__).parents[2] / "src/vaxlink/web/static"
    for path in [*(root / "js/verifier").glob("*.js"), *(root / "vendor/cborg").rglob("*.js")]:
        for imported in re.findall(
            r"""^(?:import|export)\b[^\n]*\bfrom\s+['"]([^'"]+)['"]""", path.read_text(), re.M
        ):
            target = (path.parent / imported).resolve() if imported.startswith(".") else None
            url = "/static/" + str(target.relative_to(root)) if target else imported
            assert url in shell, (path.name, imported)
    version = re.search(r'^const VERSION = "(\w+)";$', worker.text, re.M)
    assert version

    # a new CSCA in the key store: a new shell version, so devices fetch the new pins
    rotated = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    from vaxlink.certificates.keys.store import KeyStore

    KeyStore(tmp_path / "keys").save_certificate(Role.CSCA, rotated.certificate)
    again = re.search(r'^const VERSION = "(\w+)";$', client.get("/verifier/sw.js").text, re.M)
    assert again
    assert again.group(1) != version.group(1)
    assert len(_config(client.get("/verifier").text)["cscas"]) == 2

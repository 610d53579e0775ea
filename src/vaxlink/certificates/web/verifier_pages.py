"""The offline verifier (#18): an installable web app at `/verifier` that verifies QR codes in the
browser with the network off: `HC1:` (EU DCC, WHO DDCC:VS) and `shc:/` (SMART Health Card).

The page embeds the key store's CSCA certificates (the trust anchors the trust list must chain to)
and the strings of both languages; its script (static/js/verifier/) downloads the signed trust list
and the revocation list when online, checks the trust list's signature against the embedded CSCAs
before using any of its keys, and verifies with WebCrypto. The service worker at
`/verifier/sw.js` caches the app shell (cache first) and the two lists (network first, then the
cache); its version is a hash of the shell, so a new release or a new CSCA replaces the cache.
No personal data reaches the server: certificates are verified on the device.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Annotated, Final

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.web.deps import key_store
from vaxlink.certificates.web.pages import TEMPLATES
from vaxlink.certificates.web.verifier_strings import STRINGS

STATIC: Final = Path(__file__).parents[2] / "web" / "static"
PAGE: Final = Path(__file__).parents[2] / "web" / "templates" / "verifier" / "page.html"
SW_SOURCE: Final = PAGE.with_name("sw.js")
SCOPE: Final = "/verifier"

#: What the service worker caches for offline use (cache first): the page, its manifest, its
#: scripts, the vendored libraries and their styles. Every entry is served by this app.
SHELL_ASSETS: Final = (
    "css/vaxlink.css",
    "css/verifier.css",
    "favicon.svg",
    "js/verifier/app.js",
    "js/verifier/dcc.js",
    "js/verifier/shc.js",
    "js/verifier/base45.js",
    "js/verifier/x509.js",
    "vendor/zxing-wasm/zxing-reader.iife.js",
    "vendor/zxing-wasm/zxing_reader.wasm",
    "vendor/cborg/cborg.js",
    *(f"vendor/cborg/lib/{p.name}" for p in sorted((STATIC / "vendor/cborg/lib").glob("*.js"))),
)
SHELL: Final = (SCOPE, f"{SCOPE}/manifest.webmanifest",
                *(f"/static/{asset}" for asset in SHELL_ASSETS))  # fmt: skip

router = APIRouter(tags=["offline verifier"], include_in_schema=False)


def anchors(store: KeyStore) -> tuple[str, ...]:
    """The key store's CSCA certificates (base64 DER), the pins of the trust list's signature."""
    return tuple(
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
        for c in store.certificates(Role.CSCA)
    )


@cache
def shell_version(pins: tuple[str, ...]) -> str:
    """A hash of everything the app shell holds: a change to any of it installs a new cache."""
    digest = hashlib.sha256(SW_SOURCE.read_bytes())
    for asset in SHELL_ASSETS:
        digest.update((STATIC / asset).read_bytes())
    digest.update(json.dumps([pins, STRINGS], sort_keys=True).encode())
    digest.update(PAGE.read_bytes())
    return digest.hexdigest()[:16]


Store = Annotated[KeyStore, Depends(key_store)]


@router.get("/verifier", response_class=HTMLResponse)
def verifier_page(request: Request, store: Store) -> HTMLResponse:
    """The offline verifier: Vietnamese first, an English switch handled by its script."""
    pins = anchors(store)
    config = {"cscas": list(pins), "strings": STRINGS}
    response = TEMPLATES.TemplateResponse(
        request, "verifier/page.html",
        {"lang": "vi", "t": STRINGS["vi"], "config": config, "configured": bool(pins)},
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/verifier/manifest.webmanifest")
def verifier_manifest() -> Response:
    """The web app manifest that makes the verifier installable."""
    manifest = {
        "name": "vaxlink — " + STRINGS["vi"]["verifier.title"],
        "short_name": "vaxlink",
        "lang": "vi",
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5394",
        "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    body = json.dumps(manifest, ensure_ascii=False)
    return Response(body, media_type="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})  # fmt: skip


@router.get("/verifier/sw.js")
def verifier_service_worker(store: Store) -> Response:
    """The service worker, with this release's shell version and asset list."""
    head = f"const VERSION = {json.dumps(shell_version(anchors(store)))};\n"
    head += f"const SHELL = {json.dumps(list(SHELL))};\n"
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": SCOPE}
    return Response(head + SW_SOURCE.read_text(encoding="utf-8"),
                    media_type="text/javascript", headers=headers)  # fmt: skip

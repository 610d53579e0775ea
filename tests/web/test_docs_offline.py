"""`/docs` works with the network off (#17): the API explorer is vendored, not fetched from a CDN;
and a mistyped address in a browser is an HTML page, not JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.web_support import LiveServer

from vaxlink.web.app import STATIC


def test_docs_work_with_the_network_off(live_server: LiveServer, page: Any) -> None:
    vendored = STATIC / "vendor" / "swagger-ui"
    missing = [
        n for n in ("swagger-ui-bundle.js", "swagger-ui.css") if not (vendored / n).is_file()
    ]
    # not kept in git: a fresh checkout (or worktree) has them only after scripts/setup
    assert not missing, f"{missing} missing in {vendored}: run scripts/setup (fetch_swagger_ui.py)"
    outside: list[str] = []

    def only_this_server(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # the network is off: anything from elsewhere fails
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(live_server.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "vaxlink" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=30_000)  # the operations, from /openapi.json
    assert page.locator(".opblock-tag").count() > 3
    assert not outside, outside


def test_an_unknown_address_is_a_page(live_server: LiveServer, page: Any) -> None:
    for path in ("/no/such/page", "/api/v1/no-such-thing", "/worklist/doses/not-a-number"):
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status in (404, 422, 303, 200), (path, response.status)
        assert response.headers["content-type"].startswith("text/html"), path
        assert page.locator("h1").count() == 1, path

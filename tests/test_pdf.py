"""The one HTML-to-PDF renderer: local files and data URLs only, equal pages give equal bytes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vaxlink.errors import InvalidInput
from vaxlink.pdf import find_fonts, local_fetcher, render_pdf

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
@font-face {{ font-family: T; src: url("{regular}"); }} body {{ font-family: T; }}
</style>{extra}</head><body><p>Giấy chứng nhận tiêm chủng — Đức</p></body></html>"""


def _page(extra: str = "") -> str:
    return PAGE.format(regular=find_fonts().urls()["regular"], extra=extra)


def test_equal_pages_give_equal_bytes_without_a_clock_time(tmp_path: Path) -> None:
    a = render_pdf(_page(), base_dir=tmp_path, fonts=find_fonts())
    b = render_pdf(_page(), base_dir=tmp_path, fonts=find_fonts())
    assert a.startswith(b"%PDF")
    assert a == b
    assert b"/CreationDate" not in a
    assert b"/ModDate" not in a


def test_nothing_is_fetched_over_the_network(tmp_path: Path) -> None:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/x.css"
        extra = f'<link rel="stylesheet" href="{url}"><img src="{url}.png">'
        assert render_pdf(_page(extra), base_dir=tmp_path, fonts=find_fonts()).startswith(b"%PDF")
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []


def test_files_outside_the_named_folders_are_refused(tmp_path: Path) -> None:
    inside = tmp_path / "templates"
    inside.mkdir()
    (inside / "a.css").write_text("p { color: red }")
    (tmp_path / "secret.css").write_text("p { color: blue }")
    fetch = local_fetcher([inside])
    assert fetch((inside / "a.css").as_uri()) is not None
    for url in ((tmp_path / "secret.css").as_uri(), (inside / ".." / "secret.css").as_uri(),
                "file://elsewhere/etc/hosts", "http://127.0.0.1:9/x.css", "ftp://h/x"):  # fmt: skip
        with pytest.raises(ValueError, match="refused"):
            fetch(url)
    assert fetch("data:text/css,p%7Bcolor:red%7D") is not None


def test_failures_raise_the_callers_domain_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="fonts-noto-core"):
        find_fonts(tmp_path, error=InvalidInput)

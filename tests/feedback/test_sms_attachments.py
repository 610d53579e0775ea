"""The HTTP SMS adapter against a real local server; attachment checks by magic bytes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vaxlink.feedback.attachments import check, sniff
from vaxlink.feedback.errors import AttachmentRefused, SmsFailed
from vaxlink.feedback.sms import ConsoleSms, HttpSms, mask_phone, sms_from_settings
from vaxlink.settings import Settings


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - shared with the test on purpose
    status = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"auth": self.headers.get("Authorization"), **json.loads(body)})
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:  # keep test output clean
        return


@pytest.fixture
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.received.clear()
    _Gateway.status = 202
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


def test_http_sms_posts_json_with_the_token(gateway: str) -> None:
    sms = HttpSms(gateway, "s3cret")
    try:
        sms.send("0912345678", "VAXLINK: Ma xac thuc 123456")
    finally:
        sms.close()
    assert _Gateway.received == [
        {"auth": "Bearer s3cret", "to": "0912345678", "text": "VAXLINK: Ma xac thuc 123456"}
    ]


def test_http_sms_refusal_and_unreachable_gateway(gateway: str) -> None:
    _Gateway.status = 500
    sms = HttpSms(gateway, None)
    with pytest.raises(SmsFailed, match="HTTP 500"):
        sms.send("0912345678", "x")
    sms.close()
    dead = HttpSms("http://127.0.0.1:9/sms", None)
    with pytest.raises(SmsFailed, match="could not be reached"):
        dead.send("0912345678", "x")
    dead.close()


def test_settings_choose_the_adapter(gateway: str, tmp_path: Path) -> None:
    http = sms_from_settings(Settings(data_dir=tmp_path, sms_gateway_url=gateway))
    assert isinstance(http, HttpSms)
    http.close()
    assert isinstance(sms_from_settings(Settings(data_dir=tmp_path)), ConsoleSms)


def test_console_sms_masks_the_phone(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleSms().send("0987654321", "hello")
    err = capsys.readouterr().err
    assert "09******21" in err
    assert "0987654321" not in err
    assert mask_phone("+84 912 345 678") == "84*******78"


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    ("data", "kind"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf"),
     (b"<html><body>hi</body></html>", None), (b"MZ\x90\x00\x03\x00", None),
     (b"GIF89a\x01\x00", None), (b"\x89PNG\r\n\x1a\n<script>", None), (b"%PDF-1.4 no end", None),
     (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None)],
)  # fmt: skip
def test_sniff_by_magic_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_size_limit_and_empty() -> None:
    assert check(JPEG, max_bytes=1024) == "image/jpeg"
    with pytest.raises(AttachmentRefused, match="larger"):
        check(JPEG + b"\x00" * 2000, max_bytes=1024)
    with pytest.raises(AttachmentRefused, match="empty"):
        check(b"", max_bytes=1024)

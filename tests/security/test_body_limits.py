"""Oversized request bodies (issue #13 point 6): the CSRF check buffered up to 64 MB of an
anonymous POST (8 x 60 MB: +825 MB). Bodies are now capped per route class before anything
reads them: a declared length over the cap is refused with 413 unread, a chunked body once it
passes the cap."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from tests.web_support import LiveServer

MB = 1024 * 1024
BODY = 60 * MB


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _post(base: str, path: str, *, chunked: bool) -> int:
    """POST a 60 MB form body (declared, or chunked) as fast as the server takes it; the status."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    assert host is not None
    assert port is not None
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BODY}\r\n")
        + "\r\n"
    )
    chunk = b"id_number=" + b"1" * (MB - 10)
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for _ in range(BODY // MB):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body was sent: what we want
        answer = b""
        try:
            while b"\r\n" not in answer:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer.split()[1])


def test_big_anonymous_posts_are_refused_unbuffered(live_server: LiveServer) -> None:
    baseline, peak = _rss_mb(), [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        statuses = [_post(live_server.url, "/c/lookup", chunked=i % 2 == 1) for i in range(8)]
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    growth = peak[0] - baseline
    print(f"8 x 60 MB anonymous POSTs: statuses {statuses}, RSS +{growth:.0f} MB, {seconds:.1f} s")
    assert statuses == [413] * 8
    assert growth < 100, f"the server held {growth:.0f} MB for refused bodies"


def test_upload_routes_have_the_larger_cap(live_server: LiveServer) -> None:
    from vaxlink.web.security import BodyLimitMiddleware

    limits = BodyLimitMiddleware(None, form_cap=MB, upload_cap=32 * MB)  # type: ignore[arg-type]
    assert limits.cap_for("/c/lookup") == MB
    assert limits.cap_for("/login") == MB
    assert limits.cap_for("/c/report") == 32 * MB
    assert limits.cap_for("/worklist/import") == 32 * MB
    assert limits.cap_for("/entry/dose") == 32 * MB
    assert _post(live_server.url, "/c/report", chunked=False) == 413  # 60 MB is over either cap

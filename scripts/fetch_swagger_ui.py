"""Install Swagger UI for `/docs` at setup time (never at run time): the npm registry's
swagger-ui-dist tarball, checked against its pinned SHA-256, unpacked into
src/vaxlink/web/static/vendor/swagger-ui/ (git keeps only its LICENSE, NOTICE and VERSION; the
1.8 MB bundle is an install output, ignored). Safe to run again: nothing is fetched when the
files are there with the pinned digests."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "5.36.0"
URL = f"https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-{VERSION}.tgz"
TARBALL_SHA256 = "685a2b38b5d6eab2dbc096a8596db11cc7409cdb671d2e3bec8f9b017d0d566b"
FILES = {
    "swagger-ui-bundle.js": "b164c5a22535e40dae08c00271674a67e437ec195098c55fcedf8ffac7ac3c88",
    "swagger-ui.css": "7eb9f5a125e4bc9b3f0b71869b66d1a3d7c501f972f53d44ef91c2ae6c5bda5e",
}
TARGET = Path(__file__).resolve().parents[1] / "src/vaxlink/web/static/vendor/swagger-ui"


def _ok(path: Path, digest: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest


def main() -> int:
    if all(_ok(TARGET / name, digest) for name, digest in FILES.items()):
        return 0
    with urllib.request.urlopen(URL, timeout=120) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != TARBALL_SHA256:
        print(
            f"swagger-ui-dist {VERSION}: the download does not match its pinned digest",
            file=sys.stderr,
        )
        return 1
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name, digest in FILES.items():
            member = tar.extractfile(f"package/{name}")
            content = member.read() if member else b""
            if hashlib.sha256(content).hexdigest() != digest:
                print(
                    f"swagger-ui-dist {VERSION}: {name} does not match its digest", file=sys.stderr
                )
                return 1
            (TARGET / name).write_bytes(content)
    return 0


if __name__ == "__main__":
    sys.exit(main())

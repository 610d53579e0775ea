"""The certificate QR as the portal shows it: drawn once per HC1 text, shared by all workers.

Drawing the QR of a signed certificate takes about a tenth of a second of pure Python, far too
much for every page view, and a certificate never changes once signed. So the SVG is kept under
`<data_dir>/feedback/qr/` by the SHA-256 of the HC1 text (every worker process reads the same
files) with a small in-process cache on top, and it is drawn ahead of time when a citizen logs in.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Final

from vaxlink.certificates.service import qr_svg
from vaxlink.files import private_dir, write_private

MEMORY_ITEMS: Final = 4096
_memory: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def qr_dir(data_dir: Path) -> Path:
    """Where drawn QR codes are kept."""
    return data_dir / "feedback" / "qr"


def _path(data_dir: Path, key: str) -> Path:
    return qr_dir(data_dir) / key[:2] / f"{key}.svg"


def qr_svg_cached(hc1: str, data_dir: Path) -> bytes:
    """The SVG of the QR for `hc1`, drawn and stored on first use."""
    key = hashlib.sha256(hc1.encode("utf-8")).hexdigest()
    path = _path(data_dir, key)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    svg = qr_svg(hc1, scale=3)
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    write_private(tmp, svg)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the whole file or none
    return svg


def qr_data_uri(hc1: str, data_dir: Path) -> str:
    """The QR as an `data:image/svg+xml` URI for an <img> in the page (CSP allows data: images)."""
    with _lock:
        hit = _memory.get(hc1)
        if hit is not None:
            _memory.move_to_end(hc1)
            return hit
    uri = "data:image/svg+xml;base64," + base64.b64encode(qr_svg_cached(hc1, data_dir)).decode()
    with _lock:
        _memory[hc1] = uri
        while len(_memory) > MEMORY_ITEMS:
            _memory.popitem(last=False)
    return uri

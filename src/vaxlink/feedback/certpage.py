"""The citizen's certificate page, rendered once per certificate and language (the hot path).

A signed certificate never changes: its HC1 text (which carries the signature) fixes the UVCI,
the fields shown and the QR. The certificate page shows nothing else but the language (no
CSRF token, no account), so the rendered page is kept per (language, UVCI, HC1) in a small
in-process LRU. A re-issued certificate has a new UVCI and HC1, so it gets its own entry; a
revoked one is no longer returned by the lookup, so its page is never served again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

#: Pages kept per process (a page is about 10 KB with its QR).
MAX_PAGES: Final = 2048
PageKey = tuple[str, str | None, str | None]
_pages: OrderedDict[PageKey, bytes] = OrderedDict()
_lock = threading.Lock()


def cached_page(key: PageKey, build: Callable[[], bytes]) -> bytes:
    """The page for `key`, built with `build()` (outside the lock) on first use."""
    with _lock:
        hit = _pages.get(key)
        if hit is not None:
            _pages.move_to_end(key)
            return hit
    page = build()
    with _lock:
        _pages[key] = page
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)
    return page


def clear() -> None:
    """Forget every page (tests)."""
    with _lock:
        _pages.clear()

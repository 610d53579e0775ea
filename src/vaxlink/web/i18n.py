"""Vietnamese-first strings for pages: the catalogue itself is `vaxlink.catalogue` (each domain's
table, keys prefixed by the domain, registered by the app factory `vaxlink.web.app.create_app` for
the domains it mounts; a deployment's installed translations over them); re-exported here with
the reader's language.

The language comes from `?lang=` (remembered in a cookie by `vaxlink.web.security`), then that
cookie, then Vietnamese.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from vaxlink.catalogue import (
    DEFAULT,
    LANGUAGES,
    error_text,
    has,
    install,
    installed,
    other,
    register,
    text_in,
    translate,
    translator,
)

__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "error_text", "has",
           "install", "installed", "language", "other", "query_language", "register", "text_in",
           "translate", "translator"]  # fmt: skip

COOKIE: Final = "vaxlink_lang"


def query_language(request: Request) -> str | None:
    """The language asked for with `?lang=`, if it is one we speak."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def language(request: Request) -> str:
    """`?lang=`, then the cookie, then Vietnamese."""
    cookie = request.cookies.get(COOKIE)
    return query_language(request) or (cookie if cookie in LANGUAGES else DEFAULT)

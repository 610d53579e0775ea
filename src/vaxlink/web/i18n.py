"""Vietnamese-first strings: each domain has a table of its own, keys prefixed by the domain,
which the app factory (`vaxlink.web.app.create_app`) registers here for the domains it mounts.

The language comes from `?lang=` (remembered in a cookie by `vaxlink.web.security`), then that
cookie, then Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

from markupsafe import Markup, escape
from starlette.requests import Request

LANGUAGES: Final = ("vi", "en")
DEFAULT: Final = "vi"
COOKIE: Final = "vaxlink_lang"

_CATALOG: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}


def register(strings: Mapping[str, Mapping[str, str]]) -> None:
    """Add a domain's strings, e.g. `register({"vi": {"worklist.title": ...}, "en": {...}})`.

    Registering a key again with the same text is harmless; with a different text it is an
    error (two domains chose the same key)."""
    for lang, entries in strings.items():
        if lang not in _CATALOG:
            raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
        catalog = _CATALOG[lang]
        for key, text in entries.items():
            if catalog.get(key, text) != text:
                raise ValueError(f"translation key {key!r} ({lang}) is already registered")
            catalog[key] = text


def translate(lang: str, key: str, /, **values: object) -> str:
    """The text of `key` in `lang` (else Vietnamese, else the key itself), `{name}`s filled.

    A value given as markup (a template's `value|data`, which marks data translate="no") stays
    markup and the text around it is escaped: the result is markup."""
    text = _CATALOG.get(lang, {}).get(key) or _CATALOG[DEFAULT].get(key) or key
    if any(isinstance(v, Markup) for v in values.values()):
        return Markup(escape(text)).format(**values)  # noqa: S704 - escaped; values escaped by format
    return text.format(**values) if values else text


def has(lang: str, key: str) -> bool:
    """True if `key` has a text in `lang`."""
    return key in _CATALOG.get(lang, {})


def translator(lang: str) -> Callable[..., str]:
    """`t("key", name=value)` bound to one language, for templates."""

    def t(key: str, /, **values: object) -> str:
        return translate(lang, key, **values)

    return t


def query_language(request: Request) -> str | None:
    """The language asked for with `?lang=`, if it is one we speak."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def language(request: Request) -> str:
    """`?lang=`, then the cookie, then Vietnamese."""
    cookie = request.cookies.get(COOKIE)
    return query_language(request) or (cookie if cookie in LANGUAGES else DEFAULT)


def other(lang: str) -> str:
    return "en" if lang == "vi" else "vi"


def error_text(lang: str, exc: BaseException) -> str:
    """An error as the reader of a `lang` page is told it: its own message key if it has one;
    on an English page its own (English) message; else the text of its code, or of the nearest
    code above it (`error.<code>`, e.g. a bad ID number's `invalid_id_number`), never English
    inside a Vietnamese page."""
    key = getattr(exc, "key", None)
    if isinstance(key, str) and has(lang, key):
        return translate(lang, key, **(getattr(exc, "values", None) or {}))
    if lang != DEFAULT:
        return str(exc)
    text = translate(lang, "auth.error.other")
    for cls in type(exc).__mro__:
        code = cls.__dict__.get("code")
        if isinstance(code, str) and has(lang, f"error.{code}"):
            text = translate(lang, f"error.{code}")
            break
    # a command the message tells an operator to run stays (pages show `…` as code)
    commands = re.findall(r"`[^`\n]+`", str(exc))
    return f"{text} ({', '.join(commands)})" if commands else text

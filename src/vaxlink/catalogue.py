"""The message catalogue: every text a person reads, by language and key, Vietnamese first.

Each domain keeps a keyed table of its own (`*strings.py`); the app factory registers the tables
of the domains it mounts (`vaxlink.web.app`). A deployment may install translations of its own
(`vaxlink i18n import-po FILE --install`, read back with Babel at process start by
`vaxlink.web.po.load_installed`): an installed text overrides the built-in one of its key.

Outputs made outside a page (SMS, e-mail, spreadsheets, PDF), possibly in a CLI process where no
table was registered, take their text with `text_in(table, lang, key)`: the installed text, else
the catalogue's, else their own table's. Nothing here imports the web layer, so services may use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Final

from markupsafe import Markup, escape

LANGUAGES: Final = ("vi", "en")
DEFAULT: Final = "vi"

_CATALOG: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
#: The deployment's installed translations (checked against the keys before they get here).
_INSTALLED: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}


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


def install(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Use `texts` ({lang: {key: text}}, already checked) over the built-in texts, replacing
    whatever was installed before in this process."""
    for lang in LANGUAGES:
        _INSTALLED[lang] = dict(texts.get(lang, {}))


def installed(lang: str) -> dict[str, str]:
    """The installed texts of `lang` in use (a copy)."""
    return dict(_INSTALLED.get(lang, {}))


def _fill(text: str, values: Mapping[str, object]) -> str:
    if any(isinstance(v, Markup) for v in values.values()):
        return Markup(escape(text)).format(**values)  # noqa: S704 - escaped; values escaped by format
    return text.format(**values) if values else text


def translate(lang: str, key: str, /, **values: object) -> str:
    """The text of `key` in `lang` (installed, else built in; else Vietnamese, else the key
    itself), `{name}`s filled.

    A value given as markup (a template's `value|data`, which marks data translate="no") stays
    markup and the text around it is escaped: the result is markup."""
    text = (
        _INSTALLED.get(lang, {}).get(key)
        or _CATALOG.get(lang, {}).get(key)
        or _INSTALLED[DEFAULT].get(key)
        or _CATALOG[DEFAULT].get(key)
        or key
    )
    return _fill(text, values)


def text_in(
    table: Mapping[str, Mapping[str, str]], lang: str, key: str, /, **values: object
) -> str:
    """`translate` for an output that carries its own table (`table[lang][key]` must exist): the
    installed text of `key`, else the table's, whether or not the table was registered."""
    text = _INSTALLED.get(lang, {}).get(key) or table[lang][key]
    return _fill(text, values)


def has(lang: str, key: str) -> bool:
    """True if `key` has a text in `lang`."""
    return key in _CATALOG.get(lang, {}) or key in _INSTALLED.get(lang, {})


def translator(lang: str) -> Callable[..., str]:
    """`t("key", name=value)` bound to one language, for templates."""

    def t(key: str, /, **values: object) -> str:
        return translate(lang, key, **values)

    return t


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


def ascii_text(text: str) -> str:
    """`text` in ASCII: Vietnamese marks dropped, đ as d ("Mã xác thực" -> "Ma xac thuc"), any
    other character outside ASCII as "?" (an SMS in one segment, a spreadsheet's sheet name)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.encode("ascii", "replace").decode("ascii")

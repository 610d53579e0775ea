"""The app's strings as gettext PO files, for translators' tools (Poedit, Weblate), and back.

`export_po(folder)` writes `vi.po` and `en.po`: one entry per key of every mounted-or-not
domain's strings table (`vaxlink.web.app.DOMAINS`), the key as `msgctxt`, the Vietnamese text
as `msgid` (Vietnamese is the source language) and the language's text as `msgstr`; the
`{placeholders}` a text must keep are listed in a comment. `read_po(path)` reads an edited file
back and refuses it, naming every entry, when a key is unknown, a `{placeholder}` is missing or
added, a text is empty, or an entry is still marked fuzzy; otherwise it returns what changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vaxlink.errors import InvalidInput
from vaxlink.web.i18n import LANGUAGES

_PLACEHOLDER: Final = re.compile(r"(?<!\{)\{(\w*)(?:[!:][^{}]*)?\}(?!\})")
#: A fixed date in the header: the same strings give the same file.
_EPOCH: Final = dt.datetime(2021, 10, 20, tzinfo=dt.UTC)


class PoError(InvalidInput):
    """A PO file that cannot be taken back as it is."""

    code = "po_invalid"


@dataclass(frozen=True)
class Change:
    """One text a translator changed: its key, the text now in the app and the new one."""

    key: str
    old: str
    new: str


def catalogue() -> dict[str, dict[str, str]]:
    """Every domain's strings, by language then key (as the app factory registers them)."""
    from vaxlink.web.app import DOMAINS, _strings

    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for domain in DOMAINS:
        for ref in domain.strings:
            for lang, entries in _strings(ref).items():
                out[lang].update(entries)
    return out


def placeholders(text: str) -> set[str]:
    """The `{name}`s a text fills in (`{{` and `}}` are literal braces)."""
    return set(_PLACEHOLDER.findall(text))


def export_po(folder: Path, strings: Mapping[str, Mapping[str, str]] | None = None) -> list[Path]:
    """Write `<lang>.po` for each language into `folder`; returns the files written."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    strings = catalogue() if strings is None else strings
    source = strings["vi"]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGUAGES:
        catalog = Catalog(locale=lang, project="vaxlink", version="1", creation_date=_EPOCH,
                          revision_date=_EPOCH, language_team=f"vaxlink {lang}",
                          copyright_holder="vaxlink contributors",
                          fuzzy=False)  # fmt: skip
        own = strings.get(lang, {})
        for key in sorted(set(source) | set(own)):
            names = sorted(placeholders(source.get(key) or own.get(key, "")))
            notes = [f"placeholders: {', '.join('{' + n + '}' for n in names)}"] if names else []
            catalog.add(source.get(key) or key, own.get(key, ""), context=key,
                        auto_comments=notes)  # fmt: skip
        path = folder / f"{lang}.po"
        with path.open("wb") as out:
            write_po(out, catalog, width=100, sort_output=True, include_previous=False)
        written.append(path)
    return written


def read_po(
    path: Path, strings: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[str, list[Change]]:
    """The language of an edited PO file and the texts it changes; `PoError` listing every
    problem when it cannot be taken back (unknown key, placeholders, empty or fuzzy entries)."""
    from babel.messages.pofile import read_po as babel_read

    strings = catalogue() if strings is None else strings
    try:
        with path.open("rb") as handle:
            catalog = babel_read(handle, abort_invalid=True)
    except Exception as exc:  # Babel's PoFileError and decoding errors alike
        raise PoError(f"{path.name}: not a readable PO file ({exc})") from exc
    lang = str(catalog.locale) if catalog.locale else path.stem
    lang = lang.split("_")[0]
    if lang not in LANGUAGES:
        raise PoError(f"{path.name}: language '{lang}' is not one of {', '.join(LANGUAGES)}")
    current = strings.get(lang, {})
    problems: list[str] = []
    changes: list[Change] = []
    seen: set[str] = set()
    for message in catalog:
        if not message.id:
            continue  # the header
        key = message.context or ""
        where = f"line {message.lineno}" if message.lineno else "an entry"
        if not key:
            problems.append(f"{where}: no msgctxt (the key) - keep the msgctxt lines as exported")
            continue
        seen.add(key)
        if key not in current and key not in strings.get("vi", {}):
            problems.append(f"{where}: unknown key '{key}'")
            continue
        text = message.string if isinstance(message.string, str) else ""
        if message.fuzzy:
            problems.append(f"{where}: '{key}' is marked fuzzy: review it and remove the mark")
            continue
        if not text.strip():
            problems.append(f"{where}: '{key}' has no text")
            continue
        reference = current.get(key) or strings["vi"].get(key, "")
        want, got = placeholders(reference), placeholders(text)
        if want - got:
            missing = ", ".join("{" + n + "}" for n in sorted(want - got))
            problems.append(f"{where}: '{key}' lacks {missing}")
        if got - want:
            extra = ", ".join("{" + n + "}" for n in sorted(got - want))
            problems.append(f"{where}: '{key}' has {extra}, which the app does not fill in")
        if text != current.get(key):
            changes.append(Change(key, current.get(key, ""), text))
    if problems:
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise PoError(f"{path.name}: {len(problems)} problem(s): {shown}{more}")
    return lang, changes

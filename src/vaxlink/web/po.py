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
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vaxlink import catalogue as texts
from vaxlink.errors import InvalidInput
from vaxlink.files import private_dir, write_private
from vaxlink.web.i18n import LANGUAGES

log = logging.getLogger(__name__)

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
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PoError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    return _check(data, path, strings)


def install_po(
    path: Path, folder: Path, strings: Mapping[str, Mapping[str, str]] | None = None
) -> tuple[str, list[Change], Path]:
    """Check `path` as `read_po` does, then keep the bytes checked as `<folder>/<lang>.po`
    (replacing the language's earlier file); returns the language, its changes and the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PoError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    lang, changes = _check(data, path, strings)
    private_dir(folder)
    target = folder / f"{lang}.po"
    partial = folder / f".{lang}.po.part"
    write_private(partial, data)
    partial.replace(target)  # atomic: a starting process reads the old file or the new one
    return lang, changes, target


def _check(
    data: bytes, path: Path, strings: Mapping[str, Mapping[str, str]] | None
) -> tuple[str, list[Change]]:
    from babel.messages.pofile import read_po as babel_read

    strings = catalogue() if strings is None else strings
    try:
        catalog = babel_read(io.BytesIO(data), abort_invalid=True)
    except Exception as exc:  # Babel's PoFileError and decoding errors alike
        raise PoError(f"{path.name}: not a readable PO file ({exc})") from exc
    lang = str(catalog.locale) if catalog.locale else path.stem
    lang = lang.split("_")[0]
    if lang not in LANGUAGES:
        raise PoError(f"{path.name}: language '{lang}' is not one of {', '.join(LANGUAGES)}")
    current = strings.get(lang, {})
    problems: list[str] = []
    changes: list[Change] = []
    for message in catalog:
        if not message.id:
            continue  # the header
        key = message.context or ""
        where = f"line {message.lineno}" if message.lineno else "an entry"
        if not key:
            problems.append(f"{where}: no msgctxt (the key) - keep the msgctxt lines as exported")
            continue
        problem = _entry_problem(key, message, current, strings)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        text = str(message.string)
        if text != current.get(key):
            changes.append(Change(key, current.get(key, ""), text))
    if problems:
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise PoError(f"{path.name}: {len(problems)} problem(s): {shown}{more}")
    return lang, changes


def _entry_problem(
    key: str,
    message: Any,
    current: Mapping[str, str],
    strings: Mapping[str, Mapping[str, str]],
) -> str | None:
    """What is wrong with one entry against the keys and texts of the version running."""
    if key not in current and key not in strings.get("vi", {}):
        return f"unknown key '{key}'"
    text = message.string if isinstance(message.string, str) else ""
    if message.fuzzy:
        return f"'{key}' is marked fuzzy: review it and remove the mark"
    if not text.strip():
        return f"'{key}' has no text"
    reference = current.get(key) or strings["vi"].get(key, "")
    want, got = placeholders(reference), placeholders(text)
    said = []
    if want - got:
        said.append(f"'{key}' lacks " + ", ".join("{" + n + "}" for n in sorted(want - got)))
    if got - want:
        extra = ", ".join("{" + n + "}" for n in sorted(got - want))
        said.append(f"'{key}' has {extra}, which the app does not fill in")
    return "; ".join(said) or None


def installed_files(folder: Path) -> list[Path]:
    """The installed `<lang>.po` files in `folder`, in language order."""
    return [p for lang in LANGUAGES if (p := folder / f"{lang}.po").is_file()]


def load_installed(
    folder: Path, strings: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """The installed translations in `folder` that still fit the running version's keys,
    {lang: {key: text}}; each entry that does not (an unknown key, other placeholders, an empty
    or fuzzy text) and each file that cannot be read is skipped with one warning."""
    from babel.messages.pofile import read_po as babel_read

    found: dict[str, dict[str, str]] = {}
    files = installed_files(folder)
    if not files:
        return found
    strings = catalogue() if strings is None else strings
    for path in files:
        lang = path.stem
        try:
            with path.open("rb") as handle:
                catalog = babel_read(handle, locale=lang, abort_invalid=True)
        except Exception as exc:  # a damaged file: the built-in texts stay
            log.warning("installed translations %s skipped: not a readable PO file (%s)",
                        path, type(exc).__name__)  # fmt: skip
            continue
        texts_of = found.setdefault(lang, {})
        current = strings.get(lang, {})
        for message in catalog:
            key = message.context or ""
            if not message.id or not key:
                continue
            problem = _entry_problem(key, message, current, strings)
            if problem:
                log.warning("installed translation %s: %s; the built-in text is used", path.name,
                            problem)  # fmt: skip
                continue
            texts_of[key] = str(message.string)
    return found


def use_installed(folder: Path) -> dict[str, dict[str, str]]:
    """Read the installed translations in `folder` and put them into use in this process
    (none installed: the built-in texts only); returns what is in use."""
    found = load_installed(folder)
    texts.install(found)
    return found

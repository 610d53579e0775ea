"""PO files for translators: the catalogue goes out as vi.po and en.po (key as msgctxt) and an
edited file comes back checked: unknown keys, lost or added {placeholders}, empty and fuzzy
entries are refused, each named; a good edit is reported as its changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from typer.testing import CliRunner

from vaxlink.web import po
from vaxlink.web.i18n_cli import app


def _edit(path: Path, **changes: str | None) -> Path:
    """Change msgstrs by key as a translator's tool would (None: mark the entry fuzzy)."""
    with path.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.context in changes:
            new = changes[message.context]
            if new is None:
                message.flags.add("fuzzy")
            else:
                message.string = new
    edited = path.with_name(f"edited-{path.name}")
    with edited.open("wb") as f:
        write_po(f, catalog, width=100)
    return edited


def test_export_holds_every_key_in_both_languages(tmp_path: Path) -> None:
    strings = po.catalogue()
    vi, en = po.export_po(tmp_path)
    with en.open("rb") as f:
        catalog = read_po(f)
    keys = {m.context for m in catalog if m.id}
    assert keys == set(strings["vi"]) | set(strings["en"])
    entry = next(m for m in catalog if m.context == "entry.not_found")
    assert entry.id == strings["vi"]["entry.not_found"]  # Vietnamese is the source text
    assert entry.string == strings["en"]["entry.not_found"]
    assert "placeholders: {id}" in entry.auto_comments
    assert str(catalog.locale) == "en"
    assert po.export_po(tmp_path / "again")[0].read_bytes() == vi.read_bytes()  # reproducible
    assert po.read_po(vi) == ("vi", [])
    assert po.read_po(en) == ("en", [])


def test_an_edited_file_comes_back_as_its_changes(tmp_path: Path) -> None:
    _vi, en = po.export_po(tmp_path)
    edited = _edit(en, **{"entry.not_found": "ID {id} is not in the population registry."})
    lang, changes = po.read_po(edited)
    assert lang == "en"
    assert [(c.key, c.new) for c in changes] == [
        ("entry.not_found", "ID {id} is not in the population registry.")
    ]
    out = tmp_path / "changes.json"
    result = CliRunner().invoke(app, ["import-po", str(edited), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 text(s) changed" in result.output
    assert '"entry.not_found": "ID {id} is not' in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"entry.not_found": "This ID is not in the registry."}, "'entry.not_found' lacks {id}"),
        ({"auth.password.changed": "Changed for {user}."}, "has {user}, which the app does not"),
        ({"auth.password.link": ""}, "'auth.password.link' has no text"),
        ({"auth.password.link": None}, "'auth.password.link' is marked fuzzy"),
    ],
)
def test_bad_edits_are_refused_by_name(tmp_path: Path, changes: dict, said: str) -> None:
    _vi, en = po.export_po(tmp_path)
    with pytest.raises(po.PoError, match="problem") as caught:
        po.read_po(_edit(en, **changes))
    assert said in str(caught.value)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    vi, _en = po.export_po(tmp_path)
    with vi.open("rb") as f:
        catalog = read_po(f)
    catalog.add("Chuỗi lạ", "Chuỗi lạ", context="nowhere.key")
    odd = tmp_path / "odd.po"
    with odd.open("wb") as f:
        write_po(f, catalog)
    with pytest.raises(po.PoError, match=r"unknown key 'nowhere\.key'"):
        po.read_po(odd)
    broken = tmp_path / "broken.po"
    broken.write_text("garbage, not a PO file\n", encoding="utf-8")
    with pytest.raises(po.PoError, match="not a readable PO file"):
        po.read_po(broken)


def test_cli_exports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export-po", str(tmp_path / "po")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "po" / "vi.po").is_file()
    assert (tmp_path / "po" / "en.po").is_file()

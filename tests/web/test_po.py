"""PO files for translators: the catalogue goes out as vi.po and en.po (key as msgctxt) and an
edited file comes back checked: unknown keys, lost or added {placeholders}, empty and fuzzy
entries are refused, each named; a good edit is reported as its changes."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from vaxlink import catalogue
from vaxlink.auth.models import AuditEntry
from vaxlink.db import make_engine, transaction
from vaxlink.settings import Settings, get_settings
from vaxlink.web import po
from vaxlink.web.app import create_app
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


# -- installed translations: `import-po --install`, read at start over the built-in texts ---------


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A data directory and store in the environment (as the CLI reads them); afterwards the
    process is back to the built-in texts."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    get_settings.cache_clear()
    yield Settings(data_dir=tmp_path / "var", database_url=url)
    get_settings.cache_clear()
    catalogue.install({})


INTRO_EN = "For health, police and committee staff of the commune, and vaccination sites."


def test_an_installed_translation_is_used_from_the_next_start(
    tmp_path: Path, deployment: Settings
) -> None:
    _vi, en = po.export_po(tmp_path / "out")
    edited = _edit(en, **{"auth.login.intro": INTRO_EN})
    result = CliRunner().invoke(app, ["import-po", str(edited), "--install", "--by", "tester"])
    assert result.exit_code == 0, (result.output, result.exception)
    installed = deployment.data_dir / "locale" / "en.po"
    assert f"installed {installed}" in result.output
    assert installed.read_bytes() == edited.read_bytes()  # the file as checked
    assert stat.S_IMODE(installed.stat().st_mode) == 0o600
    assert stat.S_IMODE(installed.parent.stat().st_mode) == 0o700

    with TestClient(create_app(deployment)) as client:
        english = client.get("/login?lang=en").text
        vietnamese = client.get("/login?lang=vi").text
    assert INTRO_EN in english
    assert catalogue.translate("en", "auth.login.intro") == INTRO_EN
    assert "Dành cho cán bộ y tế" in vietnamese  # the other language keeps its texts

    engine = make_engine(deployment.resolved_database_url())
    try:
        with transaction(engine) as s:
            entry = s.execute(
                select(AuditEntry).where(AuditEntry.action == "i18n.install")
            ).scalar_one()
            detail = json.loads(entry.detail)
    finally:
        engine.dispose()
    assert (entry.object_type, entry.object_id) == ("translation", "en")
    assert detail["changed"] == 1
    assert detail["keys"] == ["auth.login.intro"]
    assert detail["sha256"] == hashlib.sha256(edited.read_bytes()).hexdigest()
    assert str(detail["operator"]).endswith("as tester")


def test_a_bad_file_is_refused_and_nothing_is_installed(
    tmp_path: Path, deployment: Settings
) -> None:
    _vi, en = po.export_po(tmp_path / "out")
    edited = _edit(en, **{"entry.not_found": "This ID is not in the registry."})
    result = CliRunner().invoke(app, ["import-po", str(edited), "--install"])
    assert result.exit_code != 0
    assert isinstance(result.exception, po.PoError)
    assert "'entry.not_found' lacks {id}" in str(result.exception)
    assert not (deployment.data_dir / "locale" / "en.po").exists()


def test_after_an_upgrade_stale_entries_are_skipped_one_warning_each(
    tmp_path: Path, deployment: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """An installed file made for an older version: a key that no longer exists and a text
    whose placeholders no longer match are skipped (the built-in text stays), each named in one
    warning; the rest is used; the app starts and its pages render."""
    _vi, en = po.export_po(tmp_path / "out")
    edited = _edit(en, **{"auth.login.intro": INTRO_EN})
    folder = deployment.resolved_locale_dir()
    po.install_po(edited, folder)
    with (folder / "en.po").open("rb") as f:
        catalog = read_po(f)
    catalog.add("Khóa cũ", "An old text", context="auth.retired.key")
    for message in catalog:
        if message.context == "entry.not_found":  # as if the app now filled in {id}, not {who}
            message.string = "Not found: {who}"
    with (folder / "en.po").open("wb") as f:
        write_po(f, catalog, width=100)

    with caplog.at_level(logging.WARNING, logger="vaxlink.web.po"):
        app_ = create_app(deployment)
    warned = [r.getMessage() for r in caplog.records if r.name == "vaxlink.web.po"]
    assert len([w for w in warned if "auth.retired.key" in w]) == 1, warned
    assert len([w for w in warned if "'entry.not_found'" in w]) == 1, warned
    assert len(warned) == 2, warned
    assert catalogue.translate("en", "auth.login.intro") == INTRO_EN
    assert "{id}" in catalogue.translate("en", "entry.not_found", id="{id}")  # built-in kept
    with TestClient(app_) as client:
        page = client.get("/login?lang=en")
    assert page.status_code == 200
    assert INTRO_EN in page.text

    (folder / "en.po").write_bytes(b'\x00\xffnot a PO file at all\n"')
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vaxlink.web.po"):
        app_ = create_app(deployment)
    assert any("not a readable PO file" in r.getMessage() for r in caplog.records)
    assert catalogue.installed("en") == {}
    with TestClient(app_) as client:
        assert client.get("/login?lang=en").status_code == 200


def test_a_command_uses_the_installed_texts_for_what_it_sends(
    tmp_path: Path, deployment: Settings
) -> None:
    """Outside the web app (the CLI's start), an installed text reaches an SMS too."""
    from vaxlink.cli import _use_installed_translations
    from vaxlink.feedback.lookup import code_sms

    _vi, en = po.export_po(tmp_path / "out")
    po.install_po(
        _edit(en, **{"feedback.sms.code": "Code: {code}"}), deployment.resolved_locale_dir()
    )
    assert code_sms("123456", 5).endswith("Your code: 123456")  # not read yet
    _use_installed_translations(deployment.resolved_locale_dir())
    sms = code_sms("123456", 5)
    assert sms.endswith("bat ky ai. Code: 123456"), sms

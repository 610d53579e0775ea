"""`vaxlink geo load` and `vaxlink geo show` against a SQLite store configured by environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxlink.db import Base, make_engine, upgrade
from vaxlink.geo.cli import app
from vaxlink.geo.errors import GeoError, UnitsNotLoadedError
from vaxlink.settings import get_settings

GEO_TABLES = ("admin_unit", "admin_unit_succession")


@pytest.fixture
def configured_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite store named by VAXLINK_DATABASE_URL, with the geo tables present."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    tables = [Base.metadata.tables[name] for name in GEO_TABLES]
    Base.metadata.create_all(engine, tables=tables, checkfirst=True)
    engine.dispose()
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_load_then_show(configured_store: str) -> None:
    runner = CliRunner()

    shown_before = runner.invoke(app, ["show", "00001"])
    assert isinstance(shown_before.exception, UnitsNotLoadedError)

    first = runner.invoke(app, ["load"])
    assert first.exit_code == 0, first.output
    assert "10035" in first.output
    assert "3321" in first.output
    assert "successions 2008-2025 → 2025 added: 10602" in first.output

    second = runner.invoke(app, ["load"])
    assert second.exit_code == 0, second.output
    assert "10035" not in second.output
    assert "added: 0" in second.output

    ward = runner.invoke(app, ["show", "00001"])
    assert ward.exit_code == 0, ward.output
    for text in ("Phường Phúc Xá", "Quận Ba Đình", "Thành phố Hà Nội", "Việt Nam"):
        assert text in ward.output
    assert "Phường Hồng Hà" in ward.output  # its 2025 successor

    province = runner.invoke(app, ["show", "1", "--level", "province"])
    assert province.exit_code == 0, province.output
    assert "Thành phố Hà Nội" in province.output
    assert "Quận Ba Đình" not in province.output

    new = runner.invoke(app, ["show", "26740", "--version", "2025"])
    assert new.exit_code == 0, new.output
    assert "Phường Sài Gòn" in new.output
    assert "Thành phố Hồ Chí Minh" in new.output

    ambiguous = runner.invoke(app, ["show", "001"])
    assert isinstance(ambiguous.exception, GeoError)
    assert "ambiguous" in str(ambiguous.exception)


def test_load_one_list_only(configured_store: str) -> None:
    result = CliRunner().invoke(app, ["load", "--version", "2025"])
    assert result.exit_code == 0, result.output
    assert "3321" in result.output
    assert "successions" not in result.output

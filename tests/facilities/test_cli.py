"""`vaxlink facilities import` and `list` on a SQLite store configured by environment, and the
site list `vaxlink synth` writes for the codes its dose records use."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vaxlink.db import make_engine, upgrade
from vaxlink.facilities import service
from vaxlink.facilities.cli import app
from vaxlink.settings import get_settings
from vaxlink.synth import generate, write

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


@pytest.fixture
def configured_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_import_then_list(configured_store: str, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(
        "Mã cơ sở,Tên cơ sở,Mã xã,Loại\n"
        "F1,Trạm Y tế Phường Phúc Xá,00001,Trạm y tế\n"
        "F2,Bệnh viện Ba Đình,00004,Bệnh viện\n"
        "F3,Trạm Y tế X,abc,Trạm y tế\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    first = runner.invoke(app, ["import", str(path)])
    assert first.exit_code == 5, first.output  # a row was refused: said, and the status shows it
    assert "refused row 4 (F3): ward code 'abc' must be made of digits only" in first.output
    listed = runner.invoke(app, ["list", "--ward", "4"])
    assert listed.exit_code == 0, listed.output
    assert "Bệnh viện Ba Đình" in listed.output
    assert "Phúc Xá" not in listed.output
    path.write_text(path.read_text(encoding="utf-8").replace(",abc,", ",00006,"), encoding="utf-8")
    second = runner.invoke(app, ["import", str(path)])
    assert second.exit_code == 0, second.output
    assert re.search(r"sites already as listed\s*│ 2 ", second.output)
    assert re.search(r"sites added\s*│ 1 ", second.output)


def test_synth_writes_the_site_list_of_its_dose_records(session: Session, tmp_path: Path) -> None:
    result = generate(1_500, seed=5)
    paths = write(result, tmp_path)
    used = set(pc.unique(result.doses.column("facility_code")).to_pylist())
    summary = service.import_file(session, paths["facilities"], now=NOW)
    assert summary.refused == []
    assert set(summary.upsert.created) == used
    named = service.names(session, used)
    assert set(named) == used
    prefixes = ("Trạm Y tế ", "Bệnh viện Đa khoa ", "Đội tiêm lưu động ")
    assert all(n.startswith(prefixes) for n in named.values())
    kinds = {f.kind for f in service.list_facilities(session)}
    assert "health_station" in kinds
    assert all(service.station_ward(session, c) for c in used)


def test_the_command_is_mounted() -> None:
    from vaxlink import cli

    assert ("facilities", "vaxlink.facilities.cli") in cli.SUBCOMMANDS

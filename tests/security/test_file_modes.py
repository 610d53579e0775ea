"""Attack: another account on the server reads the store, its WAL/SHM, import reports or the QR
cache (issue #13, point 8). Everything under the data directory must be 0600 / 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import vaxlink
from vaxlink.clock import SystemClock


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The umask of a careless shell (022): files would be world-readable by default."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def exposed(root: Path) -> list[str]:
    """Files and folders under `root` (and `root`) that the group or others may read or enter."""
    out = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            out.append(f"{oct(mode)} {path.relative_to(root.parent)}")
    return out


def test_library_import_store_and_qr_cache_are_private(
    tmp_path: Path, permissive_umask: None
) -> None:
    """Used as a library (no CLI umask), the store, WAL/SHM, the import report of quarantined
    rows and the QR cache are still created private."""
    from vaxlink.db import engine_from_settings
    from vaxlink.feedback.qrcache import qr_svg_cached
    from vaxlink.records.service import import_doses
    from vaxlink.registry.service import load_registry
    from vaxlink.settings import Settings
    from vaxlink.synth.generate import generate
    from vaxlink.synth.output import write

    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    paths = write(generate(120, 7), tmp_path / "synth")
    engine = engine_from_settings(settings)
    try:
        load_registry(engine, paths["registry"], settings=settings, clock=SystemClock())
        report = import_doses(engine, paths["doses"], settings=settings, clock=SystemClock())
        assert report.quarantined
        assert report.report_path is not None
        qr_svg_cached("HC1:6BFOXN%TS3DH0YOJ58S", data)
        with engine.begin() as conn:  # the WAL and SHM exist while a connection is open
            conn.exec_driver_sql("SELECT 1")
            assert (data / "vaxlink.db-wal").exists()
            assert exposed(data) == []
    finally:
        engine.dispose()
    assert exposed(data) == []


def test_cli_demo_data_dir_is_private(tmp_path: Path, permissive_umask: None) -> None:
    """`vaxlink demo` (import, link, approve, issue, keys) started from a umask-022 shell leaves
    nothing under its data directory readable by others."""
    data = tmp_path / "var"
    run = vaxlink(["demo", "--citizens", "150", "--seed", "5", "--no-serve"],
                  {"VAXLINK_DATA_DIR": str(data), "VAXLINK_DATABASE_URL": ""})  # fmt: skip
    assert run.returncode == 0, run.output
    assert (data / "vaxlink.db").is_file()
    assert exposed(data) == []

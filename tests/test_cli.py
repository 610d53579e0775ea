"""The root command mounts only the domain a command line names, and every command still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vaxlink import cli


def _help(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("vaxlink")), *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_the_command_named_is_the_only_one_mounted() -> None:
    assert cli._wanted(["records", "import", "x.csv"]) == "records"
    assert cli._wanted(["--help"]) is None
    assert cli._wanted(["link-train", "--out", "m.json"]) == "link-train"
    assert cli._wanted(["no-such-command"]) is None
    assert cli._wanted([]) is None


@pytest.mark.parametrize("command", [c for _m, _f, c in cli.COMMANDS])
def test_a_top_level_command_mounted_alone_answers_under_its_name(command: str) -> None:
    # With one command mounted Typer would run it as the whole program; the root callback keeps
    # the name, so `vaxlink serve --help` says `vaxlink serve`, not `vaxlink`.
    result = _help(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"vaxlink {command} [OPTIONS]" in result.stdout


def test_the_root_help_lists_every_command() -> None:
    result = _help("--help")
    assert result.returncode == 0, result.stderr
    for name in [n for n, _m in cli.SUBCOMMANDS] + [c for _m, _f, c in cli.COMMANDS]:
        assert name in result.stdout, name

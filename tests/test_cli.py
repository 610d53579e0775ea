"""The root command mounts only the domain a command line names, and every command still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaxlink import cli
from vaxlink.settings import OPTIONAL_DOMAINS


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


def test_a_missing_command_module_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "SUBCOMMANDS", (("feedback", "vaxlink.feedback.clii"),))
    with pytest.raises(ModuleNotFoundError, match=r"vaxlink\.feedback\.clii"):
        cli._mount("feedback")
    monkeypatch.setattr(cli, "SUBCOMMANDS", ())
    monkeypatch.setattr(cli, "COMMANDS", (("vaxlink.linkage.clii", "link", "link"),))
    with pytest.raises(ModuleNotFoundError, match=r"vaxlink\.linkage\.clii"):
        cli._mount("link")


def test_optional_commands_name_optional_domains() -> None:
    commands = {n for n, _m in cli.SUBCOMMANDS} | {c for _m, _f, c in cli.COMMANDS}
    assert set(cli.DOMAIN_OF) <= commands
    assert set(cli.DOMAIN_OF.values()) <= OPTIONAL_DOMAINS


def test_the_settings_leave_out_disabled_domains() -> None:
    env = {**os.environ, "VAXLINK_DISABLED_DOMAINS": "feedback,linkage"}
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("vaxlink")), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    listed = {line.split()[1] for line in shown.stdout.splitlines() if line.startswith("│ ")}
    assert {"worklist", "report", "demo"} <= listed
    assert listed.isdisjoint({"feedback", "link", "link-train", "eval", "verify"})
    gone = subprocess.run(
        [str(Path(sys.executable).with_name("vaxlink")), "feedback", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert gone.returncode == 2
    assert "No such command" in gone.stderr
    env["VAXLINK_DISABLED_DOMAINS"] = "auth"
    refused = subprocess.run(
        [str(Path(sys.executable).with_name("vaxlink")), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert refused.returncode == 2
    assert "no optional domain auth" in refused.stderr

"""docs/procedure.md cannot rot: every page path in its table is a route of the web app, every
`vaxlink …` command exists, and every role named is one of vaxlink's roles."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fastapi.routing import iter_route_contexts

from vaxlink.auth.roles import Role
from vaxlink.settings import Settings
from vaxlink.web.app import create_app

DOC = Path(__file__).resolve().parents[1] / "docs" / "procedure.md"
#: Every command path of the CLI with all domains mounted (one process: mounting is global).
_LIST_COMMANDS = """
import json, typer
from vaxlink import cli
cli._mount()
def walk(cmd, path):
    yield " ".join(path)
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from walk(sub, [*path, name])
print(json.dumps(sorted(walk(typer.main.get_command(cli.app), ["vaxlink"]))))
"""


def _rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_the_table_has_every_step_with_a_role_a_page_and_a_command() -> None:
    rows = _rows()
    assert [int(r[0]) for r in rows] == list(range(1, 11))
    for number, _step, roles, pages, commands in rows:
        assert re.search(r"`[a-z_]+`", roles), f"step {number} names no role"
        assert re.search(r"`/[^`]*`", pages), f"step {number} names no page"
        assert re.search(r"`vaxlink [^`]*`", commands), f"step {number} names no command"


def test_every_page_is_a_route(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    routes = {str(ctx.path) for ctx in iter_route_contexts(app.routes) if ctx.path}
    pages = {p for row in _rows() for p in re.findall(r"`(/[^`]*)`", row[3])}
    assert len(pages) > 25
    assert pages - routes == set(), "pages in docs/procedure.md the app does not serve"


def test_every_role_is_a_role() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = {r for row in _rows() for r in re.findall(r"`([a-z_]+)`", row[2])}
    named |= set(re.findall(r"`([a-z_]+)` \(", text.split("| # |")[0]))
    assert named == {r.value for r in Role}, named ^ {r.value for r in Role}


def test_every_command_exists() -> None:
    out = subprocess.run([sys.executable, "-c", _LIST_COMMANDS], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    known = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "vaxlink certificates district-approve" in known  # the walk reaches sub-commands
    commands = {
        " ".join(t for t in c.split() if not t.startswith("-") and t != "…")
        for c in re.findall(r"`(vaxlink [^`]*)`", DOC.read_text(encoding="utf-8"))
    }
    assert len(commands) > 20
    assert commands - known == set(), "commands in docs/procedure.md that vaxlink does not have"

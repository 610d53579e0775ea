"""The reports domain has one front door: other domains and its own web and CLI edges import
`vaxlink.reports.service` only (the pages also hand the labels to the web's translations)."""

from __future__ import annotations

import ast
from pathlib import Path

import vaxlink

SRC = Path(vaxlink.__file__).parent
EDGES = {"pages.py": {"vaxlink.reports.labels"}, "cli.py": set()}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("vaxlink.reports")}


def _allowed(name: str, extra: set[str]) -> bool:
    door = ("vaxlink.reports", "vaxlink.reports.service")
    return name in door or name.startswith(("vaxlink.reports.service.", *extra))


def test_others_and_the_edges_import_only_the_service() -> None:
    wrong = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "reports" and rel.name not in EDGES:
            continue
        extra = EDGES.get(rel.name, set()) if rel.parts[0] == "reports" else set()
        bad = sorted(n for n in _imports(path) if not _allowed(n, extra))
        if bad:
            wrong[str(rel)] = bad
    assert not wrong

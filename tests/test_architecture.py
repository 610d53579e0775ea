"""The house rules that an import graph cannot show, checked over the source tree.

import-linter (`lint-imports`, contracts in pyproject.toml) checks which modules may import which;
these tests check what it cannot see: names.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vaxlink"


def _modules() -> list[tuple[str, Path, ast.Module]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        found.append((name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


def _domain(module: str) -> str:
    """`vaxlink.certificates.core.cose` → `vaxlink.certificates`; root modules are their own."""
    return ".".join(module.split(".")[:2])


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _private_imports(modules: list[tuple[str, Path, ast.Module]]) -> list[str]:
    offences = []
    for module, path, tree in modules:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _resolve(module, node, path.name == "__init__.py")
            if not target.startswith("vaxlink") or _domain(target) == _domain(module):
                continue
            private_module = any(p.startswith("_") for p in target.split(".")[1:])
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    offences.append(f"{module}:{node.lineno} {target}.{alias.name}")
    return offences


def test_no_module_imports_another_domains_private_name() -> None:
    """`from vaxlink.certificates.lifecycle import _Chunk` in feedback is a seam, not an API."""
    offences = _private_imports(_modules())
    assert offences == [], "private names imported across domains:\n" + "\n".join(offences)


def test_the_checker_finds_a_planted_private_import() -> None:
    """The rule is not vacuous: relative and absolute private imports across domains are found,
    a domain's own private names are not."""
    planted = "from ..certificates.lifecycle import _Chunk\nfrom vaxlink.auth._x import y\n" \
              "from .issue import _shared\nfrom vaxlink.certificates.service import issue\n"
    found = [
        ("vaxlink.feedback.loop", Path("loop.py"), ast.parse(planted)),
        ("vaxlink.certificates.issuance", Path("issuance.py"), ast.parse(planted)),
    ]
    assert _private_imports(found) == [
        "vaxlink.feedback.loop:1 vaxlink.certificates.lifecycle._Chunk",
        "vaxlink.feedback.loop:2 vaxlink.auth._x.y",
        "vaxlink.certificates.issuance:2 vaxlink.auth._x.y",
    ]

"""Flows call domains through their front doors only (the walk of a citizen report's
correction to a new certificate must not reach around a domain)."""

from __future__ import annotations

import ast
from pathlib import Path

import vaxlink.flows

FLOWS = Path(vaxlink.flows.__file__).parent
#: Modules a flow may import besides the front doors: the shared kernel and the flows.
KERNEL = {"vaxlink.settings", "vaxlink.errors", "vaxlink.db", "vaxlink.clock"}
#: Modules still allowed to reach into a domain (none since certificates has its front door).
NOT_YET: set[str] = set()


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            # `from vaxlink.auth import service as auth` imports the module vaxlink.auth.service
            names = {a.name for a in node.names}
            out.append(f"{node.module}.service" if names == {"service"} else node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return [m for m in out if m.startswith("vaxlink.")]


def _allowed(module: str) -> bool:
    return module in KERNEL or module.startswith("vaxlink.flows") or module.endswith(".service")


def test_flows_import_domains_only_through_their_front_doors() -> None:
    checked = 0
    for path in sorted(FLOWS.glob("*.py")):
        if path.name in NOT_YET:
            continue
        wrong = [m for m in _imports(path) if not _allowed(m)]
        assert not wrong, f"{path.name} reaches around a front door: {wrong}"
        checked += 1
    assert checked >= 2  # __init__ and citizen_report at least


def test_the_citizen_report_flow_calls_each_domain_it_walks_through() -> None:
    imports = set(_imports(FLOWS / "citizen_report.py"))
    assert {
        "vaxlink.auth.service",
        "vaxlink.cleaning.service",
        "vaxlink.feedback.service",
    } <= imports


def test_no_flow_signs_for_a_site() -> None:
    """A site's approval key is used only by that site's approver (issue #14): no flow calls the
    approval signers, so a correction can only send a dose back to its site's queue."""
    signers = {"approve_dose", "approve_doses", "approve_records", "facility_signer", "sign"}
    for path in sorted(FLOWS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        }
        named = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not (called | named) & signers, f"{path.name} signs for a site"

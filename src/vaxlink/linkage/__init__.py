"""Verification and matching of dose records against the population registry.

Public surface: `link_files` (file to file), `link_tables` (table to table, any `Engine`),
`score_person` (one person, online), `evaluate` (against synthetic ground truth), `LinkModel`
(the versioned model artefact) and the `Engine` protocol with its `DuckDBEngine`.
"""

from __future__ import annotations

from vaxlink.linkage.engine import DuckDBEngine, Engine
from vaxlink.linkage.evaluate import EvalReport, evaluate
from vaxlink.linkage.files import link_files
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.online import LinkResult, score_person
from vaxlink.linkage.pipeline import LinkSettings, LinkStats, link_tables

__all__ = [
    "DuckDBEngine",
    "Engine",
    "EvalReport",
    "LinkModel",
    "LinkResult",
    "LinkSettings",
    "LinkStats",
    "evaluate",
    "link_files",
    "link_tables",
    "score_person",
]

"""The bulk SQL and the online Python agree: features, comparison levels and match weights."""

from __future__ import annotations

from typing import Any

import pytest

from vaxlink.linkage.comparisons import COMPARISONS, PAIR_FEATURES
from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.online import citizen_features, dose_features, pair_weights
from vaxlink.linkage.pipeline import LinkStats, score
from vaxlink.linkage.train import term_frequencies


def _rows(engine: DuckDBEngine, sql: str) -> list[dict[str, Any]]:
    return engine.to_arrow(sql).to_pylist()


def test_dose_features(prepared: tuple[DuckDBEngine, LinkStats]) -> None:
    engine, _ = prepared
    raw = _rows(engine, "SELECT * FROM doses_in ORDER BY _row LIMIT 6000")
    feats = {r["_row"]: r for r in _rows(engine, "SELECT * FROM lk_dose WHERE _row IN "
                                                 "(SELECT _row FROM doses_in ORDER BY _row LIMIT 6000)")}  # fmt: skip
    for row in raw:
        want = feats[row["_row"]]
        got = dose_features(row)
        for f in (*PAIR_FEATURES, "id_raw"):
            assert got[f] == want[f], (f, row)


def test_citizen_features(prepared: tuple[DuckDBEngine, LinkStats]) -> None:
    engine, _ = prepared
    raw = _rows(engine, "SELECT * FROM registry_in LIMIT 6000")
    feats = {r["cid"]: r for r in _rows(engine, "SELECT * FROM lk_reg")}
    for row in raw:
        got = citizen_features(row)
        want = feats[got["cid"]]
        for f in PAIR_FEATURES:
            assert got[f] == want[f], (f, row)


def scored_pairs(engine: DuckDBEngine, limit: int) -> list[dict[str, Any]]:
    """Scored pairs of the residual with both sides' features (`<feature>_l`, `<feature>_r`)."""
    lcols = ", ".join(f"l.{f} AS {f}_l" for f in PAIR_FEATURES)
    rcols = ", ".join(f"r.{f} AS {f}_r" for f in PAIR_FEATURES)
    return _rows(engine, f"""
        SELECT s.*, {lcols}, {rcols} FROM lk_scored s
        JOIN lk_res l ON l._row = s._row JOIN lk_reg r ON r.cid = s.cid
        ORDER BY s._row, s.cid LIMIT {limit}""")  # fmt: skip


def _split(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    left = {f: row[f"{f}_l"] for f in PAIR_FEATURES}
    right = {f: row[f"{f}_r"] for f in PAIR_FEATURES}
    right["cid"] = row["cid"]
    return left, right


def test_levels_and_weights(prepared: tuple[DuckDBEngine, LinkStats]) -> None:
    engine, stats = prepared
    model = LinkModel.load()
    model.tf = term_frequencies(engine, min_count=1)
    score(engine, model, stats.registry_rows)
    pairs = scored_pairs(engine, 5000)
    assert len(pairs) > 1000
    seen: dict[str, set[int]] = {c.name: set() for c in COMPARISONS}
    for row in pairs:
        left, right = _split(row)
        for c in COMPARISONS:
            level = c.level_of(left, right)
            assert level == row[f"g_{c.name}"], (c.name, left, right)
            seen[c.name].add(level)
        w, _fields = pair_weights(model, left, right, stats.registry_rows)
        assert w == pytest.approx(row["w"], abs=1e-6)
    # the pairs exercise most levels of every comparison
    for c in COMPARISONS:
        assert len(seen[c.name]) >= min(3, len(c.levels)), c.name

"""The model file is a Splink model: Splink loads it and scores pairs exactly as vaxlink does."""

from __future__ import annotations

import copy
import math

import pyarrow as pa
import pytest
from splink import Linker
from splink.backends.duckdb import DuckDBAPI

from tests.linkage.test_twins import scored_pairs
from vaxlink.linkage.comparisons import PAIR_FEATURES
from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.pipeline import LinkStats, score


def test_splink_scores_like_vaxlink(prepared: tuple[DuckDBEngine, LinkStats]) -> None:
    engine, stats = prepared
    model = copy.deepcopy(LinkModel.load())
    model.trained["registry_size"] = stats.registry_rows  # no rescaling of identifiers
    score(engine, model, stats.registry_rows)
    pairs = scored_pairs(engine, 1500)
    sides = {}
    for side in ("l", "r"):
        cols = {f: [p[f"{f}_{side}"] for p in pairs] for f in PAIR_FEATURES}
        cols["uid"] = [f"{side}{i}" for i in range(len(pairs))]
        cols["pair"] = list(range(len(pairs)))
        sides[side] = pa.table(cols)
    con = engine.con
    con.register("splink_left", sides["l"])
    con.register("splink_right", sides["r"])
    settings = {k: v for k, v in model.to_json().items() if k != "vaxlink"}
    lam = 2 ** model.prior_bits(stats.registry_rows)
    settings["probability_two_random_records_match"] = lam / (1 + lam)
    settings["blocking_rules_to_generate_predictions"] = ["l.pair = r.pair"]
    db_api = DuckDBAPI(connection=con)
    linker = Linker([db_api.register("splink_left"), db_api.register("splink_right")], settings,
                    log_level=None)  # fmt: skip
    for col in ("fam", "giv"):
        engine.execute(f"CREATE OR REPLACE TABLE splink_tf_{col} AS "
                       f"SELECT v AS {col}, tf AS tf_{col} FROM lk_tf_{col}")  # fmt: skip
        linker.table_management.register_term_frequency_lookup(
            db_api.register(f"splink_tf_{col}"), col)  # fmt: skip
    con.register("splink_got", linker.inference.predict().as_duckdbpyrelation())
    weights = dict(con.sql("SELECT uid_l, match_weight FROM splink_got").fetchall())
    assert len(weights) == len(pairs)
    for i, p in enumerate(pairs):
        assert weights[f"l{i}"] == pytest.approx(p["w"], abs=1e-6), p
    assert any(math.isfinite(p["w"]) and p["w"] > 0 for p in pairs)

"""The linkage pipeline: normalise, deterministic pass, persons, candidates, scoring, decisions.

Each stage is SQL run by an `Engine`; `link_tables` is the whole pipeline between tables (for
the store-backed `vaxlink verify`), `link_files` wraps it between files (for `vaxlink link`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vaxlink.linkage import blocking, clusters, decide, deterministic
from vaxlink.linkage import score as score_mod
from vaxlink.linkage.engine import Engine, Step, run, scalar
from vaxlink.linkage.features import build_doses, build_registry, map_all_names
from vaxlink.linkage.model import LinkModel

#: The stages a progress display is told about, in order.
STAGES = (
    "normalise registry", "normalise doses", "deterministic pass", "person clusters",
    "candidates", "scoring", "decisions",
)  # fmt: skip
RESULT_TABLE = "lk_result"

OnStage = Callable[[str], None]


@dataclass
class LinkSettings:
    """Options of one linkage run."""

    today: dt.date  # for the plausibility checks (a dose after it is in the future)
    explain: bool = True  # per-field evidence of review/unmatched records (column `explanation`)


@dataclass
class LinkStats:
    """What a run did: counts and seconds per stage."""

    registry_rows: int = 0
    dose_rows: int = 0
    residual_rows: int = 0
    candidate_pairs: int = 0
    cluster_rounds: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


class StageTimer:
    """Calls `on_stage` as each stage starts and records the seconds each took."""

    def __init__(self, stats: LinkStats, on_stage: OnStage | None) -> None:
        self.stats, self.on_stage = stats, on_stage
        self.name: str | None = None
        self.start = time.perf_counter()

    def __call__(self, name: str | None) -> None:
        now = time.perf_counter()
        if self.name is not None:
            self.stats.seconds[self.name] = round(now - self.start, 2)
        self.name, self.start = name, now
        if name is not None and self.on_stage is not None:
            self.on_stage(name)


def prepare(
    engine: Engine,
    registry_table: str,
    doses_table: str,
    today: dt.date,
    stage: Callable[[str | None], None],
    stats: LinkStats,
) -> None:
    """Features, deterministic links, person clusters and the residual's candidate pairs
    (tables lk_reg, lk_dose, lk_idowner, lk_det, lk_cluster, lk_res, lk_cmp, lk_det_cmp; the pair
    tables are dropped once compared)."""
    stage("normalise registry")
    map_all_names(engine, registry_table, doses_table, "lk_names")
    build_registry(engine, registry_table, "lk_names")
    run(engine, score_mod.tf_steps())
    stage("normalise doses")
    build_doses(engine, doses_table, today, "lk_names")
    engine.execute("DROP TABLE lk_names")
    stage("deterministic pass")
    run(engine, deterministic.steps())
    run(engine, [Step(
        "CREATE OR REPLACE TABLE lk_res AS SELECT d.* FROM lk_dose d "
        "WHERE d.invalid IS NULL AND NOT EXISTS (SELECT 1 FROM lk_det t WHERE t._row = d._row)"
    )])  # fmt: skip
    stage("person clusters")
    # Persons are built around the records the model will judge; the doses the rules linked
    # are the evidence (and the conflicts) they are joined to.
    stats.cluster_rounds = clusters.cluster(engine, "lk_res")
    stage("candidates")
    run(engine, blocking.pair_steps("lk_res"))
    stats.candidate_pairs = int(scalar(engine, "SELECT count(*) FROM lk_pairs") or 0)
    # Each pair table is dropped once compared: at 10M the pairs are tens of millions of rows,
    # and every table kept past its use is memory DuckDB must spill under its cap.
    run(engine, [score_mod.comparison_step("lk_pairs", "lk_res", "lk_cmp"),
                 Step("DROP TABLE lk_pairs")])  # fmt: skip
    run(engine, decide.det_score_steps())
    run(engine, [score_mod.comparison_step("lk_det_pairs", "lk_dose", "lk_det_cmp"),
                 Step("DROP TABLE lk_det_pairs")])  # fmt: skip
    stats.registry_rows = int(scalar(engine, "SELECT count(*) FROM lk_reg") or 0)
    stats.dose_rows = int(scalar(engine, "SELECT count(*) FROM lk_dose") or 0)
    stats.residual_rows = int(scalar(engine, "SELECT count(*) FROM lk_res") or 0)


def score(
    engine: Engine, model: LinkModel, registry_size: int, drop_compared: bool = False
) -> None:
    """Weights, ranks and posteriors of the residual's and the rules' pairs (lk_ranked,
    lk_det_ranked). With `drop_compared` (a run that scores once) lk_cmp and lk_det_cmp are
    dropped as soon as they are weighed; tuning and training re-score them with other models."""
    wp = score_mod.weight_params(model, registry_size)
    for cmp, scored, ranked in (("lk_cmp", "lk_scored", "lk_ranked"),
                                ("lk_det_cmp", "lk_det_scored", "lk_det_ranked")):  # fmt: skip
        engine.execute(score_mod.weight_step(cmp, scored).sql, wp)
        if drop_compared:  # lk_scored keeps the pairs over MIN_BITS, all that is read later
            engine.execute(f"DROP TABLE {cmp}")
        run(engine, [score_mod.rank_step(scored, ranked)])


def decide_all(engine: Engine, model: LinkModel, explain: bool) -> dict[str, int]:
    """Decide every record with the model's thresholds into the result table; status counts."""
    dp = decide.params(model)
    for step in decide.decision_steps():
        engine.execute(step.sql, {k: v for k, v in dp.items() if f"${k}" in step.sql})
    if explain:
        run(engine, [decide.explain_step()])
    engine.execute(f"CREATE OR REPLACE TABLE {RESULT_TABLE} AS {decide.result_sql(explain)}")
    counts = engine.to_arrow(f"SELECT status, count(*) AS n FROM {RESULT_TABLE} GROUP BY status")
    return dict(zip(counts.column("status").to_pylist(), counts.column("n").to_pylist(),
                    strict=True))  # fmt: skip


def score_and_decide(
    engine: Engine,
    model: LinkModel,
    stage: Callable[[str | None], None],
    stats: LinkStats,
    explain: bool,
) -> str:
    """Score the candidate pairs with `model`, decide every record; returns the result table."""
    stage("scoring")
    score(engine, model, stats.registry_rows, drop_compared=True)
    stage("decisions")
    stats.statuses = decide_all(engine, model, explain)
    return RESULT_TABLE


def link_tables(
    engine: Engine,
    registry_table: str,
    doses_table: str,
    model: LinkModel,
    settings: LinkSettings,
    on_stage: OnStage | None = None,
    stats: LinkStats | None = None,
) -> str:
    """Link the dose records in `doses_table` to the citizens in `registry_table` (columns as in
    docs/formats.md §1 and §2); returns the name of the result table: one row per dose row with
    `_row` (its input order), the docs/formats.md §3 columns, `rule` and, with `settings.explain`,
    `explanation`."""
    stats = stats if stats is not None else LinkStats()
    timer = StageTimer(stats, on_stage)
    prepare(engine, registry_table, doses_table, settings.today, timer, stats)
    table = score_and_decide(engine, model, timer, stats, settings.explain)
    timer(None)
    return table

"""Choosing the decision thresholds on evaluation data (synthetic records with ground truth).

Every combination of the grid is decided and evaluated on the same scored pairs; the chosen one
links the most dirty records automatically while its wrong links stay at half the allowed rate
(1 in 20,000) and no person absent from the registry is linked. Among equals, the strictest wins.
Synthetic errors are kinder than real ones, so the choice never goes below a floor (a posterior
of 0.999 and a 5-bit margin) however clean the tuning data looks; the combinations below the
floor are still evaluated, to show where wrong links begin.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.evaluate import evaluate_tables
from vaxlink.linkage.model import LinkModel, Thresholds
from vaxlink.linkage.pipeline import decide_all, score

GRID: dict[str, tuple[float, ...]] = {
    "auto_probability": (0.9, 0.99, 0.999, 0.9999, 0.99999),
    "margin_bits": (3.0, 5.0, 10.0),
    "cluster_bits": (0.0, 5.0, 10.0),
}
FLOOR = {"auto_probability": 0.999, "margin_bits": 5.0, "cluster_bits": 0.0}
#: Wrong automatic links allowed while tuning: half the 1-in-10,000 target, for the other seed.
MAX_WRONG_RATE = 0.5e-4


def tune(
    engine: DuckDBEngine,
    model: LinkModel,
    registry_size: int,
    truth: Path,
    exclude: Sequence[str] = (),
) -> tuple[Thresholds, list[dict[str, Any]]]:
    """The best thresholds on `truth` for the prepared tables, and every combination's metrics.

    With `exclude`, the truth rows carrying every one of those error types are left out (they
    are neither tuned on nor counted): the leave-one-error-type-out evaluation holds them out."""
    load_truth(engine, truth, exclude)
    score(engine, model, registry_size)
    trials: list[dict[str, Any]] = []
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        t = replace(model.thresholds, **dict(zip(names, values, strict=True)))
        decide_all(engine, replace(model, thresholds=t), explain=False)
        engine.execute("CREATE OR REPLACE VIEW result AS SELECT * FROM lk_result")
        r = evaluate_tables(engine.con)
        trials.append(trial(t, r.auto_links, r.wrong_auto_links, r.auto_share_dirty,
                            r.absent_people_linked))  # fmt: skip
    best = choose(trials)
    chosen = replace(model.thresholds, **{n: best[n] for n in names})
    return chosen, trials


def load_truth(engine: DuckDBEngine, truth: Path, exclude: Sequence[str] = ()) -> None:
    """Table `truth` from a truth file, without the rows carrying every type in `exclude`."""
    engine.execute(
        "CREATE OR REPLACE TABLE truth AS SELECT * FROM read_csv($p, all_varchar = true, header = true)",
        {"p": str(truth)},
    )
    if exclude:
        engine.execute(
            "DELETE FROM truth WHERE list_has_all(string_split(coalesce(errors, ''), ';'), $x)",
            {"x": list(exclude)},
        )


def trial(
    t: Thresholds, auto_links: int, wrong: int, auto_share_dirty: float, absent_linked: int
) -> dict[str, Any]:
    """One combination's metrics, and whether its wrong and absent links are within bounds."""
    ok = wrong <= MAX_WRONG_RATE * auto_links and absent_linked == 0
    return {**t.__dict__, "ok": ok,
            "precision": (auto_links - wrong) / auto_links if auto_links else 1.0,
            "auto_share_dirty": auto_share_dirty, "wrong": wrong, "absent_linked": absent_linked}  # fmt: skip


def meets_floor(trial: dict[str, Any]) -> bool:
    """Whether a combination is strict enough to be chosen at all."""
    return all(trial[k] >= v for k, v in FLOOR.items())


def choose(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial `tune` picks among evaluated combinations."""
    allowed = [x for x in trials if meets_floor(x)]
    good = [x for x in allowed if x["ok"]] or allowed
    return max(good, key=lambda x: (round(x["auto_share_dirty"], 5), x["auto_probability"],
                                    x["margin_bits"], x["cluster_bits"]))  # fmt: skip

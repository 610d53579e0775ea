"""Generalisation measured: leave one error type out of the threshold tuning, measure on it.

For each group of error types G (one type, or a combination such as a missing ID with a dropped
middle name), the thresholds are chosen as `tune` chooses them, but on the truth without the
records carrying G (`tune(..., exclude=G)`), and the records carrying G are measured at those
thresholds (held out) and at the thresholds tuned on everything (tuned with). A type the engine
only handles because its thresholds were fitted to it shows up as a gap between the two.

Only the thresholds are held out: the model's m and u are the given model's (the packaged one
was trained by unsupervised EM on synthetic records, without truth).

The grid is decided once per combination and every group is evaluated from the same decisions,
so the result equals one `tune(exclude=G)` per group (a test checks it) at the cost of one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.evaluate import evaluate_tables
from vaxlink.linkage.model import LinkModel, Thresholds
from vaxlink.linkage.pipeline import decide_all, score
from vaxlink.linkage.tune import GRID, choose, load_truth, meets_floor, trial

#: Values of truth's `errors` that are not slips of a registered person's record.
NOT_SLIPS = ("not_in_registry",)


@dataclass
class Rates:
    """How the records of one group fared at one choice of thresholds."""

    thresholds: dict[str, float]
    auto_share: float  # linked automatically to the right citizen
    recall_at_3: float  # the right citizen linked or among the candidates
    wrong_links: int  # linked automatically to someone else
    review_share: float


@dataclass
class GroupResult:
    """One held-out group: its records (of registered people, valid rows), held out and not."""

    group: str  # the error types joined by '+'
    records: int
    held_out: Rates
    tuned_with: Rates


@dataclass
class GeneralisationReport:
    """Every group's held-out and tuned-with rates, and the overall metrics when tuned on all."""

    thresholds: dict[str, float]  # tuned on everything
    overall: dict[str, Any]
    groups: list[GroupResult] = field(default_factory=list)
    combinations_tried: int = 0
    #: per group, what `tune(exclude=group)` sees of each combination tried (in grid order)
    trials_without: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def _label(group: Sequence[str]) -> str:
    return "+".join(group)


def error_groups(
    engine: DuckDBEngine, extra: Sequence[Sequence[str]] = ()
) -> list[tuple[str, ...]]:
    """Every slip type found in table `truth`, one group each, then the `extra` combinations."""
    rows = engine.to_arrow(
        "SELECT DISTINCT e FROM (SELECT unnest(string_split(errors, ';')) AS e FROM truth "
        "WHERE coalesce(errors, '') <> '') WHERE e NOT LIKE 'invalid_%' ORDER BY e"
    )
    found = [e for e in rows.column("e").to_pylist() if e not in NOT_SLIPS]
    return [(e,) for e in found] + [tuple(g) for g in extra if len(g)]


_MEMBERS = """
CREATE OR REPLACE TABLE lk_gen_member AS
SELECT t.record_id, g.gi
FROM truth t JOIN lk_gen_groups g
  ON list_has_all(string_split(coalesce(t.errors, ''), ';'), g.members)
"""

#: Per group, from table evf (as evaluate_tables leaves it): the group's own records (judged as
#: `by_error` judges slips) and what the rest would count without them.
_PER_GROUP = """
SELECT m.gi,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected) AS n,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected AND e.auto_right) AS right_,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected AND e.auto_wrong) AS wrong_,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected AND e.status = 'review') AS rev,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected AND e.found) AS found_,
       count(*) FILTER (e.in_registry AND NOT e.invalid_expected AND e.truth IS NOT NULL) AS known,
       count(*) FILTER (e.auto) AS auto_all,
       count(*) FILTER (e.auto_wrong) AS wrong_all,
       count(*) FILTER (e.auto_right AND e.errors <> '' AND e.in_registry
                        AND NOT e.invalid_expected) AS dirty_right,
       count(*) FILTER (e.errors <> '' AND e.in_registry AND NOT e.invalid_expected) AS dirty
FROM lk_gen_member m JOIN evf e USING (record_id)
GROUP BY m.gi
"""

#: The dirty records of registered people (valid rows) and those linked right, as evaluate counts.
_DIRTY = """
SELECT count(*) FILTER (auto_right AND errors <> '' AND in_registry AND NOT invalid_expected) AS r,
       count(*) FILTER (errors <> '' AND in_registry AND NOT invalid_expected) AS d
FROM evf
"""
_EMPTY = dict.fromkeys(("n", "right_", "wrong_", "rev", "found_", "known", "auto_all", "wrong_all",
                        "dirty_right", "dirty"), 0)  # fmt: skip

#: Per group: people absent from the registry linked by a record that does not carry the group.
_ABSENT_WITHOUT = """
SELECT g.gi, count(DISTINCT e.person_key) AS linked
FROM evf e CROSS JOIN lk_gen_groups g
WHERE NOT e.in_registry AND e.auto
  AND NOT EXISTS (SELECT 1 FROM lk_gen_member m WHERE m.record_id = e.record_id AND m.gi = g.gi)
GROUP BY g.gi
"""


def _grid(model: LinkModel) -> list[Thresholds]:
    """The combinations `tune` could choose (those below its floor are never chosen)."""
    names = list(GRID)
    out = []
    for values in itertools.product(*(GRID[n] for n in names)):
        t = replace(model.thresholds, **dict(zip(names, values, strict=True)))
        if meets_floor(t.__dict__):
            out.append(t)
    return out


def _rates(t: Thresholds, c: dict[str, int]) -> Rates:
    n = c["n"]
    return Rates(
        thresholds={k: getattr(t, k) for k in GRID},
        auto_share=c["right_"] / n if n else 0.0,
        recall_at_3=c["found_"] / c["known"] if c["known"] else 1.0,
        wrong_links=c["wrong_"],
        review_share=c["rev"] / n if n else 0.0,
    )


def leave_one_out(
    engine: DuckDBEngine,
    model: LinkModel,
    registry_size: int,
    truth: Path,
    groups: Sequence[Sequence[str]] | None = None,
    extra_groups: Sequence[Sequence[str]] = (),
) -> GeneralisationReport:
    """Leave-one-error-type-out evaluation on prepared tables (`pipeline.prepare` has run).

    `groups`: the groups to hold out (default: every slip type in the truth, then
    `extra_groups`). A group holds out the records carrying all of its types."""
    load_truth(engine, truth)
    chosen_groups = [tuple(g) for g in groups] if groups is not None else error_groups(
        engine, extra_groups
    )  # fmt: skip
    engine.execute("CREATE OR REPLACE TABLE lk_gen_groups (gi INTEGER, members VARCHAR[])")
    for gi, g in enumerate(chosen_groups):
        engine.execute("INSERT INTO lk_gen_groups VALUES ($gi, $m)", {"gi": gi, "m": list(g)})
    engine.execute(_MEMBERS)
    score(engine, model, registry_size)
    grid = _grid(model)
    every: list[dict[str, Any]] = []
    without: list[list[dict[str, Any]]] = [[] for _ in chosen_groups]
    own: list[list[Rates]] = [[] for _ in chosen_groups]
    counts: list[int] = [0] * len(chosen_groups)
    for i, t in enumerate(grid):
        decide_all(engine, replace(model, thresholds=t), explain=False)
        engine.execute("CREATE OR REPLACE VIEW result AS SELECT * FROM lk_result")
        r = evaluate_tables(engine.con)
        every.append({**trial(t, r.auto_links, r.wrong_auto_links, r.auto_share_dirty,
                              r.absent_people_linked), "index": i,
                      "overall": {"precision": r.precision, "wrong_auto_links": r.wrong_auto_links,
                                  "auto_share_dirty": r.auto_share_dirty,
                                  "auto_share_all": r.auto_share_all,
                                  "recall_at_3": r.recall_at_3,
                                  "absent_people": r.absent_people,
                                  "absent_people_linked": r.absent_people_linked}})  # fmt: skip
        dirty_right, dirty = engine.to_arrow(_DIRTY).to_pylist()[0].values()
        per = {int(x["gi"]): x for x in engine.to_arrow(_PER_GROUP).to_pylist()}
        absent = {
            int(x["gi"]): int(x["linked"]) for x in engine.to_arrow(_ABSENT_WITHOUT).to_pylist()
        }
        for gi in range(len(chosen_groups)):
            c = per.get(gi, _EMPTY)
            counts[gi] = c["n"]
            own[gi].append(_rates(t, c))
            rest = dirty - c["dirty"]
            share = (dirty_right - c["dirty_right"]) / rest if rest else 1.0
            without[gi].append({**trial(t, r.auto_links - c["auto_all"],
                                        r.wrong_auto_links - c["wrong_all"], share,
                                        absent.get(gi, 0)), "index": i})  # fmt: skip
    best = choose(every)
    report = GeneralisationReport(
        thresholds={k: best[k] for k in GRID},
        overall=best["overall"],
        combinations_tried=len(grid),
    )
    for gi, g in enumerate(chosen_groups):
        held = choose(without[gi])
        report.trials_without[_label(g)] = without[gi]
        report.groups.append(GroupResult(
            group=_label(g), records=counts[gi], held_out=own[gi][held["index"]],
            tuned_with=own[gi][best["index"]],
        ))  # fmt: skip
    return report

"""Leave-one-error-type-out: what it counts for each held-out group is exactly what `tune` with
that group excluded sees, and what `evaluate` says of the group's own records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.evaluate import evaluate_tables
from vaxlink.linkage.files import load_inputs
from vaxlink.linkage.generalisation import GeneralisationReport, leave_one_out
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.pipeline import LinkStats, decide_all, prepare
from vaxlink.linkage.tune import GRID, choose, load_truth, trial

from .conftest import TODAY

GROUPS = [("dob_day_off_by_one",), ("id_missing",), ("name_dropped_middle", "id_missing"),
          ("no_such_error",)]  # fmt: skip


@pytest.fixture(scope="module")
def engine(synth_small: dict[str, Path]) -> Iterator[tuple[DuckDBEngine, int]]:
    """Its own prepared engine: the evaluation rewrites the scored and decided tables."""
    eng = DuckDBEngine()
    load_inputs(eng, synth_small["registry"], synth_small["doses"])
    stats = LinkStats()
    prepare(eng, "registry_in", "doses_in", TODAY, lambda _s: None, stats)
    yield eng, stats.registry_rows
    eng.close()


@pytest.fixture(scope="module")
def report(engine: tuple[DuckDBEngine, int], synth_small: dict[str, Path]) -> GeneralisationReport:
    eng, size = engine
    return leave_one_out(eng, LinkModel.load(), size, synth_small["truth"], groups=GROUPS)


def _decide_at(eng: DuckDBEngine, index: int, report: GeneralisationReport) -> None:
    model = LinkModel.load()
    some = report.trials_without["id_missing"][index]
    t = replace(model.thresholds, **{k: some[k] for k in GRID})
    decide_all(eng, replace(model, thresholds=t), explain=False)
    eng.execute("CREATE OR REPLACE VIEW result AS SELECT * FROM lk_result")


@pytest.mark.parametrize("index", [0, -1])
def test_without_a_group_is_what_tune_would_see(
    engine: tuple[DuckDBEngine, int],
    synth_small: dict[str, Path],
    report: GeneralisationReport,
    index: int,
) -> None:
    eng, _size = engine
    _decide_at(eng, index, report)
    for group in GROUPS:
        load_truth(eng, synth_small["truth"], exclude=group)
        r = evaluate_tables(eng.con)
        seen = report.trials_without["+".join(group)][index]
        want = trial(LinkModel.load().thresholds, r.auto_links, r.wrong_auto_links,
                     r.auto_share_dirty, r.absent_people_linked)  # fmt: skip
        for key in ("ok", "wrong", "absent_linked"):
            assert seen[key] == want[key], (group, key)
        assert seen["auto_share_dirty"] == pytest.approx(want["auto_share_dirty"], abs=1e-12)
        assert seen["precision"] == pytest.approx(want["precision"], abs=1e-12)


def test_held_out_rates_are_the_groups_own(
    engine: tuple[DuckDBEngine, int], synth_small: dict[str, Path], report: GeneralisationReport
) -> None:
    eng, _size = engine
    by_group = {g.group: g for g in report.groups}
    chosen = by_group["dob_day_off_by_one"].held_out.thresholds
    index = next(i for i, x in enumerate(report.trials_without["id_missing"])
                 if all(x[k] == v for k, v in chosen.items()))  # fmt: skip
    _decide_at(eng, index, report)
    load_truth(eng, synth_small["truth"])
    r = evaluate_tables(eng.con)
    for name in ("dob_day_off_by_one", "id_missing"):
        g, e = by_group[name], r.by_error[name]
        assert g.records == e.records > 50
        assert g.held_out.thresholds == chosen
        assert g.held_out.auto_share == pytest.approx(e.auto_share)
        assert g.held_out.recall_at_3 == pytest.approx(e.recall_at_3)
        assert g.held_out.wrong_links == e.wrong_links
        assert g.held_out.review_share == pytest.approx(e.review_share)
    combo = by_group["name_dropped_middle+id_missing"]
    n, right = eng.con.execute(
        "SELECT count(*), count(*) FILTER (auto_right) FROM evf WHERE in_registry "
        "AND NOT invalid_expected AND errors LIKE '%name_dropped_middle%' "
        "AND errors LIKE '%id_missing%'"
    ).fetchall()[0]
    assert 0 < combo.records == n < by_group["id_missing"].records
    assert combo.held_out.auto_share == pytest.approx(right / n)


def test_choices_follow_tune(report: GeneralisationReport) -> None:
    assert report.combinations_tried > 1
    for g in report.groups:
        best = choose(report.trials_without[g.group])
        assert g.held_out.thresholds == {k: best[k] for k in GRID}
    nothing = next(g for g in report.groups if g.group == "no_such_error")
    assert nothing.records == 0
    # Holding out nothing is tuning on everything.
    assert nothing.held_out.thresholds == report.thresholds
    assert report.overall["absent_people"] > 100


def test_default_groups_are_every_slip_in_the_truth(
    engine: tuple[DuckDBEngine, int], synth_small: dict[str, Path]
) -> None:
    from vaxlink.linkage.generalisation import error_groups

    eng, _size = engine
    load_truth(eng, synth_small["truth"])
    groups = error_groups(eng, extra=[("name_dropped_middle", "id_missing")])
    names = {g[0] for g in groups if len(g) == 1}
    assert {"dob_day_off_by_one", "id_dropped_digit", "id_relative", "name_typo"} <= names
    assert not any(n.startswith("invalid_") or n == "not_in_registry" for n in names)
    assert groups[-1] == ("name_dropped_middle", "id_missing")

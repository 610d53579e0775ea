"""Generalisation benchmark: leave one error type out of the threshold tuning, measure on it.

A synthetic registry and its dose records (`vaxlink.synth`, every error type it makes) are taken
through the pipeline once; then for each error type X (and each combination synth draws as one,
such as a missing ID with a dropped middle name) the thresholds are tuned as `vaxlink
link-train --truth` tunes them but without the records carrying X, and those records are
measured: automatic share (linked automatically to the right citizen), recall@3 and wrong links,
held out and tuned with. The overall precision, automatic share of dirty records, recall@3 and
people absent from the registry who were linked are those of the thresholds tuned on everything.
Writes benchmarks/results/linkage_generalisation.json and prints the per-type table.

    python benchmarks/linkage_generalisation_bench.py                     # 100k citizens
    python benchmarks/linkage_generalisation_bench.py --citizens 20000    # a quick look
    python benchmarks/linkage_generalisation_bench.py --retrain           # m, u fitted here

Only the thresholds are held out: the model is the packaged one (trained by EM, without truth,
on synthetic records of the error mix before issue #15), or with --retrain one fitted on these
records (all of them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.files import load_inputs
from vaxlink.linkage.generalisation import GeneralisationReport, leave_one_out
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.pipeline import LinkStats, prepare
from vaxlink.synth import generate, write
from vaxlink.synth.error_model import COMBOS, WEIGHTS

sys.path.insert(0, str(Path(__file__).parent))
from _measure import write_result

TODAY = dt.date(2025, 1, 1)
#: The error types synth made for the first time in issue #15 (marked in the table).
NEW_IN_15 = frozenset({
    "dob_day_off_by_one", "dob_day_digit", "dob_month_off_by_one", "dob_month_digit",
    "dob_year_digit", "id_dropped_digit", "id_added_digit", "id_relative",
})  # fmt: skip


def _data(citizens: int, seed: int, data_dir: Path) -> tuple[dict[str, Path], int]:
    folder = data_dir / f"synth-{citizens}-{seed}"
    paths = {k: folder / f"{k}.csv" for k in ("registry", "doses", "truth")}
    if not all(p.exists() for p in paths.values()):
        paths = write(generate(citizens, seed), folder)
    with paths["doses"].open("rb") as fh:
        doses = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    return paths, doses


def _table(report: GeneralisationReport, title: str) -> Table:
    table = Table(title=title)
    table.add_column("error type", no_wrap=True)
    for col in ("records", "auto held out", "auto tuned with", "recall@3 held out",
                "wrong held out", "wrong tuned with", "thresholds held out"):  # fmt: skip
        table.add_column(col, justify="right")
    for g in report.groups:
        h, w = g.held_out, g.tuned_with
        mark = " *" if g.group in NEW_IN_15 else ""
        same = h.thresholds == w.thresholds
        table.add_row(f"{g.group}{mark}", f"{g.records:,}", f"{h.auto_share:.2%}",
                      f"{w.auto_share:.2%}", f"{h.recall_at_3:.2%}", str(h.wrong_links),
                      str(w.wrong_links),
                      "same" if same else "/".join(f"{v:g}" for v in h.thresholds.values()))  # fmt: skip
    return table


def main() -> None:
    """Run the benchmark and write benchmarks/results/linkage_generalisation.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=100_000, help="registry size")
    parser.add_argument("--seed", type=int, default=22, help="synthetic seed")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench"
    )
    parser.add_argument("--model", type=Path, help="model JSON (default: the packaged model)")
    parser.add_argument("--retrain", action="store_true", help="fit m and u on these records")
    args = parser.parse_args()

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    paths, n_doses = _data(args.citizens, args.seed, args.data_dir)
    seconds["synth"] = time.perf_counter() - t
    engine = DuckDBEngine()
    try:
        t = time.perf_counter()
        load_inputs(engine, paths["registry"], paths["doses"])
        stats = LinkStats()
        prepare(engine, "registry_in", "doses_in", TODAY, lambda _s: None, stats)
        seconds["prepare"] = time.perf_counter() - t
        model = LinkModel.load(args.model) if args.model else LinkModel.load()
        if args.retrain:
            from vaxlink.linkage.train import fit

            t = time.perf_counter()
            model = fit(engine, stats, seed=args.seed, note={"trained_on": "this benchmark"})
            seconds["retrain"] = time.perf_counter() - t
        t = time.perf_counter()
        report = leave_one_out(engine, model, stats.registry_rows, paths["truth"],
                               extra_groups=list(COMBOS))  # fmt: skip
        seconds["leave_one_out"] = time.perf_counter() - t
    finally:
        engine.close()

    console = Console(width=160)
    o = report.overall
    console.print(_table(report, f"leave one error type out: {args.citizens:,} citizens, "
                                 f"{n_doses:,} dose records (* new in issue #15)"))  # fmt: skip
    summary = Table(title="tuned on everything", show_header=False)
    for name, value in (
        ("thresholds (auto probability / margin bits / cluster bits)",
         "/".join(f"{v:g}" for v in report.thresholds.values())),
        ("precision of automatic links", f"{o['precision']:.6f} ({o['wrong_auto_links']} wrong)"),
        ("dirty records of registered people linked automatically", f"{o['auto_share_dirty']:.2%}"),
        ("recall@3 (records of registered people)", f"{o['recall_at_3']:.4%}"),
        ("people absent from the registry linked", f"{o['absent_people_linked']} of {o['absent_people']}"),
        ("combinations of thresholds tried", str(report.combinations_tried)),
        ("seconds", ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())),
    ):  # fmt: skip
        summary.add_row(name, value)
    console.print(summary)

    payload: dict[str, Any] = {
        "citizens": args.citizens,
        "dose_records": n_doses,
        "seed": args.seed,
        "model": "retrained on these records" if args.retrain else str(args.model or "packaged"),
        "model_version": model.version,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "thresholds_tuned_on_all": report.thresholds,
        "overall": o,
        "error_weights": WEIGHTS,
        "combinations_drawn_as_one": {"+".join(k): v for k, v in COMBOS.items()},
        "new_in_issue_15": sorted(NEW_IN_15),
        "by_error_type": {
            g.group: {
                "records": g.records,
                "held_out": g.held_out.__dict__,
                "tuned_with": g.tuned_with.__dict__,
            }
            for g in report.groups
        },
    }
    print(f"wrote {write_result('linkage_generalisation', payload)}")


if __name__ == "__main__":
    main()

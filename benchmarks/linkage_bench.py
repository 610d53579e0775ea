"""Linkage benchmark: vaxlink's pipeline beside an exact-match join and a Splink-only run.

For 1M dose records x 500k citizens and 10M x 5M (synthetic, `vaxlink.synth`), each method runs
in its own process while the RSS of its process tree is sampled; each result is also scored
against the ground truth. Writes benchmarks/results/linkage.json and prints a table.

    python benchmarks/linkage_bench.py                   # both sizes, all methods
    python benchmarks/linkage_bench.py --sizes 1m --no-splink
    python benchmarks/linkage_bench.py run METHOD REGISTRY DOSES OUT   # one measured run

Targets (2 cores): at 1M doses at least 5x faster than Splink-only with peak memory <= 2 GB;
at 10M doses under 5 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vaxlink.linkage.model import LinkModel

sys.path.insert(0, str(Path(__file__).parent))
from _measure import run_measured, write_result

MB = 1024 * 1024
SIZES = {
    "1m": (500_000, 1_000_000),
    "3m": (1_500_000, 3_000_000),
    "10m": (5_000_000, 10_000_000),
}
TODAY = dt.date(2025, 1, 1)
#: Splink-only: automatic link when the best pair reaches this probability.
SPLINK_AUTO = 0.9999


def run_ours(registry: Path, doses: Path, out: Path) -> dict[str, Any]:
    """vaxlink's pipeline with the packaged model (the `vaxlink link` command's work)."""
    from vaxlink.linkage.files import link_files

    run = link_files(registry, doses, out, today=TODAY, explain=True, model=LinkModel.load())
    return {"stages": run.stats.seconds, "residual": run.stats.residual_rows,
            "pairs": run.stats.candidate_pairs, "statuses": run.stats.statuses}  # fmt: skip


def _scan(path: Path) -> str:
    """A DuckDB table function reading `path` (bound as ?) as text, CSV or Parquet."""
    if path.suffix == ".parquet":
        return "read_parquet(?)"
    return "read_csv(?, all_varchar = true, header = true)"


_PREP = """
CREATE TABLE {name} AS
WITH s AS (
    SELECT *, string_split(trim(regexp_replace(lower(strip_accents(replace(replace(
               nfc_normalize(full_name), 'đ', 'd'), 'Đ', 'D'))), '[^a-z ]', ' ', 'g')), ' ') AS w
    FROM {scan})
SELECT {uid} AS unique_id, list_filter(w, lambda x: x <> '')[1] AS family,
       list_filter(w, lambda x: x <> '')[-1] AS given,
       array_to_string(list_filter(w, lambda x: x <> ''), ' ') AS name,
       strftime(coalesce(try_strptime(date_of_birth, '%Y-%m-%d'),
                         try_strptime(date_of_birth, '%d/%m/%Y')), '%Y-%m-%d') AS dob,
       left(regexp_extract(date_of_birth, '(\\d{{4}})'), 4) AS birth_year,
       CASE WHEN lower(strip_accents(sex)) IN ('m', 'nam') THEN 'M'
            WHEN lower(strip_accents(sex)) IN ('f', 'nu') THEN 'F' END AS sex,
       nullif(regexp_replace({id}, '[^0-9]', '', 'g'), '') AS id_number,
       nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') AS phone,
       province_code
FROM s
"""


def run_exact(registry: Path, doses: Path, out: Path) -> dict[str, Any]:
    """The naive pass: a record is linked when its ID number, as written, is a citizen's."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
            SELECT d.record_id, CASE WHEN r.citizen_id IS NOT NULL THEN 'auto_linked'
                                     ELSE 'unmatched' END AS status,
                   r.citizen_id, CASE WHEN r.citizen_id IS NOT NULL THEN 1.0 END AS match_probability,
                   NULL AS corrected_fields, '[]' AS candidates, NULL AS reason
            FROM {_scan(doses).replace("?", "$doses")} d
            LEFT JOIN {_scan(registry).replace("?", "$registry")} r
              ON r.citizen_id = trim(d.id_number)
        ) TO $out (HEADER, DELIMITER ',')
        """,
        {"doses": str(doses), "registry": str(registry), "out": str(out)},
    )
    return {}


def run_splink(registry: Path, doses: Path, out: Path) -> dict[str, Any]:
    """Splink alone, as a careful data scientist would set it up: light cleaning in SQL,
    out-of-the-box comparisons with term frequencies, blocking on ID, date of birth and names,
    u by random sampling and m by EM; each record's best pair is its link or its candidate."""
    import duckdb
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    stages: dict[str, float] = {}
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(_PREP.format(name="reg", uid="citizen_id", id="citizen_id", scan=_scan(registry)),
                [str(registry)])  # fmt: skip
    con.execute(_PREP.format(name="dose", uid="record_id", id="id_number", scan=_scan(doses)),
                [str(doses)])  # fmt: skip
    stages["prepare"] = time.perf_counter() - t
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1 / 500_000,
        comparisons=[
            cl.JaroWinklerAtThresholds("family", [0.92, 0.8]).configure(
                term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("given", [0.92, 0.8]).configure(
                term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.DamerauLevenshteinAtThresholds("id_number", [1, 2]),
            cl.ExactMatch("phone"),
            cl.ExactMatch("province_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("dob"),
            block_on("family", "given", "birth_year"),
            block_on("phone"),
        ],
        retain_matching_columns=False,
    )  # fmt: skip
    linker = Linker([db_api.register("dose"), db_api.register("reg")], settings, log_level=None)
    t = time.perf_counter()
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("family", "given", "birth_year"))  # fmt: skip
    stages["train"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=0.001).as_duckdbpyrelation()
    stages["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    con.register("pred", pred)
    con.execute(
        """
        COPY (
            WITH p AS (
                SELECT unique_id_l AS record_id, unique_id_r AS cid, match_probability AS p,
                       row_number() OVER (PARTITION BY unique_id_l ORDER BY match_probability DESC)
                           AS rk FROM pred),
            c AS (SELECT record_id, max(p) FILTER (rk = 1) AS p, arg_max(cid, p) AS cid,
                         CAST(to_json(list({'citizen_id': cid, 'probability': round(p, 6)}
                              ORDER BY rk) FILTER (rk <= 3)) AS VARCHAR) AS cands
                  FROM p GROUP BY record_id)
            SELECT d.unique_id AS record_id,
                   CASE WHEN c.p >= $auto THEN 'auto_linked' WHEN c.p >= 0.01 THEN 'review'
                        ELSE 'unmatched' END AS status,
                   CASE WHEN c.p >= $auto THEN c.cid END AS citizen_id, c.p AS match_probability,
                   NULL AS corrected_fields, coalesce(c.cands, '[]') AS candidates, NULL AS reason
            FROM dose d LEFT JOIN c ON c.record_id = d.unique_id
        ) TO $out (HEADER, DELIMITER ',')
        """,
        {"auto": SPLINK_AUTO, "out": str(out)},
    )
    stages["decide_write"] = time.perf_counter() - t
    return {"stages": {k: round(v, 2) for k, v in stages.items()}}


RUNNERS = {"ours": run_ours, "exact": run_exact, "splink": run_splink}
#: Method -> (runner, input files): every method reads the same Parquet files; vaxlink also
#: reads the CSV files at 1M, to show what parsing text costs.
METHODS = {
    "ours": ("ours", "parquet"),
    "ours_csv": ("ours", "csv"),
    "exact": ("exact", "parquet"),
    "splink": ("splink", "parquet"),
}


def _child(method: str, registry: str, doses: str, out: str) -> None:
    info = RUNNERS[method](Path(registry), Path(doses), Path(out))
    print("RESULT " + json.dumps(info), flush=True)


def ensure_data(size: str, data_dir: Path, seed: int) -> dict[str, Path]:
    """The synthetic files of a size, generated once into `data_dir` and reused: registry and
    doses as CSV (as `vaxlink synth` writes them) and as Parquet (text columns), the truth."""
    import duckdb

    from vaxlink.synth import generate, write

    citizens, _doses = SIZES[size]
    folder = data_dir / f"synth-{citizens}-{seed}"
    paths = {k: folder / f"{k}.csv" for k in ("registry", "doses", "truth")}
    paths |= {f"{k}_parquet": folder / f"{k}.parquet" for k in ("registry", "doses")}
    if all(p.exists() for p in paths.values()):
        return paths
    t = time.perf_counter()
    result = generate(citizens, seed)
    write(result, folder)
    n = result.doses.num_rows
    del result
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for k in ("registry", "doses"):
        con.execute(
            "COPY (SELECT * FROM read_csv($src, all_varchar = true, header = true)) "
            "TO $dst (FORMAT parquet, COMPRESSION zstd)",
            {"src": str(paths[k]), "dst": str(paths[f"{k}_parquet"])},
        )
    con.close()
    print(f"generated {size} ({citizens:,} citizens, {n:,} doses) in "
          f"{time.perf_counter() - t:.0f} s", flush=True)  # fmt: skip
    return paths


def measure(method: str, paths: dict[str, Path], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one method in a child process; wall time, peak RSS of its tree, its own figures and
    the quality of its result."""
    from vaxlink.linkage.evaluate import evaluate

    runner, kind = METHODS[method]
    files = [paths["registry"], paths["doses"]] if kind == "csv" else [
        paths["registry_parquet"], paths["doses_parquet"]]  # fmt: skip
    cmd = [sys.executable, __file__, "run", runner, *map(str, files), str(out)]
    m = run_measured(cmd, env=env)
    row: dict[str, Any] = {"method": method, "input": kind, "seconds": round(m.seconds, 1),
                           "peak_rss_mb": round(m.peak_rss_bytes / MB), "ok": m.returncode == 0}  # fmt: skip
    info = [ln for ln in m.stdout.splitlines() if ln.startswith("RESULT ")]
    if m.returncode != 0 or not info:
        row["error"] = m.stdout[-2000:]
        return row
    row.update(json.loads(info[-1][len("RESULT ") :]))
    r = evaluate(paths["truth"], out)
    row["quality"] = {"precision": r.precision, "wrong_auto_links": r.wrong_auto_links,
                      "auto_share_all": r.auto_share_all, "auto_share_dirty": r.auto_share_dirty,
                      "recall_at_3": r.recall_at_3, "absent_people_linked": r.absent_people_linked,
                      "absent_people": r.absent_people}  # fmt: skip
    return row


def main() -> None:
    """Run the benchmark and write benchmarks/results/linkage.json."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1m,10m", help="comma list of 1m, 3m, 10m")
    parser.add_argument("--seed", type=int, default=22, help="synthetic seed (not the model's)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench"
    )
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink-only runs")
    parser.add_argument(
        "--splink-10m",
        action="store_true",
        help="also try Splink-only at 10M (needs ~10x the 1M run's memory)",
    )
    parser.add_argument("--memory-10m", default="6GB", help="DuckDB memory cap of vaxlink at 10M")
    args = parser.parse_args()  # fmt: skip
    results: dict[str, Any] = {"seed": args.seed, "sizes": {}}
    for size in args.sizes.split(","):
        paths = ensure_data(size, args.data_dir, args.seed)
        env = {"VAXLINK_DUCKDB_MEMORY_LIMIT": args.memory_10m} if size == "10m" else {}
        rows = []
        for method in METHODS:
            if method == "ours_csv" and size != "1m":
                continue
            if method == "splink" and (args.no_splink or (size == "10m" and not args.splink_10m)):
                rows.append({"method": method, "skipped": _splink_skip_reason(results, size)})
                continue
            out = paths["doses"].with_name(f"result-{method}.csv")
            print(f"{size} {method} …", flush=True)
            rows.append(measure(method, paths, out, env))
        results["sizes"][size] = {"citizens": SIZES[size][0], "doses": _count(paths["doses"]),
                                  "runs": rows}  # fmt: skip
    results["growth_1m_to_10m"] = _growth(results)
    results["targets"] = _targets(results)
    write_result("linkage", results)
    table = Table(title="vaxlink link: time and memory (2 cores)")
    for col in ("size", "method", "seconds", "peak RSS (MB)", "precision", "dirty linked",
                "recall@3", "absent linked"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("size", "method") else "right")
    for size, data in results["sizes"].items():
        for row in data["runs"]:
            q = row.get("quality", {})
            table.add_row(size, row["method"], str(row.get("seconds", row.get("skipped", "")))[:60],
                          str(row.get("peak_rss_mb", "")),
                          f"{q['precision']:.6f}" if q else "", f"{q['auto_share_dirty']:.2%}" if q else "",
                          f"{q['recall_at_3']:.3%}" if q else "",
                          f"{q['absent_people_linked']}/{q['absent_people']}" if q else "")  # fmt: skip
    Console().print(table)
    Console().print(json.dumps({"growth": results["growth_1m_to_10m"], "targets": results["targets"]},
                               indent=1))  # fmt: skip


def _count(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1, 0)


def _run(results: dict[str, Any], size: str, method: str) -> dict[str, Any] | None:
    for row in results["sizes"].get(size, {}).get("runs", []):
        if row["method"] == method and row.get("ok"):
            return dict(row)
    return None


def _splink_skip_reason(results: dict[str, Any], size: str) -> str:
    one = _run(results, "1m", "splink")
    if size == "10m" and one:
        return (f"not run: at 1M Splink-only took {one['seconds'] / 60:.0f} min and "
                f"{one['peak_rss_mb'] / 1024:.1f} GB; 10x the records and pairs would need "
                f"~{one['peak_rss_mb'] * 10 / 1024:.0f} GB on a 23 GB machine (--splink-10m to try)")  # fmt: skip
    return "skipped (--no-splink)"


def _growth(results: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for method in ("ours", "exact"):
        a, b = _run(results, "1m", method), _run(results, "10m", method)
        if a and b:
            out[method] = {"time_x": round(b["seconds"] / a["seconds"], 2),
                           "memory_x": round(b["peak_rss_mb"] / max(a["peak_rss_mb"], 1), 2)}  # fmt: skip
    return out


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    ours1, sp1, ours10 = (
        _run(results, "1m", "ours"),
        _run(results, "1m", "splink"),
        _run(results, "10m", "ours"),
    )
    t: dict[str, Any] = {}
    if ours1 and sp1:
        t["speedup_vs_splink_1m"] = round(sp1["seconds"] / ours1["seconds"], 1)
        t["at_least_5x"] = t["speedup_vs_splink_1m"] >= 5
    if ours1:
        t["peak_1m_le_2gb"] = ours1["peak_rss_mb"] <= 2048
    if ours10:
        t["10m_under_5_min"] = ours10["seconds"] < 300
    return t


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        _child(*sys.argv[2:6])
    else:
        main()

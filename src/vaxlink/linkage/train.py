"""Training the model: u from random pairs, m by expectation-maximisation on the residual.

The residual (records the deterministic pass could not link) is paired with its candidates as
for linking; EM runs on the counts of each pattern of comparison levels (the textbook
Fellegi-Sunter EM, as Splink does it, with u kept from random sampling). An identifier's u
(ID number, phone) is 1/registry size: random pairs almost never share one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from vaxlink.linkage import score
from vaxlink.linkage.blocking import KEYS
from vaxlink.linkage.comparisons import COMPARISONS, Comparison
from vaxlink.linkage.engine import DuckDBEngine, Engine, Step, run, scalar
from vaxlink.linkage.model import LevelParams, LinkModel, Thresholds
from vaxlink.linkage.pipeline import LinkStats, prepare
from vaxlink.settings import Settings

U_PAIRS = 2_000_000
#: EM sessions, as Splink trains: (blocking keys whose pairs are used, comparisons those keys
#: fix, which are left out). Each comparison's m comes from the sessions that estimate it.
SESSIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("dob_given",), ("dob", "given")),
    (("id_last6", "id_masked"), ("id", "id_encoded")),
)
#: The least m a level keeps: synthetic errors miss some slips real records have (a day typed
#: wrong), and a level EM never saw must not become proof against a match.
M_FLOOR = 1e-3
EM_ITERATIONS = 200
EM_TOLERANCE = 1e-7
_FLOOR = 1e-6


def random_pairs_step(n: int, seed: int) -> Step:
    """SQL creating lk_upairs: `n` (residual record, citizen) pairs drawn uniformly with
    replacement, reproducible for a seed."""
    return Step(
        """
        CREATE OR REPLACE TABLE lk_upairs AS
        WITH d AS (SELECT _row, row_number() OVER (ORDER BY _row) - 1 AS i FROM lk_res),
             r AS (SELECT cid, row_number() OVER (ORDER BY cid) - 1 AS i FROM lk_reg),
             s AS (SELECT hash(k, 'dose', $seed) % (SELECT count(*) FROM d) AS di,
                          hash(k, 'citizen', $seed) % (SELECT count(*) FROM r) AS ri
                   FROM range($n) t(k))
        SELECT d._row, r.cid, 0 AS keys FROM s JOIN d ON d.i = s.di JOIN r ON r.i = s.ri
        """,
        {"n": n, "seed": seed},
    )


def level_counts(engine: Engine, table: str, c: Comparison) -> np.ndarray:
    """How many pairs of `table` fall in each level of `c`."""
    counts = np.zeros(len(c.levels), dtype=np.float64)
    t = engine.to_arrow(f"SELECT g_{c.name} AS g, count(*) AS n FROM {table} GROUP BY 1")
    for g, n in zip(t.column("g").to_pylist(), t.column("n").to_pylist(), strict=True):
        counts[int(g)] = n
    return counts


def estimate_u(
    engine: Engine, registry_size: int, n: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """u per level from random pairs (null levels excluded, empty levels floored), and the
    random pairs' count per level."""
    run(engine, [random_pairs_step(n, seed)])
    run(engine, [score.comparison_step("lk_upairs", "lk_res", "lk_ucmp")])
    out = {}
    seen = {}
    for c in COMPARISONS:
        counts = level_counts(engine, "lk_ucmp", c)
        seen[c.name] = counts
        nonnull = [i for i, lv in enumerate(c.levels) if not lv.is_null]
        total = counts[nonnull].sum()
        u = np.zeros(len(c.levels))
        for i in nonnull:
            u[i] = max(counts[i], 0.5) / max(total, 1.0)
            if c.levels[i].per_citizen:  # random pairs share an identifier ~1/N of the time
                u[i] = max(u[i], 1.0 / registry_size)
        u[nonnull] /= u[nonnull].sum()
        out[c.name] = u
    engine.execute("DROP TABLE lk_upairs; DROP TABLE lk_ucmp")
    return out, seen


def pattern_counts(
    engine: Engine, table: str = "lk_cmp", key_bits: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """(levels per distinct pattern, its count) of the comparison vectors in `table` of the pairs
    some key of `key_bits` found."""
    gs = ", ".join(f"g_{c.name}" for c in COMPARISONS)
    t = engine.to_arrow(
        f"SELECT {gs}, count(*) AS n FROM {table} WHERE keys & $bits <> 0 GROUP BY ALL",
        {"bits": key_bits},
    )
    g = np.column_stack([t.column(f"g_{c.name}").to_numpy() for c in COMPARISONS]).astype(np.int64)
    return g, t.column("n").to_numpy().astype(np.float64)


def _initial_m(c: Comparison) -> np.ndarray:
    m = np.zeros(len(c.levels))
    rank = 0
    for i, lv in enumerate(c.levels):
        if not lv.is_null:
            m[i] = 0.6**rank
            rank += 1
    return np.asarray(m / m.sum(), dtype=np.float64)


def em(
    g: np.ndarray,
    n: np.ndarray,
    u_fixed: dict[str, np.ndarray],
    lam: float,
    skip: tuple[str, ...] = (),
) -> tuple[dict[str, np.ndarray], float, int]:
    """EM on pattern counts: m per level and the share of matches among the pairs.

    The non-matches' level shares are estimated too (pairs that share a blocking key agree more
    often than random pairs) but only m is kept; u stays the random-pair estimate. Comparisons
    in `skip` (those the session's blocking key fixes) take no part."""
    k = len(COMPARISONS)
    null = [np.array([lv.is_null or c.name in skip for lv in c.levels]) for c in COMPARISONS]
    m = [_initial_m(c) for c in COMPARISONS]
    ub = [u_fixed[c.name].copy() for c in COMPARISONS]
    it = 0
    for it in range(1, EM_ITERATIONS + 1):  # noqa: B007
        lm = np.full(len(n), np.log(lam))
        lu = np.full(len(n), np.log(1 - lam))
        for j in range(k):
            gj = g[:, j]
            keep = ~null[j][gj]
            lm += np.where(keep, np.log(np.maximum(m[j][gj], _FLOOR)), 0.0)
            lu += np.where(keep, np.log(np.maximum(ub[j][gj], _FLOOR)), 0.0)
        r = 1.0 / (1.0 + np.exp(np.clip(lu - lm, -700, 700)))
        new_lam = float((r * n).sum() / n.sum())
        delta = abs(new_lam - lam)
        for j, c in enumerate(COMPARISONS):
            gj = g[:, j]
            wm = np.bincount(gj, weights=r * n, minlength=len(c.levels))
            wu = np.bincount(gj, weights=(1 - r) * n, minlength=len(c.levels))
            for w, store in ((wm, m), (wu, ub)):
                w[null[j]] = 0.0
                new = np.maximum(w / max(w.sum(), 1e-12), 0.0)
                delta = max(delta, float(np.abs(new - store[j]).max()))
                store[j] = new
        lam = new_lam
        if delta < EM_TOLERANCE:
            break
    return {c.name: m[j] for j, c in enumerate(COMPARISONS)}, lam, it


def term_frequencies(engine: Engine, min_count: int = 2) -> dict[str, dict[str, float]]:
    """The registry's term frequencies of the TF columns (values seen at least `min_count`
    times), stored in the model for the online scorer."""
    out: dict[str, dict[str, float]] = {}
    total = float(scalar(engine, "SELECT count(*) FROM lk_reg") or 1)
    for col in score.TF_COLUMNS:
        t = engine.to_arrow(
            f"SELECT {col} AS v, count(*) AS n FROM lk_reg WHERE {col} IS NOT NULL "
            f"GROUP BY 1 HAVING count(*) >= $k ORDER BY 1",
            {"k": min_count},
        )
        out[col] = {
            str(v): round(float(c) / total, 9)
            for v, c in zip(t.column("v").to_pylist(), t.column("n").to_pylist(), strict=True)
        }
    return out


def _em_sessions(
    engine: Engine, stats: LinkStats, u: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """m per comparison, averaged over the EM sessions that estimate it."""
    bit = {k.name: k.bit for k in KEYS}
    sums = {c.name: np.zeros(len(c.levels)) for c in COMPARISONS}
    runs = dict.fromkeys(sums, 0)
    info = []
    for keys, skip in SESSIONS:
        g, n = pattern_counts(engine, key_bits=sum(bit[k] for k in keys))
        if not len(n):
            continue
        lam0 = min(0.5, max(stats.residual_rows, 1) / max(float(n.sum()), 1.0))
        m, lam, iterations = em(g, n, u, lam0, skip)
        for c in COMPARISONS:
            if c.name not in skip:
                sums[c.name] += m[c.name]
                runs[c.name] += 1
        info.append({"keys": list(keys), "left_out": list(skip), "pairs": int(n.sum()),
                     "iterations": iterations, "match_share": round(lam, 6)})  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for c in COMPARISONS:
        mean = sums[c.name] / runs[c.name] if runs[c.name] else _initial_m(c)
        live = np.array([not lv.is_null for lv in c.levels])
        floored = np.where(live, np.maximum(mean, M_FLOOR), 0.0)
        out[c.name] = floored / floored.sum()
    return out, info


def fit(
    engine: Engine,
    stats: LinkStats,
    *,
    seed: int = 0,
    u_pairs: int = U_PAIRS,
    thresholds: Thresholds | None = None,
    note: dict[str, Any] | None = None,
) -> LinkModel:
    """Estimate a model from the tables `prepare` left (lk_reg, lk_res, lk_cmp)."""
    u, seen = estimate_u(engine, stats.registry_rows, u_pairs, seed)
    m, sessions = _em_sessions(engine, stats, u)
    for c in COMPARISONS:
        for i, lv in enumerate(c.levels):
            # A level neither random pairs nor EM's matches ever reached is no evidence either
            # way (a month-only birth date in data that has none): its weight is zero.
            if (
                not lv.is_null
                and not lv.per_citizen
                and seen[c.name][i] == 0
                and m[c.name][i] <= M_FLOOR * 1.01
            ):
                u[c.name][i] = m[c.name][i]
    params = {}
    for c in COMPARISONS:
        levels = []
        for i, lv in enumerate(c.levels):
            if lv.is_null:
                levels.append(LevelParams(None, None))
            else:
                levels.append(LevelParams(round(max(float(m[c.name][i]), _FLOOR), 9),
                                          round(max(float(u[c.name][i]), 1e-9), 12)))  # fmt: skip
        params[c.name] = levels
    trained = {
        "registry_size": stats.registry_rows,
        "dose_rows": stats.dose_rows,
        "residual_rows": stats.residual_rows,
        "candidate_pairs": stats.candidate_pairs,
        "u_pairs": u_pairs,
        "seed": seed,
        "em_sessions": sessions,
        "lambda": (1 - 0.01) / max(stats.registry_rows, 1),
        **(note or {}),
    }
    return LinkModel(
        params=params,
        thresholds=thresholds or Thresholds(),
        tf=term_frequencies(engine),
        trained=trained,
    )


def train(
    engine: Engine,
    registry_table: str,
    doses_table: str,
    *,
    today: dt.date,
    seed: int = 0,
    u_pairs: int = U_PAIRS,
    thresholds: Thresholds | None = None,
    note: dict[str, Any] | None = None,
) -> LinkModel:
    """Train a model on a registry and dose records (tables as for `link_tables`)."""
    stats = LinkStats()
    prepare(engine, registry_table, doses_table, today, lambda _s: None, stats)
    return fit(engine, stats, seed=seed, u_pairs=u_pairs, thresholds=thresholds, note=note)


def train_files(
    registry: Path,
    doses: Path,
    *,
    truth: Path | None = None,
    seed: int = 0,
    today: dt.date,
    settings: Settings | None = None,
) -> tuple[LinkModel, dict[str, Any]]:
    """Train a model on files; with `truth`, also choose its thresholds there (see `tune`)."""
    from vaxlink.linkage.files import load_inputs
    from vaxlink.linkage.tune import tune

    engine = DuckDBEngine(settings=settings)
    try:
        load_inputs(engine, Path(registry), Path(doses))
        stats = LinkStats()
        prepare(engine, "registry_in", "doses_in", today, lambda _s: None, stats)
        model = fit(
            engine, stats, seed=seed, note={"trained_on": Path(doses).parent.name or str(doses)}
        )
        if truth is None:
            return model, {}
        thresholds, trials = tune(engine, model, stats.registry_rows, Path(truth))
        model.thresholds = thresholds
        chosen = next(
            t for t in trials if all(t[k] == v for k, v in thresholds.__dict__.items() if k in t)
        )
        model.trained["tuned_on"] = Path(truth).parent.name or str(truth)
        model.trained["tuning_result"] = {
            k: chosen[k] for k in ("precision", "auto_share_dirty", "wrong", "absent_linked")
        }
        # [auto_probability, margin_bits, cluster_bits, wrong links, absent linked, dirty share]
        model.trained["tuning_trials"] = [
            [t["auto_probability"], t["margin_bits"], t["cluster_bits"], t["wrong"],
             t["absent_linked"], round(t["auto_share_dirty"], 6)]
            for t in trials
        ]  # fmt: skip
        return model, {"trials": trials, "chosen": chosen}
    finally:
        engine.close()


#: The packaged model is trained and tuned on this synthetic set (`vaxlink synth` arguments).
PACKAGED_CITIZENS = 500_000
PACKAGED_SEED = 11
PACKAGED_TODAY = dt.date(2025, 1, 1)


def train_synthetic(
    citizens: int = PACKAGED_CITIZENS,
    seed: int = PACKAGED_SEED,
    *,
    today: dt.date = PACKAGED_TODAY,
    settings: Settings | None = None,
) -> tuple[LinkModel, dict[str, Any]]:
    """Generate a synthetic registry and doses, train on them and tune on their truth (the
    recipe of the packaged model: same arguments, same model)."""
    import tempfile

    from vaxlink.synth.service import generate, write

    with tempfile.TemporaryDirectory(prefix="vaxlink-train-") as tmp:
        paths = write(generate(citizens, seed), Path(tmp) / f"synth-{citizens}-{seed}")
        model, info = train_files(paths["registry"], paths["doses"], truth=paths["truth"],
                                  seed=seed, today=today, settings=settings)  # fmt: skip
    model.trained.update({"synthetic_citizens": citizens, "synthetic_seed": seed,
                          "today": today.isoformat()})  # fmt: skip
    return model, info

"""EM recovers the m probabilities of a known Fellegi-Sunter mixture (known-answer test)."""

from __future__ import annotations

import numpy as np

from vaxlink.linkage.comparisons import COMPARISONS
from vaxlink.linkage.train import em


def _random_probs(
    rng: np.random.Generator, n_levels: int, nulls: np.ndarray, peak: int
) -> np.ndarray:
    p = rng.random(n_levels) + 0.05
    p[peak] += 3.0
    p[nulls] = 0.0
    return p / p.sum()


def test_em_recovers_m() -> None:
    rng = np.random.default_rng(7)
    nulls = [np.array([lv.is_null for lv in c.levels]) for c in COMPARISONS]
    first = [int(np.argmin(n)) for n in nulls]  # the best non-null level
    m_true = [
        _random_probs(rng, len(c.levels), nulls[j], first[j]) for j, c in enumerate(COMPARISONS)
    ]
    u_true = [
        _random_probs(rng, len(c.levels), nulls[j], len(c.levels) - 1)
        for j, c in enumerate(COMPARISONS)
    ]
    n_match, n_non = 30_000, 120_000
    cols = []
    for j, c in enumerate(COMPARISONS):
        a = rng.choice(len(c.levels), size=n_match, p=m_true[j])
        b = rng.choice(len(c.levels), size=n_non, p=u_true[j])
        cols.append(np.concatenate([a, b]))
    g_all = np.column_stack(cols)
    g, n = np.unique(g_all, axis=0, return_counts=True)
    u_fixed = {c.name: u_true[j] for j, c in enumerate(COMPARISONS)}
    m, lam, _ = em(g.astype(np.int64), n.astype(np.float64), u_fixed, 0.5)
    assert abs(lam - n_match / (n_match + n_non)) < 0.01
    for j, c in enumerate(COMPARISONS):
        assert np.abs(m[c.name] - m_true[j]).max() < 0.03, c.name


def test_em_skips_comparisons() -> None:
    rng = np.random.default_rng(3)
    g = np.column_stack([rng.integers(1, len(c.levels), 500) for c in COMPARISONS]).astype(np.int64)
    u = {c.name: np.full(len(c.levels), 1 / len(c.levels)) for c in COMPARISONS}
    m, _, _ = em(g, np.ones(500), u, 0.3, skip=("dob",))
    assert np.isfinite(m["dob"]).all() or m["dob"].sum() == 0

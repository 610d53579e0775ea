"""Fellegi-Sunter scoring in SQL: comparison levels, match weights, posteriors over candidates.

The weight of a pair is the prior log-odds plus, per comparison, log2(m/u) of its level, adjusted
by the registry's term frequency of the value where the level says so (Splink's formula with
weight 1: + log2(u_exact / tf), u_exact being the u of the exact-match level). The probability of a candidate accounts for its competitors: with
odds o_i = 2^w_i, p_i = o_i / (1 + sum_j o_j), so two equally good citizens share the belief.
"""

from __future__ import annotations

from typing import Any

from vaxlink.linkage.comparisons import COMPARISONS, PAIR_FEATURES
from vaxlink.linkage.engine import Step
from vaxlink.linkage.model import TF_MINIMUM, LinkModel

#: Pairs weaker than this (posterior odds under 1 in a million) are dropped once weighed: they
#: cannot be linked, reviewed or change a competitor's posterior.
MIN_BITS = -20.0
TF_COLUMNS = sorted({lv.tf for c in COMPARISONS for lv in c.levels if lv.tf})


def tf_steps() -> list[Step]:
    """SQL creating lk_tf_<col>(v, tf), each value's share of the registry, and adding each
    citizen's own term frequencies to lk_reg as tf_<col> (so pairs need no join for them), and
    how many citizens of the whole registry share the citizen's folded name, date of birth and
    sex (`n_nds`, for the decisions' `not_unique_in_registry` guard)."""
    tables = [
        Step(
            f"CREATE OR REPLACE TABLE lk_tf_{col} AS SELECT {col} AS v, "
            f"count(*) / (SELECT count(*) FROM lk_reg) AS tf FROM lk_reg "
            f"WHERE {col} IS NOT NULL GROUP BY {col}"
        )
        for col in TF_COLUMNS
    ]
    cols = ", ".join(f"tf_{col}.tf AS tf_{col}" for col in TF_COLUMNS)
    joins = " ".join(
        f"LEFT JOIN lk_tf_{col} tf_{col} ON tf_{col}.v = r.{col}" for col in TF_COLUMNS
    )
    return [
        *tables,
        Step(
            f"CREATE OR REPLACE TABLE lk_reg AS SELECT r.*, {cols}, "
            "count(*) OVER (PARTITION BY r.nf, r.dy, r.dm, r.dd, r.sex) AS n_nds "
            f"FROM lk_reg r {joins}"
        ),
    ]


def comparison_step(pairs: str, left: str, out: str) -> Step:
    """SQL creating `out`: each pair's level per comparison (g_<name>) and its TF values."""
    lcols = ", ".join(f"{f} AS {f}_l" for f in PAIR_FEATURES)
    rcols = ", ".join([f"{f} AS {f}_r" for f in PAIR_FEATURES] + [f"tf_{c}" for c in TF_COLUMNS])
    gammas = ", ".join(f"{c.gamma_sql()} AS g_{c.name}" for c in COMPARISONS)
    tfv = ", ".join(f"r.tf_{col}" for col in TF_COLUMNS)
    return Step(
        f"""
        CREATE OR REPLACE TABLE {out} AS
        SELECT p._row, p.cid, p.keys, {gammas}, {tfv}
        FROM {pairs} p
        JOIN (SELECT _row, {lcols} FROM {left}) l ON l._row = p._row
        JOIN (SELECT cid, {rcols} FROM lk_reg) r ON r.cid = p.cid
        """
    )


def weight_params(model: LinkModel, registry_size: int) -> dict[str, Any]:
    """The bound parameters of `weight_step`: prior, each level's bits and u, TF floor."""
    params: dict[str, Any] = {
        "prior": model.prior_bits(registry_size),
        "tfmin": TF_MINIMUM,
        "min_w": MIN_BITS,
    }
    for c in COMPARISONS:
        for i, lv in enumerate(c.levels):
            params[f"w_{c.name}_{i}"] = model.level_bits(c.name, i, registry_size)
            if lv.tf:
                params[f"u_{c.name}_{i}"] = model.tf_u(c.name, i) or 1.0
    return params


def _weight_sql(c_index: int) -> str:
    c = COMPARISONS[c_index]
    whens = []
    for i, lv in enumerate(c.levels):
        bits = f"$w_{c.name}_{i}"
        if lv.tf:
            u = f"$u_{c.name}_{i}"
            bits += f" + log2({u} / greatest(coalesce(c.tf_{lv.tf}, {u}), $tfmin))"
        whens.append(f"WHEN {i} THEN {bits}")
    return f"CASE g_{c.name} {' '.join(whens)} ELSE 0 END"


def weight_step(inp: str, out: str) -> Step:
    """SQL creating `out` with w_<comparison> (bits) and the total weight w (prior included),
    for the pairs with w >= MIN_BITS."""
    ws = ", ".join(f"{_weight_sql(i)} AS w_{c.name}" for i, c in enumerate(COMPARISONS))
    total = " + ".join(f"w_{c.name}" for c in COMPARISONS)
    gs = ", ".join(f"g_{c.name}" for c in COMPARISONS)
    wcols = ", ".join(f"w_{c.name}" for c in COMPARISONS)
    return Step(
        f"""
        CREATE OR REPLACE TABLE {out} AS
        SELECT * FROM (
            SELECT _row, cid, keys, {gs}, {wcols}, $prior + {total} AS w
            FROM (SELECT c._row, c.cid, c.keys, {gs}, {ws} FROM {inp} c))
        WHERE w >= $min_w
        """
    )


def rank_step(inp: str, out: str, top: int = 3) -> Step:
    """SQL creating `out`: each record's best `top` candidates with rank, posterior and the
    weight of the next candidate (for the margin rule)."""
    return Step(
        f"""
        CREATE OR REPLACE TABLE {out} AS
        WITH a AS (SELECT *, max(w) OVER (PARTITION BY _row) AS wmax FROM {inp}),
        b AS (SELECT *, sum(pow(2.0, w - wmax)) OVER (PARTITION BY _row) AS s,
                     row_number() OVER (PARTITION BY _row ORDER BY w DESC, cid) AS rk,
                     lead(w) OVER (PARTITION BY _row ORDER BY w DESC, cid) AS w_next
              FROM a)
        SELECT * EXCLUDE (wmax, s), pow(2.0, w - wmax) / (pow(2.0, -wmax) + s) AS p
        FROM b WHERE rk <= {top}
        """
    )

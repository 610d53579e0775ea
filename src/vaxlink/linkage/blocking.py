"""Candidate pairs for the records the deterministic pass left: hash joins on blocking keys.

Every key survives a different kind of damage, so together they survive one wrong, swapped or
missing ID digit, a missing ID, and the usual name and date slips. None of them pairs everyone
born on one day: each is specific, and a key value shared by too many citizens is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from vaxlink.linkage.engine import Step


@dataclass(frozen=True)
class BlockingKey:
    """A key both sides compute the same way (a tuple of column expressions, joined column by
    column: no string is built); `bit` marks the pairs it found."""

    name: str
    parts: tuple[str, ...]  # over the feature columns, the same on both sides
    bit: int
    why: str
    dose_filter: str = "TRUE"  # which residual records use the key
    # A key value shared by more than SMALL_BLOCK citizens pairs a record only with those who
    # also agree on one of the `refine` columns (or where one is missing): a key whose values
    # are shared by a number of citizens growing with the registry would otherwise give pairs
    # per record that grow with it too, and pairs in all with its square.
    refine: tuple[str, ...] = ()


#: The record's ID digits: the 12-digit number, else 11 or 13 digits (a digit dropped or added:
#: the head survives a slip in the tail, the tail one in the head). The registry has no `idd`.
_ID = "coalesce(id12, idd)"

KEYS: tuple[BlockingKey, ...] = (
    BlockingKey("id_last6", (f"right({_ID}, 6)",), 1,
                "one wrong digit in the first half, lost zeros, a digit dropped in the head "
                "(six digits are shared by registry size / 10^6 citizens: past SMALL_BLOCK the "
                "birth year, the family or the given name or the name's syllables must agree "
                "too; the year alone lost records with a slip in it as well as in the ID and "
                "the name, the names without the syllables those written in another order)",
                refine=("dy", "fam", "giv", "ssort")),
    BlockingKey("id_head_names", (f"left({_ID}, 6)", "fam", "giv"), 2,
                "one wrong digit in the serial (the head is birth province, sex and year), "
                "a digit dropped or added in the serial"),
    BlockingKey("id_masked", (f"left({_ID}, 5)", f"right({_ID}, 5)"), 4,
                "two neighbouring digits swapped across the halves"),
    BlockingKey("old_id", ("id9",), 8, "the old 9-digit CMND"),
    BlockingKey("dob_given", ("dy", "dm", "dd", "giv"), 16,
                "no or another person's ID; family or middle name slips"),
    BlockingKey("year_names", ("dy", "fam", "giv", "sex"), 32,
                "no 12-digit ID and date of birth slips within the year (a record with an ID "
                "has the ID keys; for it this key would give most pairs and few matches)",
                dose_filter="id12 IS NULL"),
    BlockingKey("phone", ("ph",), 64, "the phone number"),
    BlockingKey("syllables_year", ("ssort", "dy"), 128,
                "names in another order, Hoàng/Huỳnh, Vũ/Võ"),
    BlockingKey("name_day_month", ("nf", "dm", "dd"), 256, "birth year slips"),
    BlockingKey("dob_ward", ("dy", "dm", "dd", "ward"), 512,
                "a twin or housemate born the same day: the one a borrowed ID hides"),
)  # fmt: skip
CLUSTER_BIT = 1024
#: Registry rows a key value may pair a record with before the key is skipped for that record.
MAX_PER_KEY = 100
#: Registry rows of a key value beyond which a key with `refine` also needs one of those to
#: agree. At 500k citizens a value of `id_last6` is shared by 0.5 on average (the pairs are
#: unchanged by the refinement but for a few), at 5M by 5: there 5.7M of its 6.5M pairs were
#: its alone and 1,583 of those outlived MIN_BITS (synth seed 22, 10,966,511 doses). With the
#: birth year alone as refinement, 52 right automatic links of records with an ID slip, a
#: year slip and a name slip were lost at 10M (their only key was id_last6); with the year,
#: family and given name, 12 whose name was written in another order (hence `ssort`).
SMALL_BLOCK = 2


def _key_sql(key: BlockingKey, residual: str) -> str:
    cols = ", ".join(f"{part} AS k{i}" for i, part in enumerate(key.parts))
    ks = ", ".join(f"k{i}" for i in range(len(key.parts)))
    on = " AND ".join(f"r.k{i} = d.k{i}" for i in range(len(key.parts)))
    on_g = " AND ".join(f"g.k{i} = d.k{i}" for i in range(len(key.parts)))
    # A record pairs with every registry row of its key value, or with none when more than
    # MAX_PER_KEY share it: the cap is the registry's count of the value (a hash aggregate of
    # the registry rows whose value some record has), so the pairs past it are never made. Counting them per record after the join instead
    # (a window over the join) made and sorted them all: per record they grow with the
    # registry, in all with its square (docs/linkage.md, "10M").
    rcol, gcol, ref = "", "", ""
    if key.refine:
        rcol = "".join(f", {c} AS r{i}" for i, c in enumerate(key.refine))
        gcol = ", count(*) AS n"
        agree = " OR ".join(f"coalesce(r.r{i} = d.r{i}, true)" for i in range(len(key.refine)))
        ref = f" AND (g.n <= {SMALL_BLOCK} OR {agree})"
    dcol = rcol
    return f"""
        SELECT d._row, r.cid, {key.bit} AS k
        FROM (SELECT _row, {cols}{dcol} FROM {residual} WHERE {key.dose_filter}) d
        JOIN (SELECT {ks}{gcol} FROM (SELECT {cols} FROM lk_reg) t
              SEMI JOIN (SELECT DISTINCT {cols} FROM {residual} WHERE {key.dose_filter}) v
                  USING ({ks})
              GROUP BY {ks} HAVING count(*) <= {MAX_PER_KEY}) g ON {on_g}
        JOIN (SELECT cid, {cols}{rcol} FROM lk_reg) r ON {on}{ref}"""


def pair_steps(residual: str = "lk_res") -> list[Step]:
    """SQL creating lk_pairs(_row, cid, keys) for the residual records, deduplicated."""
    parts = [_key_sql(key, residual) for key in KEYS]
    parts.append(
        f"""
        SELECT c._row, t.cid, {CLUSTER_BIT} AS k
        FROM {residual} x JOIN lk_cluster c ON c._row = x._row
        JOIN lk_cluster o ON o.pk = c.pk JOIN lk_det t ON t._row = o._row"""
    )
    union = " UNION ALL ".join(parts)
    return [
        Step(
            f"CREATE OR REPLACE TABLE lk_pairs AS SELECT _row, cid, bit_or(k) AS keys "
            f"FROM ({union}) GROUP BY _row, cid"
        )
    ]


def key_names(bits: int) -> list[str]:
    """Names of the keys set in a pair's bit mask."""
    names = [k.name for k in KEYS if bits & k.bit]
    return [*names, "cluster"] if bits & CLUSTER_BIT else names

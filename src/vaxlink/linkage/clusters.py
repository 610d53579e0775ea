"""Persons, not just doses: cluster the dose records that belong to one person.

Two doses are joined when they carry the same ID number (and birth years at most one apart), or
the same phone and date of birth, or the same folded name, date of birth and ward, and their
names agree strictly (same folded name, same syllables, or the same family and given name with a
middle name left out). A twin holding a sibling's ID has another given name and is never joined;
a mother holding her namesake daughter's ID another birth year. Components are found by
label propagation, a few rounds of set-based SQL since a person has only a handful of doses.
"""

from __future__ import annotations

from vaxlink.linkage.engine import Engine, Step, run, scalar

#: A key shared by more doses than this is a placeholder (a site's own phone, 000000000000).
MAX_KEY_DOSES = 30
MAX_ROUNDS = 30

_SIMILAR = (
    "(a.nf = b.nf OR a.ssort = b.ssort OR (a.fam = b.fam AND a.giv = b.giv "
    "AND (lk_words_in(a.mid, b.mid) OR lk_words_in(b.mid, a.mid))))"
)
# A mother and her daughter may share a name and a household; an ID shared with another dose
# joins the two only if the birth years agree too (up to one year).
_YEAR = "abs(a.dy - b.dy) <= 1"
#: (name, key columns, extra condition on the pair), joined column by column
EDGE_KEYS = (
    ("id12", ("id12",), f"{_SIMILAR} AND {_YEAR}"),
    ("id9", ("id9",), f"{_SIMILAR} AND {_YEAR}"),
    ("phone_dob", ("ph", "dy", "dm", "dd"), _SIMILAR),
    ("name_dob_ward", ("nf", "dy", "dm", "dd", "ward"), "TRUE"),
)  # fmt: skip

_COLS = "_row, nf, ssort, fam, giv, mid, id12, id9, ph, dy, dm, dd, ward"


def _edges_sql(sources: str) -> list[str]:
    parts = []
    for _name, key, cond in EDGE_KEYS:
        on = " AND ".join(f"a.{c} = b.{c}" for c in key)
        # The cap counts every dose sharing the key, before the names are looked at.
        parts.append(
            f"""
            SELECT a, b FROM (
                SELECT a._row AS a, b._row AS b, coalesce({cond}, false) AS ok,
                       count(*) OVER (PARTITION BY a._row) AS n
                FROM (SELECT {_COLS} FROM {sources}) a
                JOIN (SELECT {_COLS} FROM lk_dose WHERE invalid IS NULL) b
                  ON {on} AND a._row <> b._row)
            WHERE ok AND n < {MAX_KEY_DOSES}"""
        )
    return parts


def edge_steps(residual: str = "lk_res") -> list[Step]:
    """SQL creating lk_edge (both directions) between each record of `residual` and the doses
    that share a key with it, and the first labels lk_label(node, lab)."""
    return [
        Step(f"CREATE OR REPLACE TABLE lk_edge1 AS {' UNION '.join(_edges_sql(residual))}"),
        Step(
            "CREATE OR REPLACE TABLE lk_edge AS SELECT a, b FROM lk_edge1 "
            "UNION SELECT b AS a, a AS b FROM lk_edge1"
        ),
        Step("DROP TABLE lk_edge1"),
        Step(
            "CREATE OR REPLACE TABLE lk_label AS SELECT DISTINCT a AS node, a AS lab FROM lk_edge"
        ),
    ]


_ROUND = Step(
    """
    CREATE OR REPLACE TABLE lk_label_next AS
    SELECT l.node, least(l.lab, min(n.lab)) AS lab
    FROM lk_label l JOIN lk_edge e ON e.a = l.node JOIN lk_label n ON n.node = e.b
    GROUP BY l.node, l.lab
    """
)


def cluster(engine: Engine, residual: str = "lk_res") -> int:
    """Create lk_cluster(_row, pk) for the records of `residual` that share a person with other
    doses, and for those doses; returns the number of propagation rounds.

    Only persons with a record left for the model matter (their other doses are evidence, and
    their conflicts must be seen), so edges start from those records: a tenth of the join."""
    run(engine, edge_steps(residual))
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007
        run(engine, [_ROUND])
        changed = scalar(
            engine,
            "SELECT count(*) FROM lk_label_next n JOIN lk_label l USING (node) WHERE n.lab <> l.lab",
        )
        engine.execute("DROP TABLE lk_label; ALTER TABLE lk_label_next RENAME TO lk_label")
        if not changed:
            break
    engine.execute(
        "CREATE OR REPLACE TABLE lk_cluster AS SELECT node AS _row, lab AS pk FROM lk_label; "
        "DROP TABLE lk_label; DROP TABLE lk_edge"
    )
    return rounds

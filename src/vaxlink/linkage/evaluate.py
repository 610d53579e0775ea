"""Evaluation of a linkage result against the synthetic ground truth (truth.csv of `vaxlink synth`).

Automatic links are `verified` and `auto_linked`. A link is right when its citizen is the
record's true citizen. Recall@3 counts the true citizen as found when it is the link or among the
candidates. People absent from the registry must never be linked; invalid rows must be flagged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vaxlink.linkage.errors import LinkageInputError


@dataclass
class ErrorTypeStats:
    """How the records carrying one injected error type fared (slips: records of registered
    people; not_in_registry: records of absent people, whose `wrong_links` must be 0)."""

    records: int
    auto_share: float  # linked automatically to the right citizen
    wrong_links: int
    review_share: float
    unmatched_share: float
    recall_at_3: float
    invalid_share: float = 0.0


@dataclass
class EvalReport:
    """The acceptance metrics of a linkage result."""

    records: int
    auto_links: int
    wrong_auto_links: int
    precision: float
    auto_share_all: float
    auto_share_dirty: float  # of dirty records whose person is in the registry (right links)
    recall_at_3: float  # of records whose person is in the registry (invalid rows excluded)
    recall_at_3_all: float  # absent people right when unlinked, invalid rows when flagged
    absent_people: int
    absent_people_linked: int
    absent_link_rate: float
    invalid_expected: int
    invalid_found: int
    invalid_correct: int
    statuses: dict[str, int] = field(default_factory=dict)
    by_error: dict[str, ErrorTypeStats] = field(default_factory=dict)
    #: records with two or more slips, by their exact set (types joined by '+', truth's order)
    by_combination: dict[str, ErrorTypeStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def _read(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
    if not path.exists():
        raise LinkageInputError(f"{path} does not exist")
    reader = (
        "read_parquet(?)"
        if path.suffix.lower() == ".parquet"
        else ("read_csv(?, all_varchar = true, header = true)")
    )
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {reader}", [str(path)])


_JOINED = """
CREATE OR REPLACE TABLE ev AS
SELECT t.record_id, nullif(t.citizen_id, '') AS truth, coalesce(t.errors, '') AS errors,
       CAST(t.in_registry AS VARCHAR) IN ('true', 'True', '1') AS in_registry, t.person_key,
       r.status, nullif(r.citizen_id, '') AS linked,
       list_transform(CAST(coalesce(nullif(r.candidates, ''), '[]') AS JSON[]),
                      lambda c: c->>'citizen_id') AS cands
FROM truth t LEFT JOIN result r ON r.record_id = t.record_id
"""
_FLAGS = """
CREATE OR REPLACE TABLE evf AS
SELECT *, status IN ('verified', 'auto_linked') AS auto,
       status IN ('verified', 'auto_linked') AND linked = truth AS auto_right,
       status IN ('verified', 'auto_linked') AND linked IS DISTINCT FROM truth AS auto_wrong,
       errors LIKE '%invalid_%' AS invalid_expected,
       truth IS NOT NULL AND (linked = truth OR list_contains(cands, truth)) AS found
FROM ev
"""


def evaluate_tables(con: duckdb.DuckDBPyConnection) -> EvalReport:
    """Evaluate tables `truth` and `result` on `con` (as read from the files)."""
    con.execute(_JOINED)
    con.execute(_FLAGS)
    q = con.sql(
        """
        SELECT count(*), count(*) FILTER (auto), count(*) FILTER (auto_wrong),
               count(*) FILTER (auto_right AND errors <> '' AND in_registry AND NOT invalid_expected),
               count(*) FILTER (errors <> '' AND in_registry AND NOT invalid_expected),
               count(*) FILTER (found AND in_registry AND NOT invalid_expected),
               count(*) FILTER (in_registry AND NOT invalid_expected),
               count(*) FILTER (CASE WHEN invalid_expected THEN status = 'invalid'
                                     WHEN NOT in_registry THEN NOT auto ELSE found END),
               count(*) FILTER (invalid_expected), count(*) FILTER (status = 'invalid'),
               count(*) FILTER (invalid_expected AND status = 'invalid')
        FROM evf
        """
    ).fetchall()[0]
    n, auto, wrong, dirty_right, dirty, found, in_reg, found_all, inv_exp, inv_found, inv_ok = q
    absent = con.sql(
        "SELECT count(*), count(*) FILTER (linked) FROM (SELECT person_key, bool_or(auto) AS linked "
        "FROM evf WHERE NOT in_registry GROUP BY person_key)"
    ).fetchall()[0]
    statuses = dict(
        con.sql("SELECT status, count(*) FROM evf GROUP BY 1 ORDER BY 2 DESC").fetchall()
    )
    return EvalReport(
        records=n, auto_links=auto, wrong_auto_links=wrong,
        precision=(auto - wrong) / auto if auto else 1.0,
        auto_share_all=auto / n if n else 0.0,
        auto_share_dirty=dirty_right / dirty if dirty else 1.0,
        recall_at_3=found / in_reg if in_reg else 1.0,
        recall_at_3_all=found_all / n if n else 1.0,
        absent_people=absent[0], absent_people_linked=absent[1],
        absent_link_rate=absent[1] / absent[0] if absent[0] else 0.0,
        invalid_expected=inv_exp, invalid_found=inv_found, invalid_correct=inv_ok,
        statuses={str(k): int(v) for k, v in statuses.items()},
        by_error=_by_error(con),
        by_combination=_by_combination(con),
    )  # fmt: skip


def _by_error(con: duckdb.DuckDBPyConnection) -> dict[str, ErrorTypeStats]:
    rows = con.sql(
        """
        SELECT e, count(*), count(*) FILTER (auto_right), count(*) FILTER (auto_wrong),
               count(*) FILTER (status = 'review'), count(*) FILTER (status = 'unmatched'),
               count(*) FILTER (found) , count(*) FILTER (truth IS NOT NULL),
               count(*) FILTER (status = 'invalid')
        FROM (SELECT *, unnest(string_split(errors, ';')) AS e FROM evf WHERE errors <> '')
        -- an error type's row counts the records it can be judged on: those of registered
        -- people for slips, of absent people for not_in_registry, all for invalid rows
        WHERE CASE WHEN e = 'not_in_registry' THEN NOT in_registry
                   WHEN e LIKE 'invalid_%' THEN true
                   ELSE in_registry AND NOT invalid_expected END
        GROUP BY e ORDER BY count(*) DESC
        """
    ).fetchall()
    return {
        str(e): ErrorTypeStats(
            records=n,
            auto_share=right / n,
            wrong_links=wrong,
            review_share=rev / n,
            unmatched_share=unm / n,
            recall_at_3=found / known if known else 1.0,
            invalid_share=inv / n,
        )
        for e, n, right, wrong, rev, unm, found, known, inv in rows
    }


#: A combination of slips is reported when at least this many records carry exactly it.
MIN_COMBINATION_RECORDS = 20


def _by_combination(con: duckdb.DuckDBPyConnection) -> dict[str, ErrorTypeStats]:
    rows = con.sql(
        f"""
        SELECT replace(errors, ';', '+') AS e, count(*), count(*) FILTER (auto_right),
               count(*) FILTER (auto_wrong), count(*) FILTER (status = 'review'),
               count(*) FILTER (status = 'unmatched'), count(*) FILTER (found),
               count(*) FILTER (truth IS NOT NULL), count(*) FILTER (status = 'invalid')
        FROM evf
        WHERE in_registry AND NOT invalid_expected AND errors LIKE '%;%'
        GROUP BY 1 HAVING count(*) >= {int(MIN_COMBINATION_RECORDS)}
        ORDER BY count(*) DESC, e
        """
    ).fetchall()
    return {str(e): _stats(*rest) for e, *rest in rows}


def _stats(
    n: int, right: int, wrong: int, rev: int, unm: int, found: int, known: int, inv: int
) -> ErrorTypeStats:
    return ErrorTypeStats(
        records=n,
        auto_share=right / n,
        wrong_links=wrong,
        review_share=rev / n,
        unmatched_share=unm / n,
        recall_at_3=found / known if known else 1.0,
        invalid_share=inv / n,
    )


def evaluate(truth: Path, result: Path) -> EvalReport:
    """Evaluate a result file (CSV or Parquet, docs/formats.md §3) against a truth file."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        _read(con, "truth", Path(truth))
        _read(con, "result", Path(result))
        return evaluate_tables(con)
    finally:
        con.close()

"""Learning from the police: refit the model's m from the worklist's decisions, check it, measure it.

Every officer's decision on a dose of the worklist is a labelled example: the citizen they
confirmed (or whose identity they entered) is the dose's match, every other candidate the linkage
offered is not; a dose they marked `cannot_verify: unknown_person` (nobody of the registry) has no
match among its candidates. The decisions leave the store set-based (one query through ADBC, as
`vaxlink verify` reads), the pairs are compared by the pipeline's own comparison SQL on DuckDB,
and each comparison's m is re-estimated from the labelled matches with the current model as a
prior worth `prior_pairs` matches (`refit_m`): a few hundred decisions move the levels they saw
often, not the rare ones they barely saw. u stays the random-pair estimate of the current model.

The new model is then judged where the decisions were made: the decided doses and the doses still
waiting in the review queue are linked again by the whole pipeline (`link_tables` up to the
candidates, then scored and decided with the current and with the new model). On the decided
doses, an automatic link that is not the officer's choice is wrong; the new model's precision
there must not fall below the current model's. When it does, stricter thresholds are tried
(never looser ones); when none holds, nothing is written (`LearnRefused`). The report says how
many queued doses the new model would decide automatically.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from vaxlink.clock import Clock
from vaxlink.ingest.service import Stage, bulk_connection, run_bulk_job
from vaxlink.linkage import score as score_mod
from vaxlink.linkage.comparisons import COMPARISONS
from vaxlink.linkage.engine import DuckDBEngine, Engine, Step, run
from vaxlink.linkage.errors import LinkageError
from vaxlink.linkage.model import LevelParams, LinkModel, Thresholds
from vaxlink.linkage.pipeline import RESULT_TABLE, LinkStats, decide_all, prepare
from vaxlink.linkage.pipeline import score as score_pairs
from vaxlink.linkage.store import _REGISTRY_SQL, _dose_column, _text, model_digest
from vaxlink.linkage.train import M_FLOOR
from vaxlink.records.service import RAW_FIELDS, DoseStatus
from vaxlink.settings import Settings

#: `dose_link.rule` of an officer's own decision (cleaning's `links.HUMAN_RULE`; a test checks
#: they agree). Decisions fed to a person's other doses (`human_propagated`) are not examples:
#: nobody looked at those doses' candidates.
HUMAN_RULE = "human"
#: The `cannot_verify` reason that says the person is nobody of the registry: none of the
#: candidates is them. Other reasons (moved away, not resident, deceased, duplicate record) say
#: why the officer cannot verify here, not who the person is, and teach nothing.
NOT_IN_REGISTRY_REASON = "cannot_verify:unknown_person"
#: How many matches the current model's m is worth in the refit.
PRIOR_PAIRS = 200.0
#: Stricter thresholds tried, in order, when the new model's precision on the decisions falls.
STRICTER_PROBABILITY = (0.9999, 0.99999, 0.999999, 0.9999999)
STRICTER_MARGIN = (5.0, 10.0, 15.0, 20.0)
LEARN_STAGES = ("reading store", "normalise registry", "normalise doses", "deterministic pass",
                "person clusters", "candidates", "labelled pairs", "refit", "judging")  # fmt: skip
_AUTO = ("verified", "auto_linked")


class LearnRefused(LinkageError):
    """The decisions would make a model less precise on them, at any threshold tried."""


@dataclass(frozen=True)
class LearnJob:
    """Everything a refit needs; plain data so it can cross into a child process."""

    url: str
    settings: Settings
    model: LinkModel
    today: dt.date
    clock: Clock
    prior_pairs: float = PRIOR_PAIRS


@dataclass
class Judgement:
    """One model's decisions on the decided doses (against the officers') and on the queue."""

    auto: int = 0
    wrong: int = 0
    queue_auto: int = 0

    @property
    def precision(self) -> float:
        """Right automatic links over automatic links on the decided doses (1 when none)."""
        return (self.auto - self.wrong) / self.auto if self.auto else 1.0


@dataclass
class LearnReport:
    """What the decisions were and what the refit would change."""

    decisions: int = 0  # the officers' latest decisions read
    used: int = 0  # decisions that are examples (a chosen citizen, or nobody of the registry)
    matches: int = 0
    non_match_pairs: int = 0
    not_in_registry: int = 0  # decisions "nobody of the registry"
    queue: int = 0  # doses waiting in the review queue
    before: Judgement = field(default_factory=Judgement)
    after: Judgement = field(default_factory=Judgement)
    thresholds: dict[str, float] = field(default_factory=dict)
    tightened: bool = False
    changed_levels: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (ids and counts only) for the model's provenance and the audit log."""
        out = asdict(self)
        out["before"]["precision"] = self.before.precision
        out["after"]["precision"] = self.after.precision
        return out


# -- reading the store ------------------------------------------------------------------------

#: Each dose's latest decision, when it is an officer's: what they chose and what they saw.
_DECISIONS_SQL = """
SELECT l.dose_record_id, l.status, l.citizen_id, l.reason,
       CAST(l.candidates AS TEXT) AS candidates, CAST(l.explanation AS TEXT) AS explanation
FROM dose_link l
JOIN (SELECT dose_record_id, max(run_id) AS run_id FROM dose_link GROUP BY dose_record_id) last
  ON last.dose_record_id = l.dose_record_id AND last.run_id = l.run_id
WHERE l.rule = '{rule}'
ORDER BY l.dose_record_id
"""


def _learn_dose_column(name: str) -> str:
    """A dose field as the linkage saw it before the officer decided: the raw value, or a
    person's correction of it (`verify`'s rule), but never the identity an officer entered as
    the decision (that is the registry's, and would teach that every match agrees exactly)."""
    if name not in ("full_name", "date_of_birth", "sex", "id_number"):
        return _dose_column(name)
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM dose_correction c WHERE c.dose_record_id = d.id "
        f"AND c.field = '{name}' AND c.kind = 'correction') AND NOT EXISTS (SELECT 1 FROM "
        f"dose_correction c WHERE c.dose_record_id = d.id AND c.field = '{name}' AND "
        f"c.kind = 'identity') THEN d.{name} ELSE d.raw_{name} END AS {name}"
    )


def _doses_sql(rule: str) -> str:
    cols = ", ".join(_learn_dose_column(name) for name in RAW_FIELDS)
    return (
        f"SELECT d.id AS _row, d.record_id, d.status AS store_status, {cols} FROM dose_record d "
        f"WHERE d.status = '{DoseStatus.REVIEW}' OR d.id IN (SELECT l.dose_record_id FROM "
        f"dose_link l WHERE l.rule = '{rule}') ORDER BY d.id"
    )


# -- the labelled pairs -----------------------------------------------------------------------


def label_steps() -> list[Step]:
    """SQL creating lk_labels (one row per decision used: `_row`, the chosen `cid` or NULL for
    "nobody of the registry") and lk_lpairs (`_row`, `cid`, `keys` 0, `is_match`): the chosen
    citizen and every candidate offered, each once."""
    return [
        Step(
            f"""
            CREATE OR REPLACE TABLE lk_labels AS
            SELECT CAST(dose_record_id AS BIGINT) AS _row,
                   CASE WHEN status = 'verified' THEN nullif(citizen_id, '') END AS cid,
                   list_distinct(list_concat(
                       list_transform(CAST(coalesce(nullif(nullif(candidates, ''), 'null'), '[]') AS JSON[]),
                                      lambda c: c->>'citizen_id'),
                       list_transform(CAST(coalesce(nullif(nullif(explanation, ''), 'null'), '[]') AS JSON[]),
                                      lambda c: c->>'citizen_id'))) AS offered
            FROM labels_in
            WHERE (status = 'verified' AND nullif(citizen_id, '') IS NOT NULL)
               OR (status = 'unmatched' AND reason = '{NOT_IN_REGISTRY_REASON}')
            """
        ),
        Step(
            """
            CREATE OR REPLACE TABLE lk_lpairs AS
            SELECT _row, cid, 0 AS keys, bool_or(is_match) AS is_match FROM (
                SELECT _row, cid, true AS is_match FROM lk_labels WHERE cid IS NOT NULL
                UNION ALL
                SELECT l._row, o.cid, o.cid = l.cid AS is_match
                FROM lk_labels l, unnest(l.offered) AS o(cid) WHERE o.cid IS NOT NULL
            ) p
            SEMI JOIN lk_reg r ON r.cid = p.cid
            SEMI JOIN lk_dose d ON d._row = p._row
            GROUP BY _row, cid
            """
        ),
    ]


def match_level_counts(engine: Engine, table: str = "lk_lcmp") -> dict[str, np.ndarray]:
    """How many labelled matches fall in each level of each comparison."""
    out = {}
    for c in COMPARISONS:
        counts = np.zeros(len(c.levels), dtype=np.float64)
        t = engine.to_arrow(
            f"SELECT g_{c.name} AS g, count(*) AS n FROM {table} WHERE is_match GROUP BY 1"
        )
        for g, n in zip(t.column("g").to_pylist(), t.column("n").to_pylist(), strict=True):
            counts[int(g)] = n
        out[c.name] = counts
    return out


def refit_m(
    model: LinkModel, counts: dict[str, np.ndarray], prior_pairs: float = PRIOR_PAIRS
) -> dict[str, list[LevelParams]]:
    """Each comparison's m from the labelled matches' level counts, with the current m as a
    Dirichlet prior worth `prior_pairs` matches: m = (count + prior_pairs * m_now) / (matches +
    prior_pairs) over the non-null levels, floored at train's M_FLOOR. u is kept."""
    params: dict[str, list[LevelParams]] = {}
    for c in COMPARISONS:
        now = model.params[c.name]
        live = [i for i, lv in enumerate(c.levels) if not lv.is_null and now[i].m is not None]
        seen = float(sum(counts[c.name][i] for i in live))
        m = {i: (counts[c.name][i] + prior_pairs * float(now[i].m or 0.0)) / (seen + prior_pairs)
             for i in live}  # fmt: skip
        m = {i: max(v, M_FLOOR) for i, v in m.items()}
        total = sum(m.values()) or 1.0
        params[c.name] = [
            LevelParams(round(m[i] / total, 9), now[i].u) if i in m else LevelParams(p.m, p.u)
            for i, p in enumerate(now)
        ]
    return params


def changed_levels(
    old: LinkModel, new: LinkModel, matches: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """The levels whose weight moved by at least half a bit, largest move first."""
    out = []
    for c in COMPARISONS:
        for i, lv in enumerate(c.levels):
            if lv.is_null:
                continue
            a, b = old.params[c.name][i].bits(), new.params[c.name][i].bits()
            if abs(b - a) >= 0.5:
                out.append({"level": f"{c.name}.{lv.name}", "bits_before": round(a, 2),
                            "bits_after": round(b, 2), "matches": int(matches[c.name][i])})  # fmt: skip
    return sorted(out, key=lambda d: -abs(d["bits_after"] - d["bits_before"]))


# -- judging a model --------------------------------------------------------------------------


def judge(engine: Engine, model: LinkModel, stats: LinkStats) -> Judgement:
    """Score and decide every dose with `model` (the pipeline's own steps); count its automatic
    links on the decided doses, the wrong ones, and the automatic decisions in the queue."""
    score_pairs(engine, model, stats.registry_rows)
    decide_all(engine, model, explain=False)
    return _count(engine)


def _count(engine: Engine) -> Judgement:
    t = engine.to_arrow(
        f"""
        SELECT count(*) FILTER (l._row IS NOT NULL AND r.status IN ('verified', 'auto_linked'))
                   AS auto,
               count(*) FILTER (l._row IS NOT NULL AND r.status IN ('verified', 'auto_linked')
                                AND r.citizen_id IS DISTINCT FROM l.cid) AS wrong,
               count(*) FILTER (q._row IS NOT NULL AND r.status IN ('verified', 'auto_linked'))
                   AS queue_auto
        FROM {RESULT_TABLE} r
        LEFT JOIN lk_labels l ON l._row = r._row
        LEFT JOIN lk_queue q ON q._row = r._row
        """
    ).to_pylist()[0]
    return Judgement(auto=int(t["auto"]), wrong=int(t["wrong"]), queue_auto=int(t["queue_auto"]))


def _decide_only(engine: Engine, model: LinkModel) -> Judgement:
    """The decisions again with other thresholds (weights unchanged)."""
    decide_all(engine, model, explain=False)
    return _count(engine)


def tighten(engine: Engine, model: LinkModel, floor: float) -> tuple[Thresholds, Judgement] | None:
    """The least strict thresholds, no looser than the model's, whose precision on the decided
    doses is at least `floor` (the weights are already scored)."""
    base = model.thresholds
    trials = sorted(
        {(max(p, base.auto_probability), max(mg, base.margin_bits))
         for p in (base.auto_probability, *STRICTER_PROBABILITY)
         for mg in (base.margin_bits, *STRICTER_MARGIN)}
    )  # fmt: skip
    best: tuple[Thresholds, Judgement] | None = None
    for p, margin in trials:
        trial = Thresholds(**{**base.__dict__, "auto_probability": p, "margin_bits": margin})
        model.thresholds = trial
        judged = _decide_only(engine, model)
        if judged.precision >= floor and (best is None or judged.queue_auto > best[1].queue_auto):
            best = (trial, judged)
    model.thresholds = base
    return best


# -- the run ----------------------------------------------------------------------------------


def learn_from_decisions(
    engine_url: str,
    settings: Settings,
    model: LinkModel,
    on_stage: Stage | None = None,
    *,
    clock: Clock,
    today: dt.date | None = None,
    prior_pairs: float = PRIOR_PAIRS,
) -> tuple[LinkModel, LearnReport]:
    """A model refitted on the store's decisions, and the report; raises `LearnRefused` when
    the new model would be less precise on the decisions at every threshold tried, and
    `LinkageError` when there is no decision to learn from."""
    job = LearnJob(url=engine_url, settings=settings, model=model,
                   today=today or clock.today(), clock=clock, prior_pairs=prior_pairs)  # fmt: skip
    return run_bulk_job(_learn, job, on_stage, preload=("vaxlink.linkage.learn",))


def _read(job: LearnJob) -> tuple[pa.Table, pa.Table, pa.Table]:
    with bulk_connection(job.url) as bulk:
        labels = _text(bulk.arrow(_DECISIONS_SQL.format(rule=HUMAN_RULE)), ints=("dose_record_id",))
        doses = _text(bulk.arrow(_doses_sql(HUMAN_RULE)), ints=("_row",))
        registry = _text(bulk.arrow(_REGISTRY_SQL))
    return labels, doses, registry


def _learn(job: LearnJob, stage: Stage) -> tuple[LinkModel, LearnReport]:
    stage("reading store")
    labels, doses, registry = _read(job)
    report = LearnReport(decisions=labels.num_rows)
    if not labels.num_rows:
        raise LinkageError(
            "no officer has decided a dose of the worklist yet: there is nothing to learn from"
        )
    engine = DuckDBEngine(settings=job.settings)
    try:
        engine.register_arrow("registry_in", registry)
        engine.register_arrow("doses_in", doses)
        engine.register_arrow("labels_in", labels)
        del registry, doses, labels
        stats = LinkStats()
        prepare(engine, "registry_in", "doses_in", job.today, _stage_fn(stage), stats)
        stage("labelled pairs")
        run(engine, label_steps())
        run(engine, [Step(
            "CREATE OR REPLACE TABLE lk_queue AS SELECT d._row FROM doses_in d "
            f"WHERE d.store_status = '{DoseStatus.REVIEW}'"
        )])  # fmt: skip
        run(engine, [score_mod.comparison_step("lk_lpairs", "lk_dose", "lk_lcmp0")])
        engine.execute(
            "CREATE OR REPLACE TABLE lk_lcmp AS SELECT c.*, p.is_match FROM lk_lcmp0 c "
            "JOIN lk_lpairs p ON p._row = c._row AND p.cid = c.cid"
        )
        _fill_counts(engine, report)
        if not report.matches:
            raise LinkageError(
                f"the {report.decisions} decisions name no citizen of the registry: "
                "there is no match to learn from"
            )
        stage("refit")
        counts = match_level_counts(engine)
        new = LinkModel(params=refit_m(job.model, counts, job.prior_pairs),
                        absent_share=job.model.absent_share,
                        thresholds=Thresholds(**job.model.thresholds.__dict__),
                        tf=job.model.tf, trained=dict(job.model.trained),
                        version=job.model.version)  # fmt: skip
        report.changed_levels = changed_levels(job.model, new, counts)
        stage("judging")
        report.before = judge(engine, job.model, stats)
        report.after = judge(engine, new, stats)
        if report.after.precision < report.before.precision:
            found = tighten(engine, new, report.before.precision)
            if found is None:
                raise LearnRefused(
                    f"the refitted model links {report.after.wrong} of the {report.decisions} "
                    "decided doses to another citizen than the officers chose, at every "
                    "threshold tried: no model was written"
                )
            new.thresholds, report.after = found
            report.tightened = True
        report.thresholds = dict(new.thresholds.__dict__)
    finally:
        engine.close()
    _provenance(new, job, report)
    return new, report


def _stage_fn(stage: Stage) -> Callable[[str | None], None]:
    return lambda name: stage(name) if name is not None else None


def _fill_counts(engine: Engine, report: LearnReport) -> None:
    t = engine.to_arrow(
        """
        SELECT (SELECT count(*) FROM lk_labels) AS used,
               (SELECT count(*) FROM lk_labels WHERE cid IS NULL) AS nobody,
               (SELECT count(*) FROM lk_lpairs WHERE is_match) AS matches,
               (SELECT count(*) FROM lk_lpairs WHERE NOT is_match) AS non_match,
               (SELECT count(*) FROM lk_queue) AS queue
        """
    ).to_pylist()[0]
    report.used, report.not_in_registry = int(t["used"]), int(t["nobody"])
    report.matches, report.non_match_pairs = int(t["matches"]), int(t["non_match"])
    report.queue = int(t["queue"])


def _provenance(new: LinkModel, job: LearnJob, report: LearnReport) -> None:
    """Where the new model comes from: the model it was refitted from, the decisions, when."""
    base = job.model.trained
    revision = int(base.get("revision", 0)) + 1
    history = list(base.get("refits", []))
    history.append({
        "revision": revision,
        "at": job.clock.now().isoformat(timespec="seconds"),
        "from_model_digest": model_digest(job.model),
        "decisions": report.decisions, "decisions_used": report.used,
        "matches": report.matches, "non_match_pairs": report.non_match_pairs,
        "not_in_registry": report.not_in_registry, "prior_pairs": job.prior_pairs,
        "precision_on_decisions": {"before": report.before.precision,
                                   "after": report.after.precision},
        "wrong_on_decisions": {"before": report.before.wrong, "after": report.after.wrong},
        "review_queue": report.queue,
        "review_queue_automatic": {"before": report.before.queue_auto,
                                   "after": report.after.queue_auto},
        "thresholds_tightened": report.tightened,
    })  # fmt: skip
    new.trained = {**base, "revision": revision, "refits": history}
    json.dumps(new.trained)  # provenance must stay plain JSON

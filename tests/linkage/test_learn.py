"""Learning from the police (`link-train --from-decisions`): a small store, linked by a model that
has never seen a slip (every slip level's m near zero, so slipped records go to review), half of
the review queue decided by an officer through cleaning's real `decide`, the model refitted from
those decisions. The refit must restore the slips' weight, take a measurable part of the rest of
the queue off the officers' hands with no wrong link on what they decided, and refuse to buy
automation with precision when the decisions contradict the model."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available
from vaxlink import compose
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.auth.service import Principal
from vaxlink.cleaning import links as cleaning_links
from vaxlink.cleaning.service import decide
from vaxlink.clock import FixedClock
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.geo.codes import unit_key
from vaxlink.linkage.cli import app as linkage_cli
from vaxlink.linkage.comparisons import COMPARISONS
from vaxlink.linkage.errors import LinkageError
from vaxlink.linkage.evaluate import evaluate
from vaxlink.linkage.files import link_files
from vaxlink.linkage.learn import (
    HUMAN_RULE,
    LearnRefused,
    learn_from_decisions,
    refit_m,
)
from vaxlink.linkage.model import LevelParams, LinkModel, Thresholds
from vaxlink.linkage.service import DoseLink, verify_store
from vaxlink.linkage.train import M_FLOOR
from vaxlink.records.service import DoseRecord, DoseStatus, import_doses
from vaxlink.registry.service import load_registry
from vaxlink.settings import Settings, get_settings
from vaxlink.synth import generate, write

NOW = dt.datetime(2025, 1, 1, 8, tzinfo=dt.UTC)
#: The comparisons whose in-between levels the naive model has never seen.
SLIPS = ("id", "dob", "given", "family", "middle")


def naive_model() -> LinkModel:
    """The packaged model as if trained on data without slips, run with strict thresholds: every
    slip level (neither exact, else nor null) of the name, date and ID comparisons has the
    trainer's floor m (`train.M_FLOOR`), the rest keeps its shares; automatic links need
    p >= 0.99999999 and a 20-bit margin. A valid model (the refit's floor changes nothing in
    it), which sends slipped records to review."""
    model = copy.deepcopy(LinkModel.load())
    for c in COMPARISONS:
        if c.name not in SLIPS:
            continue
        ps = model.params[c.name]
        slip = [i for i, lv in enumerate(c.levels)
                if lv.name not in ("exact", "else") and not lv.is_null]  # fmt: skip
        rest = sum(p.m or 0.0 for i, p in enumerate(ps) if i not in slip)
        scale = (1 - M_FLOOR * len(slip)) / rest
        model.params[c.name] = [
            LevelParams(M_FLOOR, p.u) if i in slip else LevelParams(p.m * scale, p.u) if p.m else p
            for i, p in enumerate(ps)
        ]
    model.thresholds = Thresholds(auto_probability=0.99999999, margin_bits=20.0, cluster_bits=20.0)
    return model


def _build(url: str, settings: Settings, paths: dict[str, Path]) -> None:
    """Load the registry, import the doses and verify them with the naive model."""
    engine = make_engine(url)
    upgrade(engine)
    clock = FixedClock(NOW)
    load_registry(engine, paths["registry"], settings=settings, clock=clock)
    import_doses(engine, paths["doses"], settings=settings, clock=clock)
    engine.dispose()
    verify_store(url, settings, naive_model(), clock=clock)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite store with a 5,000-citizen synthetic registry and its doses, verified by the
    naive model; the truth of every dose."""
    tmp = tmp_path_factory.mktemp("learn")
    paths = write(generate(5000, seed=77), tmp / "synth")
    url = f"sqlite:///{tmp / 'store.db'}"
    _build(url, Settings(data_dir=tmp / "data", database_url=url, _env_file=None), paths)  # type: ignore[call-arg]
    truth = {}
    for line in paths["truth"].read_text().splitlines()[1:]:
        record_id, citizen_id, *_ = line.split(",")
        truth[record_id] = citizen_id or None
    return {"db": tmp / "store.db", "truth": truth, "paths": paths}


@pytest.fixture
def store(base_store: dict[str, Any], tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """A private copy of the verified store."""
    db = tmp_path / "store.db"
    shutil.copy(base_store["db"], db)
    url = f"sqlite:///{db}"
    return url, Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]


def _queue(url: str) -> list[tuple[int, str, int, str | None]]:
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            rows = s.execute(
                select(DoseRecord.id, DoseRecord.record_id, DoseRecord.version,
                       DoseRecord.ward_code)
                .where(DoseRecord.status == DoseStatus.REVIEW).order_by(DoseRecord.id)
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _decide_half(url: str, settings: Settings, truth: dict[str, str | None], *,
                 contrary: bool = False) -> int:  # fmt: skip
    """An officer decides every other dose of the review queue, as the truth says (with
    `contrary`, every third of them is said to be nobody of the registry, whoever it is)."""
    ports = compose.Container(settings, clock=FixedClock(NOW))
    decided = 0
    with ports.in_use():
        for n, (dose_id, record_id, version, ward) in enumerate(_queue(url)):
            if n % 2 or not ward:
                continue
            officer = Principal(user_id=1, username="ca.phuong", role=Role.COMMUNE_POLICE,
                                unit=unit_key(f"ward:{ward}"))  # fmt: skip
            with ports.transaction() as s:
                dose = s.get(DoseRecord, dose_id)
                if dose is None or dose.status != DoseStatus.REVIEW:
                    continue  # decided meanwhile with another dose of the same person
                version = dose.version
                link = cleaning_links.latest_links(s, [dose_id])[dose_id]
                offered = [c["citizen_id"] for c in link.candidates]
                cid = truth[record_id]
                kwargs: dict[str, Any]
                if (contrary and decided % 3 == 2) or cid is None:
                    kwargs = {"decision": "cannot_verify", "cannot_verify_reason": "unknown_person"}
                elif cid in offered:
                    # the officer checked the ID card: a candidate that disagrees is confirmed
                    # knowingly (the second step)
                    kwargs = {"decision": "confirm", "citizen_id": cid, "acknowledged": True}
                else:
                    kwargs = {"decision": "identity", "identity": {"id_number": cid}}
                decide(s, officer, dose_id, expected_version=version, registry=ports.registry,
                       clock=ports.clock, reason="đối chiếu CCCD", **kwargs)  # fmt: skip
            decided += 1
    return decided


def test_the_rule_name_is_cleanings() -> None:
    assert HUMAN_RULE == cleaning_links.HUMAN_RULE


def test_refit_moves_what_the_decisions_saw_and_keeps_what_they_did_not() -> None:
    model = naive_model()
    counts = {c.name: [0.0] * len(c.levels) for c in COMPARISONS}
    id_levels = [lv.name for lv in next(c for c in COMPARISONS if c.name == "id").levels]
    counts["id"][id_levels.index("one_digit")] = 100.0
    counts["id"][id_levels.index("exact")] = 100.0
    import numpy as np

    params = refit_m(model, {k: np.array(v) for k, v in counts.items()}, prior_pairs=200.0)
    one = id_levels.index("one_digit")
    assert params["id"][one].m == pytest.approx(
        100 / 400, rel=1e-2
    )  # (100 + 200 * 1e-7) / 400, floors aside
    assert params["id"][one].u == model.params["id"][one].u  # u is never refitted
    for c in COMPARISONS:  # no evidence: the prior stands (up to the floor)
        if c.name == "id":
            continue
        for new, old in zip(params[c.name], model.params[c.name], strict=True):
            if old.m is not None and old.m > 1e-3:
                assert new.m == pytest.approx(old.m, rel=1e-2)
    assert sum(p.m or 0 for p in params["id"]) == pytest.approx(1.0)


def test_decisions_teach_the_slips_and_shrink_the_queue(
    base_store: dict[str, Any], store: tuple[str, Settings]
) -> None:
    url, settings = store
    queue_before = len(_queue(url))
    assert queue_before >= 40, "the naive model sends too few records to review to learn from"
    decided = _decide_half(url, settings, base_store["truth"])
    model = naive_model()
    new, report = learn_from_decisions(url, settings, model, clock=FixedClock(NOW))
    assert report.decisions == decided
    assert report.used == decided  # every decision here names a citizen or nobody
    assert report.matches >= decided * 0.8
    # a decision is fed to the person's other doses, some of them queued too
    assert report.queue == len(_queue(url)) <= queue_before - decided
    # what was taught: every slip the officers' matches showed at least 5 times weighs more
    taught = [lv for lv in report.changed_levels if lv["matches"] >= 5
              and lv["level"].split(".")[0] in SLIPS and not lv["level"].endswith(".else")]  # fmt: skip
    assert taught, report.changed_levels
    assert all(lv["bits_after"] > lv["bits_before"] + 1 for lv in taught), taught
    # the same refit with a prior no decision can move (the current model's m, floored as
    # training floors it) teaches nothing: the lesson is the decisions'
    _same, unmoved = learn_from_decisions(url, settings, model, clock=FixedClock(NOW),
                                          prior_pairs=1e12)  # fmt: skip
    assert unmoved.after.queue_auto == unmoved.before.queue_auto
    assert unmoved.after.auto == unmoved.before.auto
    # the decided doses: no automatic link against the officers' choice, precision kept
    assert report.after.wrong == 0
    assert report.after.precision >= report.before.precision
    assert report.after.auto > report.before.auto
    # the queue: a measurable part would be decided automatically next time
    assert report.after.queue_auto - report.before.queue_auto >= 0.2 * report.queue, report
    assert new.trained["revision"] == 1
    refit = new.trained["refits"][-1]
    assert refit["decisions"] == decided
    assert refit["at"] == NOW.isoformat(timespec="seconds")
    assert LinkModel.from_json(json.loads(json.dumps(new.to_json()))).params == new.params
    # out of sample: the whole synthetic set linked with each model, against its truth
    paths = base_store["paths"]
    quality = {}
    for name, m in (("naive", model), ("learned", new)):
        out = paths["doses"].with_name(f"result-{name}-{id(report)}.csv")
        link_files(paths["registry"], paths["doses"], out, model=m, explain=False, today=NOW.date())
        quality[name] = evaluate(paths["truth"], out)
    assert quality["learned"].wrong_auto_links <= quality["naive"].wrong_auto_links
    assert quality["learned"].absent_people_linked == 0
    assert quality["learned"].auto_share_dirty > quality["naive"].auto_share_dirty


def test_decisions_against_the_evidence_buy_no_automation(
    base_store: dict[str, Any], store: tuple[str, Settings]
) -> None:
    """An officer who rejects real matches (a third of the decisions: "nobody of the
    registry") while confirming the rest: the slips the confirmations teach would link some of
    the rejected doses automatically, against the decision. The refit must then tighten the
    thresholds until no decided dose is linked against its decision, or refuse."""
    url, settings = store
    _decide_half(url, settings, base_store["truth"], contrary=True)
    try:
        _new, report = learn_from_decisions(url, settings, naive_model(), clock=FixedClock(NOW))
    except LearnRefused:
        return
    assert report.not_in_registry > 0
    assert report.tightened, report
    assert report.after.wrong == report.before.wrong == 0
    assert report.after.precision >= report.before.precision


def test_no_decisions_nothing_to_learn(store: tuple[str, Settings]) -> None:
    url, settings = store
    with pytest.raises(LinkageError, match="nothing to learn"):
        learn_from_decisions(url, settings, naive_model(), clock=FixedClock(NOW))


def test_the_command_writes_a_new_revision_and_audits_it(
    base_store: dict[str, Any], store: tuple[str, Settings], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url, settings = store
    _decide_half(url, settings, base_store["truth"])
    current = tmp_path / "naive.json"
    naive_model().save(current)
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(
            linkage_cli, ["link-train", "--from-decisions", "--model", str(current)]
        )
        assert result.exit_code == 0, (result.output, result.exception)
        written = tmp_path / "var" / "models" / f"vaxlink-linkage-v{naive_model().version}-r1.json"
        assert LinkModel.load(written).trained["revision"] == 1
        assert "the queue shrinks by" in result.output
        again = runner.invoke(
            linkage_cli, ["link-train", "--from-decisions", "--model", str(current)]
        )
        assert again.exit_code != 0
        assert written.exists()
    finally:
        get_settings.cache_clear()
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            entries = s.execute(select(AuditEntry.action, AuditEntry.object_type, AuditEntry.detail)
                                .where(AuditEntry.action == "linkage.learn")).all()  # fmt: skip
            human = s.scalar(select(DoseLink.id).where(DoseLink.rule == HUMAN_RULE).limit(1))
    finally:
        engine.dispose()
    assert human is not None
    assert len(entries) == 1
    _action, otype, detail = entries[0]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert otype == "linkage_model"
    assert detail["revision"] == 1
    assert detail["operator"].startswith("cli:")
    assert detail["decisions"] > 0


@pytest.mark.postgres
def test_postgresql_store_learns_alike(base_store: dict[str, Any], tmp_path: Path) -> None:
    """The same store and decisions on PostgreSQL (JSONB candidates, ADBC in process) give the
    SQLite store's figures."""
    reason = _pg_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    url = _create_pg_database()
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]
        _build(url, settings, base_store["paths"])
        decided = _decide_half(url, settings, base_store["truth"])
        _new, pg = learn_from_decisions(url, settings, naive_model(), clock=FixedClock(NOW))
    finally:
        _drop_pg_database(url)
    db = tmp_path / "sqlite.db"
    shutil.copy(base_store["db"], db)
    lite_url = f"sqlite:///{db}"
    lite_settings = Settings(data_dir=tmp_path / "lite", database_url=lite_url, _env_file=None)  # type: ignore[call-arg]
    assert _decide_half(lite_url, lite_settings, base_store["truth"]) == decided
    _new, lite = learn_from_decisions(lite_url, lite_settings, naive_model(), clock=FixedClock(NOW))
    assert pg.to_dict() == lite.to_dict()

"""`verify_store` on SQLite and PostgreSQL: right links, incremental runs, decisions made
meanwhile left alone, one transaction per run, and a re-run that changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from vaxlink import compose
from vaxlink.clock import SystemClock
from vaxlink.db import make_engine, transaction
from vaxlink.linkage.errors import LinkageError
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.models import DoseLink, LinkRunRecord
from vaxlink.linkage.store import VERIFY_STAGES, VerifyReport, verify_store
from vaxlink.models import load_all
from vaxlink.records.importer import import_doses
from vaxlink.records.models import DoseRecord
from vaxlink.registry.importer import load_registry
from vaxlink.settings import Settings
from vaxlink.synth import generate, write

TODAY = dt.date(2025, 1, 1)
#: Dose rows of the first import; the rest arrive later (the incremental runs).
FIRST_PART = 4500


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """3,000 synthetic citizens, their doses split in two files, and the truth."""
    out = tmp_path_factory.mktemp("synth3k")
    paths = write(generate(3000, seed=2024), out)
    with paths["doses"].open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    for name, part in (("doses_a", rows[:FIRST_PART]), ("doses_b", rows[FIRST_PART:])):
        paths[name] = out / f"{name}.csv"
        with paths[name].open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(part)
    return paths


@pytest.fixture(scope="module")
def truth(synth: dict[str, Path]) -> dict[str, dict[str, str]]:
    with synth["truth"].open(encoding="utf-8") as fh:
        return {r["record_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def model() -> LinkModel:
    """The configured model (VAXLINK_LINKAGE_MODEL) or the packaged one."""
    return compose.build(Settings()).link_model


@pytest.fixture
def linked_store(
    store_url: str, tmp_path: Path, synth: dict[str, Path]
) -> Iterator[tuple[str, Engine, Settings]]:
    """A store with the registry and the first part of the doses imported, all pending."""
    engine = make_engine(store_url)
    load_all().metadata.create_all(engine, checkfirst=True)  # a no-op once migrated
    settings = Settings(data_dir=tmp_path)
    load_registry(engine, synth["registry"], settings=settings, today=TODAY, clock=SystemClock())
    import_doses(engine, synth["doses_a"], settings=settings, today=TODAY, clock=SystemClock())
    yield store_url, engine, settings
    engine.dispose()


def _doses(engine: Engine) -> dict[str, tuple[str, str | None, int]]:
    """record_id -> (status, citizen_id, version) of every dose in the store."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(DoseRecord.record_id, DoseRecord.status, DoseRecord.citizen_id,
                   DoseRecord.version)
        ).all()  # fmt: skip
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _snapshot(engine: Engine) -> dict[str, Any]:
    """Everything a run may write: the doses' decisions, dose_link and link_run."""
    with engine.connect() as conn:
        links = conn.execute(
            select(
                DoseLink.dose_record_id, DoseLink.run_id, DoseLink.status, DoseLink.citizen_id
            ).order_by(DoseLink.id)
        ).all()
        runs = conn.execute(select(LinkRunRecord.id).order_by(LinkRunRecord.id)).all()
    return {"doses": _doses(engine), "links": links, "runs": runs}


def _verify(url: str, settings: Settings, model: LinkModel, **kw: Any) -> VerifyReport:
    return verify_store(url, settings, model, clock=SystemClock(), today=TODAY, **kw)


def test_verify_links_the_store_right(
    linked_store: tuple[str, Engine, Settings],
    model: LinkModel,
    truth: dict[str, dict[str, str]],
) -> None:
    url, engine, settings = linked_store
    stages: list[str] = []
    report = _verify(url, settings, model, on_stage=stages.append)
    assert stages == list(VERIFY_STAGES)
    doses = _doses(engine)
    assert report.doses_in == report.written == len(doses) > FIRST_PART - 20
    assert report.skipped == 0
    assert report.run_id is not None
    assert {s for s, _c, _v in doses.values()} <= {"verified", "auto_linked", "review", "unmatched"}
    assert all(v == 2 for _s, _c, v in doses.values()), "the write-back bumps each version"

    auto = {rid: c for rid, (s, c, _v) in doses.items() if s in ("verified", "auto_linked")}
    wrong = {rid: c for rid, c in auto.items() if c != truth[rid]["citizen_id"]}
    assert not wrong, "precision of automatic links must be 1.0"
    dirty = [rid for rid in doses if truth[rid]["errors"] and truth[rid]["in_registry"] == "true"]
    assert len(dirty) > 1000
    share = sum(rid in auto for rid in dirty) / len(dirty)
    assert share > 0.9, f"only {share:.1%} of dirty registered records were linked automatically"
    absent = [rid for rid in doses if truth[rid]["in_registry"] != "true"]
    assert absent
    assert not any(rid in auto for rid in absent)
    for rid, (status, citizen, _v) in doses.items():
        assert (citizen is not None) == (status in ("verified", "auto_linked")), rid

    with transaction(engine) as s:
        run = s.get(LinkRunRecord, report.run_id)
        assert run is not None
        assert run.finished_at is not None
        counts = {k: getattr(run, k) for k in report.statuses}
        assert counts == report.statuses
        assert sum(counts.values()) == run.doses_written == report.written
        assert (run.registry_size, run.doses_skipped, run.model_version) == (3000, 0, model.version)
        links = s.scalars(select(DoseLink)).all()
        assert len(links) == len(doses)
        by_id = {d.id: d for d in s.scalars(select(DoseRecord))}
        for link in links:
            dose = by_id[link.dose_record_id]
            assert (link.status, link.citizen_id, link.run_id) == (dose.status, dose.citizen_id,
                                                                   run.id)  # fmt: skip
            assert isinstance(link.candidates, list)
            assert len(link.candidates) <= 3
            probs = [c["probability"] for c in link.candidates]
            assert probs == sorted(probs, reverse=True)
            if link.status == "auto_linked":
                assert link.corrected_fields
                assert link.rule
            for cand in link.explanation or []:  # the evidence a reviewer will look at
                assert cand["citizen_id"]
                assert cand["fields"]["id"]["level"]
            if link.status in ("review", "unmatched"):
                assert link.reason


def test_rerun_is_incremental_and_leaves_decisions_alone(
    linked_store: tuple[str, Engine, Settings], model: LinkModel, synth: dict[str, Path]
) -> None:
    url, engine, settings = linked_store
    first = _verify(url, settings, model)
    after_first = _snapshot(engine)

    again = _verify(url, settings, model)
    assert again.run_id is None
    assert again.doses_in == 0
    assert _snapshot(engine) == after_first, "a re-run with nothing new changes nothing"

    # A reviewer decides a dose the first run sent to review (the ORM bumps its version).
    with transaction(engine) as s:
        reviewed = s.scalars(
            select(DoseRecord).where(DoseRecord.status.in_(["review", "unmatched"]))
            .order_by(DoseRecord.id).limit(1)
        ).one()  # fmt: skip
        reviewed.status, reviewed.citizen_id = "verified", "001099000001"
        reviewed_id = reviewed.record_id
    decided = _doses(engine)

    import_doses(engine, synth["doses_b"], settings=settings, today=TODAY, clock=SystemClock())
    imported = _doses(engine)
    new = set(imported) - set(decided)
    assert new
    assert all(imported[r][0] == "pending" for r in new)
    third = _verify(url, settings, model)
    assert third.run_id is not None
    assert third.run_id > (first.run_id or 0)
    assert third.doses_in == third.written == len(new)
    now = _doses(engine)
    assert {r: now[r] for r in decided} == decided, "earlier decisions are untouched"
    assert now[reviewed_id] == ("verified", "001099000001", 3)
    assert all(now[r][0] != "pending" and now[r][2] == 2 for r in new)
    with engine.connect() as conn:
        per_run = dict(
            conn.execute(text("SELECT run_id, count(*) FROM dose_link GROUP BY run_id")).all()
        )
    assert per_run == {first.run_id: first.written, third.run_id: len(new)}

    settled = _snapshot(engine)
    assert _verify(url, settings, model).run_id is None
    assert _snapshot(engine) == settled


def test_decision_made_during_a_run_stands(
    linked_store: tuple[str, Engine, Settings], model: LinkModel
) -> None:
    url, engine, settings = linked_store
    with engine.connect() as conn:
        decided, edited = conn.execute(
            select(DoseRecord.id).order_by(DoseRecord.id).limit(2)
        ).scalars()  # fmt: skip

    def people_act(stage: str) -> None:
        # The pending doses have been read; before the run writes back, a reviewer decides one
        # and a station corrects another, which stays pending (each bumps the version).
        if stage == "normalise registry":
            with transaction(engine) as s:
                dose = s.get(DoseRecord, decided)
                assert dose is not None
                assert dose.status == "pending"
                dose.status = "review"
                other = s.get(DoseRecord, edited)
                assert other is not None
                other.lot_number = "CORRECTED-1"

    report = _verify(url, settings, model, on_stage=people_act)
    assert report.skipped == 2
    assert report.written == report.doses_in - 2
    now = _doses(engine)
    with transaction(engine) as s:
        first, second = s.get(DoseRecord, decided), s.get(DoseRecord, edited)
        assert first is not None
        assert second is not None
        assert (first.status, first.citizen_id, first.version) == ("review", None, 2)
        assert (second.status, second.version) == ("pending", 2)
        assert not s.scalars(
            select(DoseLink).where(DoseLink.dose_record_id.in_([decided, edited]))
        ).all()
        run = s.get(LinkRunRecord, report.run_id)
        assert run is not None
        assert run.doses_skipped == 2
    # The corrected dose is linked by the next run, on its new version; nothing else moves.
    again = _verify(url, settings, model)
    assert (again.doses_in, again.written) == (1, 1)
    after = _doses(engine)
    assert after[second.record_id][0] != "pending"
    assert after[second.record_id][2] == 3
    assert {k: v for k, v in after.items() if k != second.record_id} == {
        k: v for k, v in now.items() if k != second.record_id
    }


_FAIL_SQLITE = (
    "CREATE TRIGGER fail_write_back BEFORE UPDATE ON link_run "
    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
)
_FAIL_PG = (
    "CREATE FUNCTION fail_write_back() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; "
    "CREATE TRIGGER fail_write_back BEFORE UPDATE ON link_run "
    "FOR EACH ROW EXECUTE FUNCTION fail_write_back()"
)


def test_failure_during_write_back_leaves_the_store_unchanged(
    linked_store: tuple[str, Engine, Settings], model: LinkModel
) -> None:
    url, engine, settings = linked_store
    sqlite = engine.dialect.name == "sqlite"
    before = _snapshot(engine)
    # The run's last statement fails, after its doses, links and run row were written.
    with engine.begin() as conn:
        conn.exec_driver_sql(_FAIL_SQLITE if sqlite else _FAIL_PG)
    with pytest.raises(Exception, match="injected failure"):
        _verify(url, settings, model)
    assert _snapshot(engine) == before
    assert all(s == "pending" and v == 1 for s, _c, v in before["doses"].values())

    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER fail_write_back" + ("" if sqlite else " ON link_run"))
    report = _verify(url, settings, model)
    assert report.written == len(before["doses"])
    assert not any(s == "pending" for s, _c, _v in _doses(engine).values())


def test_verify_needs_its_tables(tmp_path: Path, model: LinkModel) -> None:
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE citizen (citizen_id TEXT)")
    assert not inspect(engine).has_table("link_run")
    engine.dispose()
    with pytest.raises(LinkageError, match="vaxlink db upgrade"):
        verify_store(url, Settings(data_dir=tmp_path), model, clock=SystemClock())


def test_a_corrected_identity_is_linked_by_the_correction(
    linked_store: tuple[str, Engine, Settings],
    model: LinkModel,
    synth: dict[str, Path],
    truth: dict[str, dict[str, str]],
) -> None:
    """A dose the police corrected while the registry could not be asked goes back to
    `pending`; the next batch run links it by the corrected identity, not the raw one."""
    from vaxlink.cleaning.models import DoseCorrection

    url, engine, settings = linked_store
    _verify(url, settings, model)
    with synth["registry"].open(encoding="utf-8") as fh:
        citizens = {r["citizen_id"]: r for r in csv.DictReader(fh)}
    doses = _doses(engine)
    rid = next(r for r, (status, _c, _v) in sorted(doses.items())
               if status in ("review", "unmatched"))  # fmt: skip
    # the person's own registry entry, or (someone absent from the registry) any citizen: what
    # matters is that the link follows the correction
    right = citizens.get(truth[rid]["citizen_id"]) or next(iter(citizens.values()))
    now = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    with transaction(engine) as s:
        dose = s.scalars(select(DoseRecord).where(DoseRecord.record_id == rid)).one()
        raw_id = dose.raw_id_number
        for field, value in (("full_name", right["full_name"]),
                             ("date_of_birth", right["date_of_birth"]),
                             ("sex", right["sex"]), ("id_number", right["citizen_id"])):  # fmt: skip
            s.add(DoseCorrection(dose_record_id=dose.id, version=dose.version + 1,
                                 kind="identity", base_version=dose.version, changed_by=1,
                                 changed_by_username="police", role="commune_police", at=now,
                                 reason="ID card", field=field, old_value=None,
                                 new_value=value))  # fmt: skip
            setattr(dose, field, value)
        dose.status = "pending"
        dose.citizen_id = None
    _verify(url, settings, model)
    status, citizen, _v = _doses(engine)[rid]
    assert (status, citizen) == ("verified", right["citizen_id"])
    with engine.connect() as conn:
        kept = conn.scalar(select(DoseRecord.raw_id_number).where(DoseRecord.record_id == rid))
    assert kept == raw_id, "the raw record stays as the site sent it"

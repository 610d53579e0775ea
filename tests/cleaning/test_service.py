"""Decisions and corrections on SQLite and PostgreSQL: permissions per field, scope, versions,
optimistic locking, the person's other doses, online re-linkage and the audit log."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.cleaning.world import BA_DINH, PHUC_XA, TAN_DINH, TRUC_BACH, World, ports, principal
from vaxlink.auth.errors import OutOfScope
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning import links, service
from vaxlink.cleaning.errors import EditConflict, InvalidCorrection, NotInRegistry, NotPermitted
from vaxlink.cleaning.models import DoseCorrection
from vaxlink.db import transaction
from vaxlink.records.models import DoseRecord

POLICE = principal(Role.COMMUNE_POLICE, PHUC_XA, user_id=11)
HEALTH = principal(Role.HEALTH_STATION, PHUC_XA, user_id=12)
COMMITTEE = principal(Role.COMMUNE_COMMITTEE, PHUC_XA, user_id=13)
OTHER_POLICE = principal(Role.COMMUNE_POLICE, TRUC_BACH, user_id=14)


def _dose(db: Session, dose_id: int) -> DoseRecord:
    dose = db.get(DoseRecord, dose_id, populate_existing=True)
    assert dose is not None
    return dose


def _audit(db: Session, action: str, dose_id: int) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object_id == str(dose_id))))  # fmt: skip


def test_confirm_verifies_and_feeds_the_persons_other_dose(db: Session, world: World) -> None:
    an1, an2 = world.doses["an1"], world.doses["an2"]
    v1, v2 = _dose(db, an1).version, _dose(db, an2).version
    service.decide(db, POLICE, an1, **ports(db), expected_version=v1, decision="confirm",
                   citizen_id="001085012345", reason="checked with the family")  # fmt: skip
    d1, d2 = _dose(db, an1), _dose(db, an2)
    assert (d1.status, d1.citizen_id) == ("verified", "001085012345")
    assert (d2.status, d2.citizen_id) == ("verified", "001085012345")
    assert d1.version > v1
    assert d2.version == v2 + 1
    latest = links.latest_links(db, [an1, an2])
    assert latest[an1].rule == links.HUMAN_RULE
    assert latest[an2].rule == links.HUMAN_PROPAGATED_RULE
    assert latest[an1].candidates[0]["citizen_id"] == "001085012345"  # the evidence is kept
    kinds = {h["kind"] for h in service.history(db, an2)}
    assert kinds == {"propagated"}
    entry = _audit(db, "dose.decide.confirm", an1)
    assert len(entry) == 1
    assert f'"propagated_to":[{an2}]' in entry[0].detail
    assert "001085012345" not in entry[0].detail  # no personal data in the audit log


def test_confirm_only_an_offered_candidate(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    with pytest.raises(InvalidCorrection, match="not one of this dose's candidates"):
        service.decide(db, POLICE, an1, **ports(db), expected_version=_dose(db, an1).version,
                       decision="confirm", citizen_id="001190000111")  # fmt: skip
    assert _dose(db, an1).status == "review"


def test_identity_checked_against_the_registry(db: Session, world: World) -> None:
    binh = world.doses["binh"]
    version = _dose(db, binh).version
    with pytest.raises(NotInRegistry, match="not in the population registry"):
        service.decide(db, POLICE, binh, **ports(db), expected_version=version, decision="identity",
                       identity={"id_number": "001190000999"})  # fmt: skip
    with pytest.raises(InvalidCorrection, match="another date of birth"):
        service.decide(db, POLICE, binh, **ports(db), expected_version=version, decision="identity",
                       identity={"id_number": "001190000111", "date_of_birth": "07/02/1991"})  # fmt: skip
    service.decide(db, POLICE, binh, **ports(db), expected_version=version, decision="identity",
                   identity={"id_number": "0011 9000 0111", "date_of_birth": "02/07/1990"},
                   reason="ID card seen")  # fmt: skip
    dose = _dose(db, binh)
    assert (dose.status, dose.citizen_id, dose.id_number) == ("verified", "001190000111",
                                                              "001190000111")  # fmt: skip
    assert dose.date_of_birth == "1990-07-02"
    assert dose.raw_id_number == "00119000011"
    assert dose.raw_date_of_birth == "1990-02-07"
    [version_row] = service.history(db, binh)
    fields = {f["field"]: (f["old"], f["new"]) for f in version_row["fields"]}
    assert fields["id_number"] == ("00119000011", "001190000111")
    assert fields["date_of_birth"] == ("1990-02-07", "1990-07-02")
    assert version_row["by"] == POLICE.username
    assert version_row["kind"] == "identity"


def test_cannot_verify_needs_a_known_reason(db: Session, world: World) -> None:
    ghost = world.doses["ghost"]
    version = _dose(db, ghost).version
    with pytest.raises(InvalidCorrection, match="give a reason"):
        service.decide(db, POLICE, ghost, **ports(db), expected_version=version, decision="cannot_verify",
                       cannot_verify_reason="dunno")  # fmt: skip
    service.decide(db, POLICE, ghost, **ports(db), expected_version=version, decision="cannot_verify",
                   cannot_verify_reason="not_resident", reason="moved to Đà Nẵng in 2020")  # fmt: skip
    dose = _dose(db, ghost)
    assert dose.status == "unmatched"
    assert dose.citizen_id is None
    link = links.latest_links(db, [ghost])[ghost]
    assert (link.rule, link.reason) == ("human", "cannot_verify:not_resident")
    kept = db.scalars(select(DoseCorrection.reason).where(DoseCorrection.dose_record_id == ghost))
    assert set(kept) == {"not_resident: moved to Đà Nẵng in 2020"}  # the history: code and note


def test_a_note_alone_is_not_a_reason_to_give_up(db: Session, world: World) -> None:
    """The reason code is its own argument: a note that starts like one does not count."""
    ghost = world.doses["ghost"]
    version = _dose(db, ghost).version
    with pytest.raises(InvalidCorrection, match="give a reason"):
        service.decide(db, POLICE, ghost, **ports(db), expected_version=version,
                       decision="cannot_verify", reason="not_resident: moved away")  # fmt: skip


def test_health_verifies_vaccination_police_verify_identity(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    version = _dose(db, an1).version
    with pytest.raises(NotPermitted, match="only health staff"):
        service.correct_dose(db, POLICE, an1, **ports(db), expected_version=version,
                             changes={"lot_number": "AB123"}, reason="x")  # fmt: skip
    with pytest.raises(NotPermitted, match="only police"):
        service.correct_dose(db, HEALTH, an1, **ports(db), expected_version=version,
                             changes={"date_of_birth": "1985-03-15"}, reason="x")  # fmt: skip
    with pytest.raises(NotPermitted):
        service.decide(db, HEALTH, an1, **ports(db), expected_version=version, decision="confirm",
                       citizen_id="001085012345")  # fmt: skip
    service.correct_dose(db, HEALTH, an1, **ports(db), expected_version=version,
                         changes={"lot_number": " AB123 ", "vaccine": "Moderna", "dose_number": "3"},
                         reason="logbook of the site")  # fmt: skip
    dose = _dose(db, an1)
    assert (dose.lot_number, dose.vaccine_key, dose.dose_number) == ("AB123", "Spikevax", 3)
    assert (dose.dose_category, dose.dose_sequence) == ("booster", 1)
    assert dose.status == "review"  # a vaccination fact does not change who the person is
    assert dose.raw_vaccine == "Comirnaty"
    assert dose.raw_lot_number is None
    [v] = service.history(db, an1)
    assert {f["field"] for f in v["fields"]} == {"lot_number", "vaccine", "dose_number"}
    assert v["on_behalf_of"] is None
    assert len(_audit(db, "dose.correct", an1)) == 1


def test_committee_corrects_on_behalf_of_the_station(db: Session, world: World) -> None:
    an2 = world.doses["an2"]
    service.correct_dose(db, COMMITTEE, an2, **ports(db), expected_version=_dose(db, an2).version,
                         changes={"vaccination_date": "02/09/2021"}, reason="paper register")  # fmt: skip
    [v] = service.history(db, an2)
    assert (v["role"], v["on_behalf_of"]) == ("commune_committee", "health_station")
    assert v["fields"] == [{"field": "vaccination_date", "old": "2021-09-01", "new": "2021-09-02"}]


def test_bad_values_are_refused_with_every_reason(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    with pytest.raises(InvalidCorrection) as err:
        service.correct_dose(db, HEALTH, an1, **ports(db), expected_version=_dose(db, an1).version,
                             changes={"vaccine": "Aspirin", "vaccination_date": "2031-01-01"},
                             reason="x")  # fmt: skip
    assert "not in the catalogue" in str(err.value)
    assert "in the future" in str(err.value)
    with pytest.raises(InvalidCorrection, match="reason"):
        service.correct_dose(db, HEALTH, an1, **ports(db), expected_version=_dose(db, an1).version,
                             changes={"lot_number": "X"}, reason=" ")  # fmt: skip


def test_stale_save_is_a_conflict_showing_the_other_change(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    seen = _dose(db, an1).version
    service.correct_dose(db, HEALTH, an1, **ports(db), expected_version=seen, changes={"lot_number": "L1"},
                         reason="first")  # fmt: skip
    with pytest.raises(EditConflict) as err:
        service.correct_dose(db, COMMITTEE, an1, **ports(db), expected_version=seen,
                             changes={"lot_number": "L2"}, reason="second")  # fmt: skip
    assert err.value.http_status == 409
    assert err.value.current_version == _dose(db, an1).version
    [other] = err.value.changes
    assert other["by"] == HEALTH.username
    assert other["fields"] == [{"field": "lot_number", "old": None, "new": "L1"}]
    assert _dose(db, an1).lot_number == "L1"  # never overwritten


def test_identity_correction_relinks_online(db: Session, world: World) -> None:
    binh = world.doses["binh"]
    service.correct_dose(db, POLICE, binh, **ports(db), expected_version=_dose(db, binh).version,
                         changes={"id_number": "001190000111", "date_of_birth": "1990-07-02",
                                  "full_name": "trần  thị bình"},
                         reason="ID card")  # fmt: skip
    dose = _dose(db, binh)
    assert (dose.status, dose.citizen_id) == ("verified", "001190000111")
    link = links.latest_links(db, [binh])[binh]
    assert link.rule == links.ONLINE_RULE
    assert link.status == "verified"
    [v] = service.history(db, binh)
    fields = {f["field"]: f["new"] for f in v["fields"]}
    assert fields["status"] == "pending"
    assert fields["id_number"] == "001190000111"
    assert fields["full_name"] == "Trần Thị Bình"


def test_out_of_scope_is_refused(db: Session, world: World) -> None:
    cuong = world.doses["cuong"]
    version = _dose(db, cuong).version
    with pytest.raises(OutOfScope):
        service.decide(db, POLICE, cuong, **ports(db), expected_version=version, decision="confirm",
                       citizen_id="001072000222")  # fmt: skip
    with pytest.raises(OutOfScope):
        service.correct_dose(db, HEALTH, cuong, **ports(db), expected_version=version,
                             changes={"lot_number": "X"}, reason="x")  # fmt: skip
    service.decide(db, OTHER_POLICE, cuong, **ports(db), expected_version=version, decision="confirm",
                   citizen_id="001072000222")  # fmt: skip
    assert _dose(db, cuong).status == "verified"


def test_district_staff_see_but_do_not_decide(db: Session, world: World) -> None:
    district = principal(Role.DISTRICT_HEALTH, BA_DINH)
    cuong = world.doses["cuong"]
    with pytest.raises(NotPermitted):
        service.decide(db, district, cuong, **ports(db), expected_version=1, decision="confirm",
                       citizen_id="001072000222")  # fmt: skip
    rows = db.scalars(select(DoseCorrection)).all()
    assert rows == []


def test_concurrent_saves_wait_and_the_second_is_a_conflict(
    world_store: tuple[Engine, World],
) -> None:
    """Two transactions at once (PostgreSQL row lock; SQLite runs them one after the other):
    the second sees the first's version and is refused, never overwriting."""
    engine, world = world_store
    dung = world.doses["dung"]
    health = principal(Role.HEALTH_STATION, TAN_DINH, user_id=21)
    with transaction(engine) as s:
        seen = _dose(s, dung).version
    outcome: list[str] = []
    first_saved = threading.Event()

    def second() -> None:
        first_saved.wait(10)
        try:
            with transaction(engine) as s:
                service.correct_dose(s, health, dung, **ports(s), expected_version=seen,
                                     changes={"lot_number": "SECOND"}, reason="second")  # fmt: skip
            outcome.append("saved")
        except EditConflict as exc:
            # PostgreSQL waited on the row lock and read the first save; SQLite found the row
            # changed under its UPDATE (the page then reads the other change itself).
            shown = exc.changes[0]["fields"][0]["new"] if exc.changes else "FIRST"
            outcome.append(f"conflict:{shown}")

    worker = threading.Thread(target=second)
    worker.start()
    with transaction(engine) as s:
        service.correct_dose(s, health, dung, **ports(s), expected_version=seen,
                             changes={"lot_number": "FIRST"}, reason="first")  # fmt: skip
        first_saved.set()
        if engine.dialect.name == "postgresql":
            time.sleep(0.5)  # the second save is now waiting on this row
    worker.join(30)
    assert outcome == ["conflict:FIRST"]
    with transaction(engine) as s:
        assert _dose(s, dung).lot_number == "FIRST"

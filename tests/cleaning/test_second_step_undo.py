"""A police decision on a weak or contradicting candidate needs a second, explicit step; what a
decision propagates to is shown before it is made; a decision can be undone, and undoing it
reverses what it propagated (issue #16). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cleaning.world import PHUC_XA, World, build, ports, principal
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning import links, service
from vaxlink.cleaning.errors import CannotUndo, NeedsSecondStep
from vaxlink.records.models import DoseRecord

POLICE = principal(Role.COMMUNE_POLICE, PHUC_XA, user_id=11)
HEALTH = principal(Role.HEALTH_STATION, PHUC_XA, user_id=12)
WEAK = "001085012346"  # Nguyễn Văn Ân, born 14/04/1985: an1's second candidate, 15%
RIGHT = "001085012345"  # Nguyễn Văn An, born 14/03/1985: an1's first candidate, 81%


def _dose(db: Session, dose_id: int) -> DoseRecord:
    dose = db.get(DoseRecord, dose_id, populate_existing=True)
    assert dose is not None
    return dose


def _confirm(db: Session, dose_id: int, cid: str, **kw: Any) -> None:
    service.decide(db, POLICE, dose_id, **ports(db), expected_version=_dose(db, dose_id).version,
                   decision="confirm", citizen_id=cid, **kw)  # fmt: skip


def test_a_weak_and_contradicting_candidate_needs_a_second_step(db: Session, world: World) -> None:
    an1, an2 = world.doses["an1"], world.doses["an2"]
    with pytest.raises(NeedsSecondStep) as caught:
        _confirm(db, an1, WEAK)
    found = {what: (mine, theirs) for what, mine, theirs in caught.value.disagreements}
    assert found == {"date_of_birth": ("1985-03-14", "1985-04-14"), "probability": ("15.0%", "")}
    assert (_dose(db, an1).status, _dose(db, an2).status) == ("review", "review")  # nothing saved
    _confirm(db, an1, WEAK, acknowledged=True, reason="ID card seen")
    assert (_dose(db, an1).status, _dose(db, an1).citizen_id) == ("verified", WEAK)
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "dose.decide.confirm",
                                                  AuditEntry.object_id == str(an1)))  # fmt: skip
    assert '"acknowledged":true' in entry.detail


def test_a_candidate_that_agrees_takes_one_step(db: Session, world: World) -> None:
    _confirm(db, world.doses["an1"], RIGHT)
    assert _dose(db, world.doses["an1"]).status == "verified"


def test_disagreements_name_what_differs() -> None:
    from vaxlink.registry.service import RegistryPerson

    her = RegistryPerson(citizen_id="001190000111", full_name="Trần Thị Bình",
                         date_of_birth="1958-07-02", sex="F", province_code="001")  # fmt: skip
    row = {"full_name": "Tran Van Hung", "date_of_birth": "1990", "sex": "M"}
    assert [d[0] for d in service_disagreements(row, her, 0.0)] == [
        "full_name", "date_of_birth", "sex", "probability"]  # fmt: skip
    # a tone slip, a year-only birth date of the right year, a middle name left out: no step
    same = {"full_name": "Tran Binh", "date_of_birth": "1958", "sex": "F"}
    assert service_disagreements(same, her, 0.9) == []


def service_disagreements(row: dict[str, Any], person: Any, p: float) -> list[Any]:
    from vaxlink.cleaning.corrections import disagreements

    return disagreements(row, person, p)


def test_what_a_decision_propagates_to_is_shown_before(db: Session, world: World) -> None:
    an1, an2 = world.doses["an1"], world.doses["an2"]
    before = service.dose_row(_dose(db, an1))
    assert [o["id"] for o in service.would_propagate(db, POLICE, before)] == [an2]
    other_commune = principal(Role.COMMUNE_POLICE, PHUC_XA.__class__(PHUC_XA.level, "00004"))
    assert service.would_propagate(db, other_commune, before) == []  # scope holds
    _confirm(db, an1, RIGHT)
    assert _dose(db, an2).citizen_id == RIGHT  # what was shown is what happened


def test_undo_reverses_the_decision_and_what_it_propagated(db: Session, world: World) -> None:
    an1, an2 = world.doses["an1"], world.doses["an2"]
    _confirm(db, an1, RIGHT)
    assert (_dose(db, an2).status, _dose(db, an2).citizen_id) == ("verified", RIGHT)
    with pytest.raises(Exception, match="say why"):
        service.undo_decision(db, POLICE, an1, expected_version=_dose(db, an1).version,
                              reason=" ", clock=ports(db)["clock"])  # fmt: skip
    _d, reverted, kept = service.undo_decision(
        db, POLICE, an1, expected_version=_dose(db, an1).version, reason="wrong person",
        clock=ports(db)["clock"])  # fmt: skip
    assert (reverted, kept) == ([an2], [])
    for dose_id in (an1, an2):
        d = _dose(db, dose_id)
        assert (d.status, d.citizen_id) == ("review", None)
        assert service.history(db, dose_id)[0]["kind"] == "undo"
    latest = links.latest_links(db, [an1, an2])
    assert {lk.rule for lk in latest.values()} == {links.HUMAN_UNDO_RULE}
    assert latest[an1].candidates[0]["citizen_id"] == RIGHT  # the candidates are back to decide
    with pytest.raises(CannotUndo):  # the last change is now the undo itself
        service.undo_decision(db, POLICE, an1, expected_version=_dose(db, an1).version,
                              reason="again", clock=ports(db)["clock"])  # fmt: skip
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "dose.decide.undo"))
    assert f'"reverted":[{an2}]' in entry.detail
    assert RIGHT not in entry.detail  # no personal data in the audit log


def test_undo_leaves_a_dose_changed_since(db: Session, world: World) -> None:
    an1, an2 = world.doses["an1"], world.doses["an2"]
    _confirm(db, an1, RIGHT)
    service.correct_dose(db, HEALTH, an2, **ports(db), expected_version=_dose(db, an2).version,
                         changes={"lot_number": "AB123"}, reason="lot from the paper book")  # fmt: skip
    _d, reverted, kept = service.undo_decision(
        db, POLICE, an1, expected_version=_dose(db, an1).version, reason="wrong person",
        clock=ports(db)["clock"])  # fmt: skip
    assert (reverted, kept) == ([], [an2])
    assert _dose(db, an1).status == "review"
    assert (_dose(db, an2).status, _dose(db, an2).citizen_id) == ("verified", RIGHT)


def test_undo_of_a_typed_identity_restores_the_record(db: Session, world: World) -> None:
    binh = world.doses["binh"]
    service.decide(db, POLICE, binh, **ports(db), expected_version=_dose(db, binh).version,
                   decision="identity",
                   identity={"id_number": "001190000111", "date_of_birth": "02/07/1990"})  # fmt: skip
    assert _dose(db, binh).id_number == "001190000111"
    service.undo_decision(db, POLICE, binh, expected_version=_dose(db, binh).version,
                          reason="typed on the wrong row", clock=ports(db)["clock"])  # fmt: skip
    d = _dose(db, binh)
    assert (d.status, d.citizen_id, d.id_number, d.date_of_birth) == (
        "unmatched", None, "00119000011", "1990-02-07")  # fmt: skip
    # the derived columns as the import derives them (11 digits with a leading 0: not a CCCD)
    assert (d.id_kind, d.dob_precision) == ("invalid", "day")


def test_only_police_undo(db: Session, world: World) -> None:
    an1 = world.doses["an1"]
    _confirm(db, an1, RIGHT)
    with pytest.raises(Exception, match="only the commune police"):
        service.undo_decision(db, HEALTH, an1, expected_version=_dose(db, an1).version,
                              reason="x", clock=ports(db)["clock"])  # fmt: skip


Clients = Callable[..., Any]


def test_the_pages_show_the_second_step_and_undo(staff_client: Clients) -> None:
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    with police.session() as s:
        world = build(s)
    an1, an2 = world.doses["an1"], world.doses["an2"]

    def version() -> int:
        with police.session() as s:
            return int(s.get(DoseRecord, an1).version)  # type: ignore[union-attr]

    home = police.get("/").text  # four doses of the commune wait in the worklist
    assert 'data-waiting="4"' in home
    page = police.get(f"/worklist/doses/{an1}")
    assert 'id="propagates"' in page.text
    assert "1 mũi tiêm khác" in page.text
    r = police.post(f"/worklist/doses/{an1}/decision", data={
        "version": str(version()), "decision": "confirm", "citizen_id": WEAK, "note": "xem CCCD"})  # fmt: skip
    assert r.status_code == 409
    assert 'id="second-step"' in r.text
    assert re.search(r'data-field="date_of_birth".*?14/03/1985.*?14/04/1985', r.text, re.S)
    assert 'value="xem CCCD"' in r.text  # the note typed is kept
    r = police.post(f"/worklist/doses/{an1}/decision", data={
        "version": str(version()), "decision": "confirm", "citizen_id": WEAK, "acknowledged": "1"},
        follow_redirects=True)  # fmt: skip
    assert r.status_code == 200
    assert 'data-status="verified"' in r.text
    assert 'id="undo-form"' in r.text
    r = police.post(f"/worklist/doses/{an1}/undo", data={
        "version": str(version()), "reason": "nhầm người"}, follow_redirects=True)  # fmt: skip
    assert r.status_code == 200
    assert 'data-status="review"' in r.text
    assert 'id="undone"' in r.text
    with police.session() as s:
        assert s.get(DoseRecord, an2).status == "review"  # type: ignore[union-attr]

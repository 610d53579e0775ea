"""Identity-first dose entry over the store (SQLite and PostgreSQL): registry check first, then a
normal, verified DoseRecord in the facility's web batch of the day, warnings acknowledged, audited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
import segno
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.principal import Principal
from vaxlink.auth.roles import Role
from vaxlink.cleaning.entry import (
    WEB_FILE_KIND,
    DoseInput,
    EntryError,
    EntryNotAllowed,
    IdentitySource,
    NotInRegistry,
    NoVaccinationSite,
    TypedIdentity,
    UnregisteredReason,
    WarningsNotAcknowledged,
    record_dose,
    record_unregistered_dose,
    start_entry,
)
from vaxlink.cleaning.schedule import Code
from vaxlink.db import session_factory, transaction
from vaxlink.geo.codes import Level, UnitKey
from vaxlink.identity import format_chip_qr
from vaxlink.identity.dates import PartialDate
from vaxlink.ingest.models import ImportBatch
from vaxlink.records.models import DoseRecord
from vaxlink.registry.models import Citizen
from vaxlink.registry.port import LocalRegistry

NOW = dt.datetime(2021, 11, 2, 3, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CID = "001085012345"
CLERK = Principal(7, "tram.phucxa", Role.HEALTH_STATION, UnitKey(Level.WARD, "00001"), "F001")


def add_citizen(engine: Engine, citizen_id: str = CID, *, old_id: str | None = None) -> None:
    with transaction(engine) as s:
        batch = ImportBatch(
            kind="registry", file_name="snap.csv", file_sha256="0" * 64, file_kind="csv",
            rows_read=1, rows_imported=1, rows_unchanged=0, rows_quarantined=0, started_at=NOW,
        )  # fmt: skip
        s.add(batch)
        s.flush()
        s.add(
            Citizen(
                citizen_id=citizen_id, full_name="Nguyễn Văn An", name_folded="nguyen van an",
                name_key="nguyen an", date_of_birth="1985-03-14", dob_precision="day", sex="M",
                province_code="001", district_code="001", ward_code="00001", old_id=old_id,
                address=None, phone=None, row_hash="x", batch_id=batch.id, source_row=1,
            )
        )  # fmt: skip


@pytest.fixture
def world(store: Engine) -> tuple[Engine, LocalRegistry]:
    add_citizen(store, old_id="012345678")
    return store, LocalRegistry(session_factory(store))


def dose(day: dt.date = TODAY, vaccine: str = "Pfizer", seq: int = 1, cat: str = "primary"):
    return DoseInput(vaccine=vaccine, lot="FK8891", category=cat, sequence=seq, date=day)


def enter(engine: Engine, registry: LocalRegistry, d: DoseInput, ack=(), now=NOW) -> DoseRecord:
    with transaction(engine) as s:
        result = record_dose(
            s, CLERK, registry, citizen_id=CID, dose=d, source=IdentitySource.TYPED,
            acknowledge_warnings=ack, now=now,
        )  # fmt: skip
        s.expunge(result.dose)
        return result.dose


def test_typed_id_found_in_registry_shows_identity_and_suggestion(world) -> None:
    engine, registry = world
    with transaction(engine) as s:
        check = start_entry(s, CLERK, registry, id_number=" 0010 8501 2345 ", today=TODAY, now=dt.datetime.now(dt.UTC))
    assert check.found
    assert check.person is not None
    assert check.person.full_name == "Nguyễn Văn An"
    assert check.person.date_of_birth == "1985-03-14"
    assert "Phúc Xá" in check.address
    assert "Ba Đình" in check.address
    assert (check.suggested_category, check.suggested_sequence) == ("primary", 1)
    assert check.source is IdentitySource.TYPED


def test_old_cmnd_finds_the_citizen_and_unknown_id_is_not_found(world) -> None:
    engine, registry = world
    with transaction(engine) as s:
        assert start_entry(s, CLERK, registry, id_number="012345678", today=TODAY, now=dt.datetime.now(dt.UTC)).found
        missing = start_entry(s, CLERK, registry, id_number="001099999999", today=TODAY, now=dt.datetime.now(dt.UTC))
    assert not missing.found
    assert missing.id_number == "001099999999"


@pytest.mark.parametrize("raw", ["", "12345", "00108501234", "0010850123456"])
def test_unusable_id_numbers_are_refused_with_a_message(world, raw: str) -> None:
    engine, registry = world
    with transaction(engine) as s, pytest.raises(EntryError, match=r"ID number|CCCD"):
        start_entry(s, CLERK, registry, id_number=raw or None, chip_qr_text=None, today=TODAY, now=dt.datetime.now(dt.UTC))


def chip_text(name: str = "Nguyễn Văn An") -> str:
    return format_chip_qr(
        id_number=CID, full_name=name, date_of_birth=PartialDate(1985, 3, 14), sex="M",
        address="Số 1 Phúc Xá, Ba Đình, Hà Nội", issue_date=dt.date(2021, 5, 1),
    )  # fmt: skip


def test_chip_qr_text_and_a_photo_of_it_identify_the_person(world) -> None:
    engine, registry = world
    png = segno.make_qr(chip_text(), error="m")
    import io

    buf = io.BytesIO()
    png.save(buf, kind="png", scale=6, border=4)
    with transaction(engine) as s:
        scanned = start_entry(s, CLERK, registry, chip_qr_text=chip_text(), today=TODAY, now=dt.datetime.now(dt.UTC))
        photo = start_entry(s, CLERK, registry, image=buf.getvalue(), today=TODAY, now=dt.datetime.now(dt.UTC))
    assert scanned.found
    assert scanned.source is IdentitySource.CHIP_QR
    assert scanned.mismatches == ()
    assert photo.found
    assert photo.source is IdentitySource.PHOTO
    assert photo.card is not None
    assert photo.card.address.startswith("Số 1")


def test_card_disagreeing_with_registry_is_flagged(world) -> None:
    engine, registry = world
    with transaction(engine) as s:
        check = start_entry(s, CLERK, registry, chip_qr_text=chip_text("Trần Văn An"), today=TODAY, now=dt.datetime.now(dt.UTC))
    assert check.mismatches == ("full_name",)


def test_photo_without_a_qr_code_is_refused(world) -> None:
    engine, registry = world
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, format="PNG")
    with transaction(engine) as s, pytest.raises(EntryError, match="no QR code"):
        start_entry(s, CLERK, registry, image=buf.getvalue(), today=TODAY, now=dt.datetime.now(dt.UTC))
    with transaction(engine) as s, pytest.raises(EntryError, match="chip-card"):
        start_entry(s, CLERK, registry, chip_qr_text="HC1:NCFOXN", today=TODAY, now=dt.datetime.now(dt.UTC))


def test_recorded_dose_is_a_verified_dose_record_in_the_days_web_batch(world) -> None:
    engine, registry = world
    record = enter(engine, registry, dose())
    assert record.status == "verified"
    assert record.citizen_id == CID
    assert record.full_name == "Nguyễn Văn An"
    assert record.vaccine_key == "Comirnaty"
    assert (record.dose_number, record.dose_category, record.dose_sequence) == (1, "primary", 1)
    assert record.facility_code == "F001"
    # raw_* are what was entered (the vaccine as chosen, the ID as given)
    assert record.raw_vaccine == "Pfizer"
    assert record.raw_id_number == CID
    assert record.raw_lot_number == "FK8891"
    assert record.raw_vaccination_date == TODAY.isoformat()
    extra = json.loads(record.raw_extra or "{}")["entry"]
    assert extra["identity_source"] == "typed"
    assert extra["entered_by"] == "tram.phucxa"
    second_day = enter(engine, registry, dose(TODAY, seq=2), ack={"sequence_mismatch",
                       "duplicate_same_day"})  # fmt: skip
    with session_factory(engine)() as s:
        batches = s.scalars(select(ImportBatch).where(ImportBatch.file_kind == WEB_FILE_KIND)).all()
        assert len(batches) == 1
        assert batches[0].rows_imported == 2
        assert batches[0].file_name == f"web-entry:F001:{TODAY.isoformat()}"
    assert record.batch_id == second_day.batch_id
    assert record.record_id != second_day.record_id
    later = enter(engine, registry, dose(TODAY + dt.timedelta(days=30), cat="booster"),
                  ack={"interval_too_short"}, now=NOW + dt.timedelta(days=30))  # fmt: skip
    assert later.batch_id != record.batch_id  # one batch per facility per day


def test_too_short_interval_needs_explicit_acknowledgement(world) -> None:
    engine, registry = world
    enter(engine, registry, dose(TODAY - dt.timedelta(days=10)), ack={"entered_late"},
          now=NOW)  # fmt: skip
    with pytest.raises(WarningsNotAcknowledged) as caught:
        enter(engine, registry, dose(seq=2))
    assert [w.code for w in caught.value.warnings] == [Code.INTERVAL_TOO_SHORT]
    with session_factory(engine)() as s:
        assert s.scalar(select(DoseRecord.id).where(DoseRecord.dose_number == 2)) is None
    record = enter(engine, registry, dose(seq=2), ack={"interval_too_short"})
    assert record.dose_number == 2
    assert record.warnings == "schedule warning acknowledged: interval_too_short"
    assert json.loads(record.raw_extra or "{}")["entry"]["acknowledged_warnings"] == [
        "interval_too_short"
    ]


def test_entry_is_audited_without_personal_data(world) -> None:
    engine, registry = world
    with transaction(engine) as s:
        start_entry(s, CLERK, registry, id_number=CID, today=TODAY, now=dt.datetime.now(dt.UTC))
    record = enter(engine, registry, dose())
    with session_factory(engine)() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    actions = [(e.action, e.object_type, e.actor_id) for e in entries]
    assert ("dose_entry.identify", "citizen", 7) in actions
    assert ("dose.enter", "dose_record", 7) in actions
    entered = next(e for e in entries if e.action == "dose.enter")
    assert entered.object_id == str(record.id)
    assert entered.unit == "ward:00001"
    assert "Nguy" not in entered.detail
    assert CID not in entered.detail


def test_refusals(world) -> None:
    engine, registry = world
    police = Principal(8, "ca", Role.COMMUNE_POLICE, UnitKey(Level.WARD, "00001"))
    no_site = Principal(9, "tram2", Role.HEALTH_STATION, UnitKey(Level.WARD, "00001"))
    with transaction(engine) as s:
        with pytest.raises(EntryNotAllowed, match="may not"):
            start_entry(s, police, registry, id_number=CID, today=TODAY, now=dt.datetime.now(dt.UTC))
        with pytest.raises(NoVaccinationSite, match="facility code"):
            start_entry(s, no_site, registry, id_number=CID, today=TODAY, now=dt.datetime.now(dt.UTC))
        with pytest.raises(EntryNotAllowed, match="F002"):
            record_dose(s, CLERK, registry, citizen_id=CID, dose=dose(), site="F002",
                        source=IdentitySource.TYPED, now=NOW)  # fmt: skip
        with pytest.raises(NotInRegistry):
            record_dose(s, CLERK, registry, citizen_id="001099999999", dose=dose(),
                        source=IdentitySource.TYPED, now=NOW)  # fmt: skip
        for bad, match in [
            (dose(vaccine="Aspirin"), "catalogue"),
            (DoseInput("Pfizer", " ", "primary", 1, TODAY), "lot"),
            (DoseInput("Pfizer", "A1", "fourth", 1, TODAY), "category"),
            (DoseInput("Pfizer", "A1", "primary", 0, TODAY), "sequence"),
            (dose(TODAY + dt.timedelta(days=1)), "future"),
            (dose(dt.date(2020, 5, 1)), "before the campaign"),
        ]:
            with pytest.raises(EntryError, match=match):
                record_dose(s, CLERK, registry, citizen_id=CID, dose=bad,
                            source=IdentitySource.TYPED, now=NOW)  # fmt: skip


def test_unregistered_person_needs_a_reason_and_stays_pending(world) -> None:
    engine, _ = world
    person = TypedIdentity(
        full_name="john smith", date_of_birth="02/03/1980", sex="Nam", id_number="B1234567",
        reason=UnregisteredReason.FOREIGNER, note="short",
    )  # fmt: skip
    with transaction(engine) as s, pytest.raises(EntryError, match="explain"):
        record_unregistered_dose(s, CLERK, identity=person, dose=dose(), now=NOW)
    person = dataclasses.replace(person, note="Hộ chiếu Anh B1234567, làm việc tại KCN")
    with transaction(engine) as s:
        result = record_unregistered_dose(s, CLERK, identity=person, dose=dose(), now=NOW)
        record = result.dose
        assert record.status == "pending"
        assert record.citizen_id is None
        assert record.full_name == "John Smith"
        assert record.date_of_birth == "1980-03-02"
        assert record.raw_full_name == "john smith"
        assert "foreigner" in (record.warnings or "")
        extra = json.loads(record.raw_extra or "{}")["entry"]
        assert extra["unregistered_reason"] == "foreigner"
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "dose.enter_unregistered"))
        assert len(audit.all()) == 1


def test_history_shows_doses_from_other_sites(world, session: Session) -> None:
    engine, registry = world
    enter(engine, registry, dose(TODAY - dt.timedelta(days=40)), ack={"entered_late"})
    with transaction(engine) as s:
        # Another site of the person's ward (out of the ward, the history is not shown: #13).
        other = Principal(10, "tram3", Role.HEALTH_STATION, UnitKey(Level.WARD, "00001"), "F009")
        check = start_entry(s, other, registry, id_number=CID, today=TODAY, now=dt.datetime.now(dt.UTC))
    assert [h.facility_code for h in check.history] == ["F001"]
    assert (check.suggested_category, check.suggested_sequence) == ("primary", 2)

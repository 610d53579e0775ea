"""The commune committee's part (HCMC DoH 2665/SYT-NVY) and the station's own Excel round trip,
on SQLite and PostgreSQL: identity fixes only from a police list marked verified, missed doses
backfilled with their evidence, the vaccination-fact sheet exported and read back."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cleaning.world import PHUC_XA, TAN_DINH, World, ports, principal, registry_of
from vaxlink.auth.errors import OutOfScope
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.cleaning import excel, police_lists, service, vaccination_excel
from vaxlink.cleaning.entry import DoseInput
from vaxlink.cleaning.entry_errors import DoseAlreadyOnRecord, EntryError, EntryNotAllowed
from vaxlink.cleaning.errors import NotPermitted
from vaxlink.cleaning.models import PoliceListItem
from vaxlink.facilities.models import Facility, FacilityKind
from vaxlink.records.models import DoseRecord

POLICE = principal(Role.COMMUNE_POLICE, PHUC_XA, user_id=11)
HEALTH = principal(Role.HEALTH_STATION, PHUC_XA, user_id=12)
COMMITTEE = principal(Role.COMMUNE_COMMITTEE, PHUC_XA, user_id=13)
OTHER_POLICE = principal(Role.COMMUNE_POLICE, TAN_DINH, user_id=14)
OTHER_COMMITTEE = principal(Role.COMMUNE_COMMITTEE, TAN_DINH, user_id=15)
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _dose(db: Session, dose_id: int) -> DoseRecord:
    dose = db.get(DoseRecord, dose_id, populate_existing=True)
    assert dose is not None
    return dose


def _audit(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _police_list(db: Session, who: Any = POLICE) -> int:
    """The police's worklist export, which makes a numbered verification list."""
    data = excel.export_worklist(db, who, registry_of(db), now=NOW)
    guide = load_workbook(io.BytesIO(data))[excel.INSTRUCTIONS]
    [line] = [c.value for c in guide["A"] if c.value and "DANH SÁCH XÁC MINH SỐ" in str(c.value)]
    return int(str(line).split("SỐ ")[1].split(" ")[0])


def _fix(db: Session, dose_id: int, list_id: int | None, **changes: str) -> DoseRecord:
    return service.correct_dose(db, COMMITTEE, dose_id, **ports(db),
                                expected_version=_dose(db, dose_id).version, changes=dict(changes),
                                reason="công an đã xác minh", verification_list=list_id)  # fmt: skip


def test_police_export_is_a_numbered_list_of_doses_and_versions(db: Session, world: World) -> None:
    list_id = _police_list(db)
    items = {i.dose_record_id: i.version for i in
             db.scalars(select(PoliceListItem).where(PoliceListItem.list_id == list_id))}  # fmt: skip
    assert world.doses["an1"] in items
    assert world.doses["binh"] in items
    assert world.doses["dung"] not in items  # another commune's dose
    row = police_lists.get_list(db, POLICE, list_id, now=NOW)
    assert (row.created_by, row.doses, row.verified) == (POLICE.username, len(items), False)
    # the station's export is no police list
    before = len(police_lists.lists(db, HEALTH))
    excel.export_worklist(db, HEALTH, registry_of(db), now=NOW)
    assert len(police_lists.lists(db, HEALTH)) == before


def test_committee_types_identity_fixes_only_from_a_verified_list(
    db: Session, world: World
) -> None:
    binh = world.doses["binh"]
    with pytest.raises(NotPermitted, match="danh sách công an"):
        _fix(db, binh, None, id_number="001190000111")
    list_id = _police_list(db)
    with pytest.raises(NotPermitted, match="chưa được công an xác nhận"):
        _fix(db, binh, list_id, id_number="001190000111")
    with pytest.raises(NotPermitted):  # only the police mark a list verified
        police_lists.mark_verified(db, COMMITTEE, list_id, paper_ref="x", now=NOW)
    police_lists.mark_verified(db, POLICE, list_id, paper_ref="DS số 12/CAX ngày 05/12", now=NOW)
    dose = _fix(db, binh, list_id, id_number="001190000111", date_of_birth="02/07/1990")
    assert dose.id_number == "001190000111"
    assert dose.status in ("verified", "auto_linked")  # linked again online at once
    [v, *_] = service.history(db, binh)
    fixed = next(h for h in service.history(db, binh) if h["kind"] == "correction")
    assert (fixed["role"], fixed["on_behalf_of"], fixed["verification_list"]) == (
        "commune_committee",
        "health_station",
        list_id,
    )
    assert f"số {list_id}" in fixed["reason"]
    assert v is not None
    [entry] = [a for a in _audit(db, "dose.correct") if a.object_id == str(binh)]
    assert json.loads(entry.detail)["verification_list"] == list_id
    assert _audit(db, "police_list.verify")


def test_waiting_to_type_counts_each_dose_once_and_newer_lists_answer_older(
    db: Session, world: World
) -> None:
    """A dose on two verified lists waits once; a fix typed under the newer list answers the
    older one too; a fix under the older list does not answer a list made after it."""
    older = _police_list(db)
    police_lists.mark_verified(db, POLICE, older, paper_ref="DS 1", now=NOW)
    listed = {i.dose_record_id for i in
              db.scalars(select(PoliceListItem).where(PoliceListItem.list_id == older))}  # fmt: skip
    assert police_lists.waiting_to_type(db, COMMITTEE, cap=100) == len(listed)
    newer = _police_list(db)
    police_lists.mark_verified(db, POLICE, newer, paper_ref="DS 2", now=NOW)
    both = listed & {i.dose_record_id for i in
                     db.scalars(select(PoliceListItem).where(PoliceListItem.list_id == newer))}  # fmt: skip
    binh = world.doses["binh"]
    assert binh in both
    waiting = police_lists.waiting_to_type(db, COMMITTEE, cap=100)
    assert waiting == len(listed | both)
    _fix(db, binh, newer, id_number="001190000111", date_of_birth="02/07/1990")
    assert police_lists.waiting_to_type(db, COMMITTEE, cap=100) == waiting - 1
    assert police_lists.waiting_to_type(db, OTHER_COMMITTEE, cap=100) == 0


def test_a_dose_not_on_the_list_is_refused(db: Session, world: World) -> None:
    list_id = _police_list(db)
    police_lists.mark_verified(db, POLICE, list_id, paper_ref="DS 1", now=NOW)
    done = world.doses["done"]  # verified already: never on a worklist export
    with pytest.raises(NotPermitted, match="không có trong danh sách"):
        _fix(db, done, list_id, full_name="Trần Thị Bình")
    # the committee still corrects vaccination facts without a list
    _fix(db, done, None, lot_number="L-77")
    assert _dose(db, done).lot_number == "L-77"


def test_another_communes_list_and_doses_are_refused(db: Session, world: World) -> None:
    theirs = _police_list(db, OTHER_POLICE)
    police_lists.mark_verified(db, OTHER_POLICE, theirs, paper_ref="DS 9", now=NOW)
    with pytest.raises(OutOfScope):
        police_lists.get_list(db, COMMITTEE, theirs, now=NOW)
    with pytest.raises(NotPermitted, match="không có danh sách"):
        _fix(db, world.doses["binh"], theirs, id_number="001190000111")
    ours = _police_list(db)
    police_lists.mark_verified(db, POLICE, ours, paper_ref="DS 2", now=NOW)
    dung = world.doses["dung"]
    with pytest.raises(OutOfScope):
        service.correct_dose(db, COMMITTEE, dung, **ports(db), expected_version=1,
                             changes={"full_name": "Phạm Minh Dũng"}, reason="x",
                             verification_list=ours)  # fmt: skip
    with pytest.raises(OutOfScope):  # their committee, our dose and list
        service.correct_dose(db, OTHER_COMMITTEE, world.doses["binh"], **ports(db),
                             expected_version=1, changes={"full_name": "Trần Thị Bình"},
                             reason="x", verification_list=ours)  # fmt: skip


# --- the station's vaccination-fact sheet -------------------------------------------------


def _vfill(
    data: bytes, values: dict[str, dict[str, str]], *, key: dict[str, str] | None = None
) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[vaccination_excel.SHEET]
    col = {c.value: int(c.column or 0) for c in ws[1]}
    labels = dict(vaccination_excel.KEY_COLUMNS) | {
        k: label for k, label, _f in vaccination_excel.OPEN_COLUMNS
    }
    for row in ws.iter_rows(min_row=2):
        rid = str(row[col[labels["record_id"]] - 1].value)
        for k, v in values.get(rid, {}).items():
            ws.cell(int(row[0].row or 0), col[labels[k]], v)
        if key and rid in key:
            ws.cell(int(row[0].row or 0), col[labels["dose_id"]], key[rid])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _outcomes(result: Any) -> dict[str | None, tuple[str, str]]:
    return {r.record_id: (r.outcome, r.message) for r in result.rows}


def test_vaccination_sheet_round_trip(db: Session, world: World) -> None:
    ghost, an1 = world.doses["ghost"], world.doses["an1"]
    db.get(DoseRecord, an1).warnings = "lot number missing"  # type: ignore[union-attr]
    db.flush()
    data = service.export_vaccination(db, HEALTH, now=NOW)
    wb = load_workbook(io.BytesIO(data))
    ws = wb[vaccination_excel.SHEET]
    assert ws.protection.sheet is True
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("Mã dòng") + 1).protection.locked is True
    assert ws.cell(2, header.index("Số lô đúng") + 1).protection.locked is False
    records = {str(r[2].value) for r in ws.iter_rows(min_row=2)}
    rid = {k: _dose(db, world.doses[k]).record_id for k in ("ghost", "an1", "dung", "binh")}
    assert records == {rid["ghost"], rid["an1"]}  # invalid, warned; not another commune's
    filled = _vfill(data, {
        rid["ghost"]: {"new_lot": "FF1234", "new_date": "11/10/2021", "reason": "sổ tiêm trang 4"},
        rid["an1"]: {"new_dose_number": "11", "reason": "phiếu tiêm"},
    })  # fmt: skip
    result = service.import_vaccination(db, HEALTH, filled, **ports(db))
    out = _outcomes(result)
    assert out[rid["ghost"]][0] == "applied"
    assert out[rid["an1"]][0] == "refused"
    assert "giá trị không dùng được" in out[rid["an1"]][1]
    g = _dose(db, ghost)
    assert (g.lot_number, g.vaccination_date) == ("FF1234", dt.date(2021, 10, 11))
    assert g.raw_lot_number is None  # the raw record is never changed
    again = service.import_vaccination(db, HEALTH, filled, **ports(db))
    assert _outcomes(again)[rid["ghost"]][0] == "unchanged"
    assert len([h for h in service.history(db, ghost) if h["kind"] == "correction"]) == 1


def test_vaccination_sheet_stale_other_commune_and_roles(db: Session, world: World) -> None:
    ghost, dung = world.doses["ghost"], world.doses["dung"]
    data = service.export_vaccination(db, HEALTH, now=NOW)
    gid = _dose(db, ghost).record_id
    service.correct_dose(db, HEALTH, ghost, **ports(db), expected_version=_dose(db, ghost).version,
                         changes={"lot_number": "A1"}, reason="meanwhile")  # fmt: skip
    stale = _vfill(data, {gid: {"new_lot": "B2", "reason": "sổ"}})
    out = _outcomes(service.import_vaccination(db, HEALTH, stale, **ports(db)))
    assert out[gid][0] == "refused"
    assert "người khác sửa" in out[gid][1]
    assert _dose(db, ghost).lot_number == "A1"  # not overwritten
    theirs = _vfill(data, {gid: {"new_lot": "C3", "reason": "x"}}, key={gid: str(dung)})
    out = _outcomes(service.import_vaccination(db, HEALTH, theirs, **ports(db)))
    assert out[gid][0] == "refused"
    assert "ngoài đơn vị" in out[gid][1]
    assert _dose(db, dung).lot_number is None
    with pytest.raises(NotPermitted):
        service.import_vaccination(db, POLICE, stale, **ports(db))
    with pytest.raises(NotPermitted):
        service.export_vaccination(db, POLICE, now=NOW)
    # the committee uses it on the station's behalf
    fresh = service.export_vaccination(db, COMMITTEE, now=NOW)
    filled = _vfill(fresh, {gid: {"new_lot": "D4", "reason": "UBND thu thập phiếu"}})
    out = _outcomes(service.import_vaccination(db, COMMITTEE, filled, **ports(db)))
    assert out[gid][0] == "applied"
    last = service.history(db, ghost)[0]
    assert (last["role"], last["on_behalf_of"]) == ("commune_committee", "health_station")


# --- missed doses ---------------------------------------------------------------------------


def _site(db: Session) -> str:
    if db.get(Facility, "F001") is None:
        db.add(Facility(code="F001", name="Trạm Y tế Phúc Xá", ward_code="00001",
                        kind=FacilityKind.HEALTH_STATION, active=True, created_at=NOW,
                        updated_at=NOW))  # fmt: skip
        db.flush()
    return "F001"


def _backfill(db: Session, who: Any = COMMITTEE, **source: str) -> DoseRecord:
    site = _site(db)
    src = {"kind": "vaccination_card", "reference": "Phiếu số 0042", "collected_by": "Vũ Thị Hoa"}
    return service.backfill_dose(
        db, who, person=service.Person("Lê Thị Hoà", "12/03/1975", "Nữ", "001175000999"),
        dose=DoseInput("Comirnaty", "FA1234", "primary", 1, dt.date(2021, 9, 20)), site=site,
        source=service.Source(**{**src, **source}), now=NOW,
    )  # fmt: skip


def test_committee_backfills_a_missed_dose_with_its_evidence(db: Session, world: World) -> None:
    dose = _backfill(db)
    assert dose.status == "pending"  # identity still to be verified
    assert (dose.ward_code, dose.facility_code, dose.lot_number) == ("00001", "F001", "FA1234")
    assert "Phiếu số 0042" in (dose.raw_extra or "")
    assert "Vũ Thị Hoa" in (dose.raw_extra or "")
    assert '"on_behalf_of": "health_station"' in (dose.raw_extra or "")
    [entry] = [a for a in _audit(db, "dose.backfill") if a.object_id == str(dose.id)]
    assert json.loads(entry.detail)["evidence"] == "vaccination_card"
    assert "Lê" not in str(entry.detail)  # no personal data in the audit log


def test_a_dose_already_on_record_is_not_backfilled_twice(db: Session, world: World) -> None:
    first = _backfill(db)
    with pytest.raises(DoseAlreadyOnRecord, match=first.record_id):
        _backfill(db, reference="Phiếu số 0043")  # the same card collected twice
    # the police linked it and corrected the name: the ID still finds it
    first.citizen_id, first.name_folded = "001175000999", "le thi hoa da sua"
    db.flush()
    with pytest.raises(DoseAlreadyOnRecord):
        _backfill(db)
    other_day = service.backfill_dose(
        db, COMMITTEE, person=service.Person("Lê Thị Hoà", "12/03/1975", "Nữ", "001175000999"),
        dose=DoseInput("Comirnaty", "FA1299", "primary", 2, dt.date(2021, 10, 20)), site="F001",
        source=service.Source("vaccination_card", "Phiếu số 0042", "Vũ Thị Hoa"), now=NOW,
    )  # fmt: skip
    assert other_day.status == "pending"


def test_backfill_needs_evidence_a_known_site_and_the_committee(db: Session, world: World) -> None:
    with pytest.raises(EntryError, match="chứng cứ"):
        _backfill(db, kind="")
    with pytest.raises(EntryError, match="người thu thập"):
        _backfill(db, collected_by=" ")
    with pytest.raises(EntryNotAllowed):
        _backfill(db, who=HEALTH)
    with pytest.raises(EntryError, match="danh mục"):
        service.backfill_dose(
            db, COMMITTEE, person=service.Person("Lê Thị Hoà", "1975", "F", ""),
            dose=DoseInput("Comirnaty", "FA1", "primary", 1, dt.date(2021, 9, 20)),
            site="NOPE", source=service.Source("site_logbook", "sổ 2 tr 5", "Hoa"), now=NOW,
        )  # fmt: skip


def test_cli_vaccination_sheet(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vaxlink worklist export|import --sheet vaccination` as a health-station account."""
    from typer.testing import CliRunner

    from tests.cleaning.world import build
    from tests.web_support import PASSWORD, create_account
    from vaxlink.cleaning.cli import app
    from vaxlink.db import make_engine, transaction, upgrade
    from vaxlink.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        build(s)
    account = create_account(engine, Role.HEALTH_STATION, "ward:00001")
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    out = tmp_path / "v.xlsx"
    who = ["--user", account.username, "--password-stdin", "--sheet", "vaccination"]
    r = runner.invoke(app, ["export", str(out), *who], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    out.write_bytes(_vfill(out.read_bytes(), {"T4": {"new_lot": "L-9", "reason": "sổ tiêm"}}))
    r = runner.invoke(app, ["import", str(out), *who], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert "applied: 1" in r.output
    r = runner.invoke(app, ["import", str(out), *who], input=PASSWORD + "\n")
    assert "unchanged: 1" in r.output
    bad = runner.invoke(
        app, ["export", str(out), *who[:3], "--sheet", "nope"], input=PASSWORD + "\n"
    )
    assert bad.exit_code != 0
    get_settings.cache_clear()
    engine.dispose()

"""The Excel round-trip on SQLite and PostgreSQL: protection and drop-downs in the file, row-level
outcomes, idempotent re-import, rows outside the importer's unit and stale rows refused."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from tests.cleaning.world import PHUC_XA, World, ports, principal, registry_of
from vaxlink.auth.roles import Role
from vaxlink.cleaning import excel, service
from vaxlink.cleaning.errors import InvalidCorrection, NotPermitted
from vaxlink.clock import SystemClock
from vaxlink.records.models import DoseRecord

POLICE = principal(Role.COMMUNE_POLICE, PHUC_XA)
HEALTH = principal(Role.HEALTH_STATION, PHUC_XA)


def _export(db: Session) -> bytes:
    return excel.export_worklist(db, POLICE, registry_of(db), now=dt.datetime.now(dt.UTC))


def _fill(data: bytes, decisions: dict[str, dict[str, str]]) -> bytes:
    """The exported file with decision cells filled, by record id (as an officer would)."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[excel.SHEET]
    col: dict[Any, int] = {c.value: int(c.column or 0) for c in ws[1]}
    labels = {k: label for k, label in (*excel.KEY_COLUMNS, *excel.DECISION_COLUMNS)}
    for row in ws.iter_rows(min_row=2):
        rid = str(row[col[labels["record_id"]] - 1].value)
        for key, value in decisions.get(rid, {}).items():
            ws.cell(int(row[0].row or 0), col[labels[key]], value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_file_has_instructions_protection_and_dropdowns(db: Session, world: World) -> None:
    wb = load_workbook(io.BytesIO(_export(db)))
    assert wb.sheetnames == [excel.INSTRUCTIONS, excel.SHEET]
    assert "XÁC MINH" in wb[excel.INSTRUCTIONS]["A1"].value
    ws = wb[excel.SHEET]
    assert ws.protection.sheet is True
    header = [c.value for c in ws[1]]
    key_col = header.index("Mã dòng") + 1
    decision_col = header.index("Quyết định") + 1
    assert ws.cell(2, key_col).protection.locked is True
    assert ws.cell(2, decision_col).protection.locked is False
    lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    decision_list = next(f for f in lists if "Xác nhận ứng viên" in f)
    assert "Không xác minh được" in decision_list
    assert lists[decision_list].startswith(ws.cell(2, decision_col).coordinate)
    assert any("Không cư trú tại xã" in f for f in lists)
    assert ws.max_row == 5  # the commune's four open doses
    records = {ws.cell(r, header.index("Mã mũi tiêm") + 1).value for r in range(2, 6)}
    assert records == {"T1", "T2", "T3", "T4"}
    cand = str(ws.cell(2, header.index("Ứng viên 1") + 1).value)
    assert cand.startswith("001085012345 - Nguyễn Văn An - 1985-03-14")


def test_round_trip_is_row_level_and_idempotent(db: Session, world: World) -> None:
    filled = _fill(_export(db), {
        "T1": {"decision": "Xác nhận ứng viên", "chosen_id": "1"},
        "T3": {"decision": "Nhập danh tính đúng", "chosen_id": "001190000111",
               "correct_dob": "02/07/1990"},
        "T4": {"decision": "Không xác minh được", "cannot_reason": "Đã mất"},
    })  # fmt: skip
    first = excel.import_worklist(db, POLICE, filled, registry_of(db), clock=SystemClock())
    outcomes = {r.record_id: r.outcome for r in first.rows}
    assert outcomes == {"T1": "applied", "T2": "skipped", "T3": "applied", "T4": "applied"}
    statuses = {k: db.get(DoseRecord, world.doses[k], populate_existing=True) for k in
                ("an1", "an2", "binh", "ghost")}  # fmt: skip
    assert {k: (d.status, d.citizen_id) for k, d in statuses.items() if d} == {
        "an1": ("verified", "001085012345"), "an2": ("verified", "001085012345"),
        "binh": ("verified", "001190000111"), "ghost": ("unmatched", None),
    }  # fmt: skip
    versions = {k: d.version for k, d in statuses.items() if d}
    histories = {k: len(service.history(db, world.doses[k])) for k in statuses}
    second = excel.import_worklist(db, POLICE, filled, registry_of(db), clock=SystemClock())
    assert {r.record_id: r.outcome for r in second.rows} == {
        "T1": "unchanged",
        "T2": "skipped",
        "T3": "unchanged",
        "T4": "unchanged",
    }
    again = {k: db.get(DoseRecord, world.doses[k], populate_existing=True) for k in statuses}
    assert {k: d.version for k, d in again.items() if d} == versions
    assert {k: len(service.history(db, world.doses[k])) for k in statuses} == histories


def test_bad_stale_and_foreign_rows_are_refused_with_reasons(db: Session, world: World) -> None:
    filled = _fill(_export(db), {
        "T1": {"decision": "Xác nhận ứng viên", "chosen_id": "7"},
        "T2": {"decision": "Nhập danh tính đúng", "chosen_id": "001190000999"},
        "T3": {"decision": "Không xác minh được", "cannot_reason": "Đi vắng"},
        "T4": {"decision": "Không xác minh được", "cannot_reason": "Đã mất"},
    })  # fmt: skip
    # Someone corrects T4 after the export: its row is now stale.
    ghost = world.doses["ghost"]
    version = db.get(DoseRecord, ghost).version  # type: ignore[union-attr]
    service.correct_dose(db, HEALTH, ghost, **ports(db), expected_version=version,
                         changes={"lot_number": "Z9"}, reason="site logbook")  # fmt: skip
    # A row of another commune pasted into the file.
    wb = load_workbook(io.BytesIO(filled))
    ws = wb[excel.SHEET]
    ws.cell(6, 1, str(world.doses["cuong"]))
    ws.cell(6, 2, "1")
    ws.cell(6, 3, "T5")
    ws.cell(6, len(excel.KEY_COLUMNS) + 1, "Xác nhận ứng viên")
    ws.cell(6, len(excel.KEY_COLUMNS) + 2, "1")
    out = io.BytesIO()
    wb.save(out)
    result = excel.import_worklist(db, POLICE, out.getvalue(), registry_of(db), clock=SystemClock())
    got = {r.record_id: (r.outcome, r.message) for r in result.rows}
    assert all(outcome == "refused" for outcome, _m in got.values())
    assert "candidate 7 does not exist" in got["T1"][1]
    assert "not in the population registry" in got["T2"][1]
    assert "give a reason" in got["T3"][1]
    assert "changed after you opened it" in got["T4"][1]
    assert "outside your area" in got["T5"][1]
    assert [r.row for r in result.rows] == [2, 3, 4, 5, 6]
    assert db.get(DoseRecord, world.doses["cuong"], populate_existing=True).status == "review"  # type: ignore[union-attr]


def test_not_a_worklist_file(db: Session, world: World) -> None:
    with pytest.raises(InvalidCorrection, match="not an Excel"):
        excel.import_worklist(db, POLICE, b"hello", registry_of(db), clock=SystemClock())
    wb = Workbook()
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(InvalidCorrection, match="no sheet"):
        excel.import_worklist(db, POLICE, out.getvalue(), registry_of(db), clock=SystemClock())
    with pytest.raises(NotPermitted):
        excel.import_worklist(db, HEALTH, out.getvalue(), registry_of(db), clock=SystemClock())


def test_cli_round_trip(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vaxlink worklist export|import` as a police account, password from standard input."""
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
    account = create_account(engine, Role.COMMUNE_POLICE, "ward:00001")
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    out = tmp_path / "w.xlsx"
    args = ["export", str(out), "--user", account.username, "--password-stdin"]
    r = runner.invoke(app, args, input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    out.write_bytes(_fill(out.read_bytes(), {"T1": {"decision": "Xác nhận ứng viên", "chosen_id": "1"},
                                             "T2": {"decision": "nonsense"}}))  # fmt: skip
    args = ["import", str(out), "--user", account.username, "--password-stdin"]
    r = runner.invoke(app, args, input=PASSWORD + "\n")
    assert r.exit_code == 5, r.output
    assert "applied: 1" in r.output
    assert "refused: 1" in r.output
    bad = runner.invoke(app, args, input="wrong-password\n")
    assert bad.exit_code != 0
    get_settings.cache_clear()
    engine.dispose()

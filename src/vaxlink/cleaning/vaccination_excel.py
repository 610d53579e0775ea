"""The health station's own Excel round trip, for vaccination facts (beside the police's
identity sheet in `excel`).

Export: the unit's doses whose vaccination facts need a look (status `invalid`, or an import or
entry warning), with the key columns and the current vaccine, lot, date, dose number and site
locked, and open columns for the corrected values and the reason. Import: each row is checked
again (its version, the permission `vaccination.correct`, the unit, the same parsers as the
correction form) and applied through `corrections.correct_dose`; every row gets an outcome with
its reason in Vietnamese (English after it). A row changed by someone since the export is
refused, never overwritten; importing the same file again changes nothing. The commune
committee may use it on the station's behalf: each version records that.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Final

from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vaxlink.auth.service import OutOfScope, Permission, Principal
from vaxlink.auth.service import append as record
from vaxlink.cleaning import corrections
from vaxlink.cleaning.errors import (
    DoseNotFound,
    EditConflict,
    InvalidCorrection,
    NotPermitted,
)
from vaxlink.cleaning.excel import MAX_FILE, MAX_ROWS, ImportResult, RowOutcome, cell_text
from vaxlink.cleaning.fields import parse_changes
from vaxlink.cleaning.worklist import unit_scope
from vaxlink.clock import Clock
from vaxlink.errors import VaxlinkError
from vaxlink.ingest.service import FileRejected, SheetNotFound, read_sheet_rows
from vaxlink.linkage.service import LinkModel
from vaxlink.records.service import DoseRecord, DoseStatus, vaccines
from vaxlink.registry.service import RegistryPort
from vaxlink.tabular import new_workbook, put, set_value

SHEET: Final = "Sửa thông tin tiêm"
INSTRUCTIONS: Final = "Hướng dẫn"
#: Locked columns: the keys and the dose's current values.
KEY_COLUMNS: Final = (
    ("dose_id", "Mã dòng"), ("version", "Phiên bản"), ("record_id", "Mã mũi tiêm"),
    ("status", "Trạng thái"), ("warnings", "Cảnh báo"), ("full_name", "Họ và tên"),
    ("vaccine", "Vắc xin"), ("lot_number", "Số lô"), ("vaccination_date", "Ngày tiêm"),
    ("dose_number", "Mũi số"), ("facility_code", "Mã cơ sở tiêm"),
)  # fmt: skip
#: Open columns: the corrected value of each vaccination fact, and why.
OPEN_COLUMNS: Final = (
    ("new_vaccine", "Vắc xin đúng", "vaccine"), ("new_lot", "Số lô đúng", "lot_number"),
    ("new_date", "Ngày tiêm đúng", "vaccination_date"),
    ("new_dose_number", "Mũi số đúng", "dose_number"),
    ("new_facility", "Mã cơ sở tiêm đúng", "facility_code"), ("reason", "Lý do sửa", None),
)  # fmt: skip
_HEADER = {label: key for key, label in KEY_COLUMNS} | {
    label: key for key, label, _ in OPEN_COLUMNS
}
_FIELD_OF = {key: field for key, _label, field in OPEN_COLUMNS if field}
_TEXT = {"dose_id", "version", "record_id", "lot_number", "new_lot", "vaccination_date",
         "new_date", "facility_code", "new_facility"}  # fmt: skip

INSTRUCTION_LINES: Final = (
    "DANH SÁCH MŨI TIÊM CẦN SỬA THÔNG TIN TIÊM CHỦNG",
    "",
    "Mỗi dòng ở trang «Sửa thông tin tiêm» là một mũi tiêm không hợp lệ hoặc có cảnh báo về "
    "thông tin tiêm. Các cột xám (giá trị hiện tại) đã khoá; ghi giá trị đúng vào các cột vàng:",
    "• «Vắc xin đúng» (chọn trong danh sách), «Số lô đúng», «Ngày tiêm đúng» (NN/TT/NNNN), "
    "«Mũi số đúng» (1 đến 10), «Mã cơ sở tiêm đúng»: chỉ ghi cột cần sửa, để trống cột đúng.",
    "• «Lý do sửa»: bắt buộc (ví dụ: đối chiếu sổ tiêm tại điểm tiêm ngày …).",
    "",
    "Không sửa, thêm hay xoá các cột đã khoá: hệ thống dùng «Mã dòng» và «Phiên bản» để nhận "
    "lại đúng dòng. Dòng không ghi giá trị đúng nào được bỏ qua.",
    "Nếu một dòng đã được người khác sửa sau khi tải tệp, dòng đó bị từ chối (không ghi đè): "
    "hãy tải lại danh sách mới. Nhập lại cùng một tệp lần nữa không thay đổi gì.",
    "Tải tệp lên ở trang Danh sách cần xác minh → «Nhập tệp sửa thông tin tiêm», hoặc: "
    "vaxlink worklist import TỆP.xlsx --sheet vaccination --user TÊN_TÀI_KHOẢN.",
    "",
    "Tệp chứa dữ liệu cá nhân: chỉ dùng cho công việc làm sạch, xoá khi đã nhập xong.",
)


def _require(principal: Principal) -> None:
    if not principal.can(Permission.VACCINATION_CORRECT):
        raise NotPermitted(
            "chỉ trạm y tế (hoặc UBND xã thay mặt trạm) sửa thông tin tiêm chủng (only the health "
            "station, or the commune committee on its behalf, corrects vaccination facts)"
        )


def needing_fixes(
    session: Session, principal: Principal, *, limit: int = MAX_ROWS
) -> list[dict[str, Any]]:
    """The unit's doses whose vaccination facts need a look: invalid ones and those with a
    warning, in id order (at most `limit`)."""
    d = DoseRecord
    stmt = (
        select(d.id, d.version, d.record_id, d.status, d.warnings, d.full_name, d.vaccine_key,
               d.lot_number, d.vaccination_date, d.dose_number, d.facility_code)
        .where(unit_scope(principal),
               or_(d.status == DoseStatus.INVALID, d.warnings.is_not(None)))
        .order_by(d.id).limit(limit)
    )  # fmt: skip
    return [dict(r._mapping) for r in session.execute(stmt)]


def export_vaccination(session: Session, principal: Principal, *, now: dt.datetime) -> bytes:
    """The station's vaccination-fact sheet as an XLSX file made at `now`; audited."""
    _require(principal)
    rows = needing_fixes(session, principal)
    wb = new_workbook()
    guide = wb.worksheets[0]
    guide.title = INSTRUCTIONS
    for i, line in enumerate(INSTRUCTION_LINES, start=1):
        put(guide, i, 1, line).alignment = Alignment(wrap_text=True, vertical="top")
    guide.cell(1, 1).font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 110
    put(guide, len(INSTRUCTION_LINES) + 2, 1,
        f"Đơn vị: {principal.unit} - tải lúc {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC - "
        f"{len(rows)} dòng")  # fmt: skip
    guide.protection.enable()
    ws = wb.create_sheet(SHEET)
    headers = [*KEY_COLUMNS, *((k, label) for k, label, _f in OPEN_COLUMNS)]
    open_from = len(KEY_COLUMNS) + 1
    fill = PatternFill("solid", fgColor="FFF2CC")
    for c, (_key, label) in enumerate(headers, start=1):
        cell = put(ws, 1, c, label)
        cell.font = Font(bold=True)
        ws.column_dimensions[get_column_letter(c)].width = 14 if c < open_from else 20
    for r, row in enumerate(rows, start=2):
        vd = row.get("vaccination_date")
        values = {
            "dose_id": str(row["id"]), "version": str(row["version"]),
            "record_id": row["record_id"], "status": row["status"], "warnings": row["warnings"],
            "full_name": row["full_name"], "vaccine": row["vaccine_key"],
            "lot_number": row["lot_number"],
            "vaccination_date": vd.strftime("%d/%m/%Y") if vd else None,
            "dose_number": row["dose_number"], "facility_code": row["facility_code"],
        }  # fmt: skip
        for c, (key, _label) in enumerate(headers, start=1):
            cell = ws.cell(r, c)
            if key in values:
                set_value(cell, values[key])
            if key in _TEXT:
                cell.number_format = "@"
            if c >= open_from:
                cell.protection = Protection(locked=False)
                cell.fill = fill
    last = max(len(rows) + 1, 2)
    col = {key: get_column_letter(i) for i, (key, _l) in enumerate(headers, start=1)}
    choices = sorted(vaccines.catalogue())
    if len(",".join(choices)) < 250:  # Excel's limit for an inline list
        listed = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                allow_blank=True, showErrorMessage=True, errorTitle="Vắc xin",
                                error="Chọn một vắc xin trong danh sách")  # fmt: skip
        listed.add(f"{col['new_vaccine']}2:{col['new_vaccine']}{last}")
        ws.add_data_validation(listed)
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    wb.active = 1
    out = io.BytesIO()
    wb.save(out)
    record(
        session, actor=principal, action="worklist.export_vaccination", object_type="worklist",
        object_id=str(principal.unit), unit=str(principal.unit), detail={"rows": len(rows)}, at=now
    )  # fmt: skip
    return out.getvalue()


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, values by column key) of the vaccination sheet; another file is refused."""
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidCorrection("tệp không phải tệp Excel .xlsx (the file is not an .xlsx file)")
    try:
        sheet = read_sheet_rows(data, name="the file", sheet=SHEET, date_format="%d/%m/%Y",
                                max_rows=MAX_ROWS + 2)  # fmt: skip
    except SheetNotFound:
        raise InvalidCorrection(
            f"tệp không có trang «{SHEET}»: hãy tải lên tệp sửa thông tin tiêm đã xuất (the file "
            "has no vaccination sheet: upload the exported vaccination file)"
        ) from None
    except FileRejected as exc:
        raise InvalidCorrection(str(exc)) from exc
    rows = iter(sheet)
    header = [_HEADER.get(cell_text(h), cell_text(h)) for h in next(rows, ())]
    missing = [label for key, label in KEY_COLUMNS[:2] if key not in header]
    missing += [label for key, label, _f in OPEN_COLUMNS if key not in header]
    if missing:
        raise InvalidCorrection(f"thiếu cột (columns missing): {', '.join(missing)}")
    out = []
    for n, values in enumerate(rows, start=2):
        if n > MAX_ROWS + 1:
            raise InvalidCorrection(f"tệp có hơn {MAX_ROWS} dòng; hãy chia nhỏ (split the file)")
        if values is None or all(cell_text(v) == "" for v in values):
            continue
        out.append((n, {k: cell_text(v) for k, v in zip(header, values, strict=False) if k}))
    return out


def _vi(exc: VaxlinkError) -> str:
    """A refused row's reason, Vietnamese first."""
    if isinstance(exc, EditConflict):
        return ("mũi tiêm đã được người khác sửa sau khi tải tệp, không ghi đè: hãy tải lại danh "
                f"sách ({exc})")  # fmt: skip
    if isinstance(exc, OutOfScope):
        return f"mũi tiêm ngoài đơn vị của anh/chị ({exc})"
    if isinstance(exc, DoseNotFound):
        return f"không có mũi tiêm này ({exc})"
    if isinstance(exc, NotPermitted):
        return f"không có quyền sửa ({exc})"
    return f"giá trị không dùng được ({exc})"


def _apply_row(
    session: Session,
    principal: Principal,
    row: dict[str, str],
    registry: RegistryPort,
    model: LinkModel,
    clock: Clock,
) -> tuple[str, str]:
    try:
        dose_id, version = int(row.get("dose_id", "")), int(row.get("version", ""))
    except ValueError:
        raise InvalidCorrection(
            "các cột khoá (Mã dòng, Phiên bản) bị sửa hoặc xoá (key columns changed)"
        ) from None
    changes: dict[str, object] = {
        field: row[key] for key, field in _FIELD_OF.items() if row.get(key, "")
    }
    dose = corrections.load_dose(session, principal, dose_id, now=clock.now())
    if not parse_changes(changes, corrections.dose_row(dose), clock.today()):
        return "unchanged", "đã đúng như vậy, không thay đổi (already so)"
    reason = row.get("reason", "")
    if not reason:
        raise InvalidCorrection("ghi lý do sửa vào cột «Lý do sửa» (give the reason)")
    with session.begin_nested():
        corrections.correct_dose(session, principal, dose_id, expected_version=version,
                                 changes=changes, reason=reason, registry=registry, model=model,
                                 clock=clock)  # fmt: skip
    return "applied", ",".join(sorted(changes))


def import_vaccination(
    session: Session,
    principal: Principal,
    data: bytes,
    registry: RegistryPort,
    model: LinkModel,
    *,
    clock: Clock,
) -> ImportResult:
    """Apply the corrections of a filled-in vaccination sheet row by row; the report says what
    became of every row (applied, unchanged, refused with the reason, skipped)."""
    _require(principal)
    if len(data) > MAX_FILE:
        raise InvalidCorrection("tệp lớn hơn 10 MB (the file is larger than 10 MB)")
    result = ImportResult()
    for n, row in read_rows(data):
        dose_id = int(row["dose_id"]) if row.get("dose_id", "").isdigit() else None
        record_id = row.get("record_id") or None
        if not any(row.get(key) for key in _FIELD_OF):
            result.rows.append(RowOutcome(n, dose_id, record_id, "skipped",
                                          "không ghi giá trị đúng nào (nothing entered)"))  # fmt: skip
            continue
        error: VaxlinkError | None = None
        try:
            outcome, message = _apply_row(session, principal, row, registry, model, clock)
        except VaxlinkError as exc:
            outcome, message, error = "refused", _vi(exc), exc
        fields = tuple(message.split(",")) if outcome == "applied" else ()
        if outcome == "applied":
            message = "đã sửa: " + ", ".join(fields)
        result.rows.append(RowOutcome(n, dose_id, record_id, outcome, message, error, fields))
    record(
        session, actor=principal, action="worklist.import_vaccination", object_type="worklist",
        object_id=str(principal.unit), unit=str(principal.unit),
        detail={o: result.count(o) for o in ("applied", "unchanged", "refused", "skipped")},
        at=clock.now(),
    )  # fmt: skip
    return result

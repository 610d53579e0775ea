"""The worklist as an Excel file the police can work offline, and the file read back.

Export: an instructions sheet (Vietnamese), then the list with its key columns locked (sheet
protection; only the decision columns are open) and drop-down lists for the decision and the
reason. Import: every row gets an outcome in the report (applied, unchanged, refused with the
reason, skipped), nothing is dropped silently; rows outside the importer's unit are refused;
each row is decided from the version it was exported at, so a row someone changed since is
refused, not overwritten; importing the same file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Final

from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from vaxlink.auth.service import Permission, Principal
from vaxlink.auth.service import append as record
from vaxlink.cleaning import corrections, links, police_lists
from vaxlink.cleaning.errors import InvalidCorrection, NeedsSecondStep, NotPermitted
from vaxlink.cleaning.worklist import MAX_PAGE_SIZE, WorklistQuery, worklist
from vaxlink.clock import Clock
from vaxlink.errors import VaxlinkError
from vaxlink.identity import normalise_id
from vaxlink.ingest.service import FileRejected, SheetNotFound, read_sheet_rows
from vaxlink.linkage.service import LinkModel
from vaxlink.records.service import DoseStatus
from vaxlink.registry.service import RegistryPerson, RegistryPort
from vaxlink.tabular import new_workbook, put, set_value

SHEET: Final = "Danh sách"
INSTRUCTIONS: Final = "Hướng dẫn"
#: Data columns (key, Vietnamese header), read-only in the file.
KEY_COLUMNS: Final = (
    ("dose_id", "Mã dòng"), ("version", "Phiên bản"), ("record_id", "Mã mũi tiêm"),
    ("status", "Trạng thái"), ("reason", "Lý do hệ thống"), ("full_name", "Họ và tên"),
    ("date_of_birth", "Ngày sinh"), ("sex", "Giới tính"), ("id_number", "Số CCCD/CMND"),
    ("vaccine", "Vắc xin"), ("vaccination_date", "Ngày tiêm"), ("dose_number", "Mũi số"),
    ("facility_code", "Mã cơ sở tiêm"), ("candidate_1", "Ứng viên 1"),
    ("candidate_2", "Ứng viên 2"), ("candidate_3", "Ứng viên 3"),
)  # fmt: skip
#: Columns the officer fills in (unlocked).
DECISION_COLUMNS: Final = (
    ("decision", "Quyết định"), ("chosen_id", "Số định danh đúng / số ứng viên"),
    ("correct_name", "Họ tên đúng"), ("correct_dob", "Ngày sinh đúng"),
    ("correct_sex", "Giới tính đúng"), ("cannot_reason", "Lý do không xác minh được"),
    ("note", "Ghi chú"),
)  # fmt: skip
DECISION_LABELS: Final = {
    "Xác nhận ứng viên": "confirm",
    "Nhập danh tính đúng": "identity",
    "Không xác minh được": "cannot_verify",
}
#: The second step in a file: confirming a candidate that disagrees with the record, knowingly.
CONFIRM_ANYWAY: Final = "Xác nhận dù có điểm khác"
REASON_LABELS: Final = {
    "Không cư trú tại xã": "not_resident", "Đã chuyển đi": "moved_away",
    "Không rõ người này": "unknown_person", "Đã mất": "deceased",
    "Bản ghi trùng": "duplicate_record", "Khác": "other",
}  # fmt: skip
MAX_ROWS: Final = 20_000
#: The largest file read back (a full MAX_ROWS file is well below it).
MAX_FILE: Final = 10 * 1024 * 1024
_HEADER = {label: key for key, label in (*KEY_COLUMNS, *DECISION_COLUMNS)}
_TEXT_KEYS = {"dose_id", "version", "record_id", "id_number", "chosen_id", "candidate_1",
              "candidate_2", "candidate_3", "correct_dob", "date_of_birth"}  # fmt: skip

INSTRUCTION_LINES: Final = (
    "DANH SÁCH MŨI TIÊM CẦN XÁC MINH DANH TÍNH",
    "",
    "Cách làm: với mỗi dòng ở trang «Danh sách», chọn một «Quyết định» trong danh sách thả xuống:",
    "• «Xác nhận ứng viên»: người tiêm là một trong các ứng viên. Ghi số ứng viên (1, 2, 3) "
    "hoặc số định danh của ứng viên vào cột «Số định danh đúng / số ứng viên».",
    "• «Xác nhận dù có điểm khác»: chỉ dùng khi một dòng «Xác nhận ứng viên» bị từ chối vì "
    "ứng viên khác bản ghi (khác tên, ngày sinh, giới tính, hoặc khả năng trùng khớp thấp) và "
    "anh/chị đã đối chiếu CCCD, chắc chắn là cùng một người.",
    "• «Nhập danh tính đúng»: ghi số định danh (CCCD 12 số) đúng của người tiêm; có thể ghi "
    "thêm họ tên, ngày sinh (NN/TT/NNNN), giới tính để đối chiếu. Số phải có trong CSDL quốc "
    "gia về dân cư.",
    "• «Không xác minh được»: chọn lý do trong cột «Lý do không xác minh được».",
    "",
    "Không sửa, thêm hay xoá các cột đã khoá (Mã dòng, Phiên bản…): hệ thống dùng chúng để "
    "nhận lại đúng dòng. Dòng để trống cột «Quyết định» được bỏ qua.",
    "Nếu một dòng đã được người khác sửa sau khi tải tệp, dòng đó bị từ chối (không ghi đè): "
    "hãy tải lại danh sách mới.",
    "Tải tệp lên ở trang Danh sách cần xác minh → «Nhập tệp Excel», hoặc: "
    "vaxlink worklist import TỆP.xlsx --user TÊN_TÀI_KHOẢN.",
    "Nhập lại cùng một tệp lần nữa không thay đổi gì.",
    "",
    "Tệp chứa dữ liệu cá nhân: chỉ dùng cho công việc xác minh, không gửi qua mạng xã hội, "
    "xoá khi đã nhập xong.",
)


@dataclass
class RowOutcome:
    """What became of one row of an imported file."""

    row: int
    dose_id: int | None
    record_id: str | None
    outcome: str  # applied / unchanged / refused / skipped
    message: str
    #: Why a refused row was refused (pages tell it in the reader's language).
    error: VaxlinkError | None = None
    #: The fields an applied row changed (pages name them in the reader's language).
    fields: tuple[str, ...] = ()


@dataclass
class ImportResult:
    """The report of one import: an outcome per row."""

    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """Rows with that outcome."""
        return sum(1 for r in self.rows if r.outcome == outcome)


def _candidate_text(cid: str, p: Any, person: RegistryPerson | None) -> str:
    share = f" ({round(float(p) * 100)}%)" if isinstance(p, int | float) else ""
    if person is None:
        return f"{cid}{share}"
    return f"{cid} - {person.full_name} - {person.date_of_birth} - {person.sex}{share}"


def export_worklist(
    session: Session,
    principal: Principal,
    registry: RegistryPort,
    query: WorklistQuery | None = None,
    *,
    now: dt.datetime,
) -> bytes:
    """The principal's worklist (all pages of `query`) as an XLSX file made at `now`; audited."""
    base = query or WorklistQuery()
    rows: list[dict[str, Any]] = []
    cursor = None
    while len(rows) < MAX_ROWS:
        page = worklist(session, principal, WorklistQuery(**{**base.__dict__, "after": cursor,
                                                              "limit": MAX_PAGE_SIZE}))  # fmt: skip
        rows += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    people: dict[str, RegistryPerson | None] = {}
    wb = new_workbook()
    guide = wb.worksheets[0]
    guide.title = INSTRUCTIONS
    for i, line in enumerate(INSTRUCTION_LINES, start=1):
        put(guide, i, 1, line).alignment = Alignment(wrap_text=True, vertical="top")
    guide.cell(1, 1).font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 110
    n = len(INSTRUCTION_LINES) + 2
    put(guide, n, 1, f"Đơn vị: {principal.unit} - tải lúc {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC "
                     f"- {len(rows)} dòng")  # fmt: skip
    list_id = None
    if principal.can(Permission.IDENTITY_CORRECT) and rows:
        # The police's export is a numbered verification list (police_lists): signed and
        # marked verified, it lets the commune committee type its identity fixes.
        list_id = police_lists.create_list(
            session, principal, [(int(r["id"]), int(r["version"])) for r in rows], now=now
        )
        put(guide, n + 1, 1, f"DANH SÁCH XÁC MINH SỐ {list_id} - cán bộ {principal.username}. "
                             "Sau khi xác minh và ký, đánh dấu «Đã xác minh» ở trang Danh sách "
                             "xác minh để UBND xã nhập các sửa đổi.").font = Font(bold=True)  # fmt: skip
    guide.protection.enable()
    ws = wb.create_sheet(SHEET)
    headers = [*KEY_COLUMNS, *DECISION_COLUMNS]
    open_from = len(KEY_COLUMNS) + 1
    fill = PatternFill("solid", fgColor="FFF2CC")
    for c, (_key, label) in enumerate(headers, start=1):
        cell = put(ws, 1, c, label)
        cell.font = Font(bold=True)
        ws.column_dimensions[get_column_letter(c)].width = 14 if c < open_from else 22
    for r, row in enumerate(rows, start=2):
        cands = []
        for cand in row["candidates"][:3]:
            cid = cand.get("citizen_id")
            if cid not in people:
                people[cid] = registry.get(cid)
            cands.append(_candidate_text(cid, cand.get("probability"), people[cid]))
        values = {
            **{k: row.get(k) for k in ("id", "version", "record_id", "status", "reason",
                                        "full_name", "date_of_birth", "sex", "id_number",
                                        "dose_number", "facility_code")},
            "vaccine": row.get("vaccine_key"),
            "vaccination_date": row["vaccination_date"].isoformat() if row.get("vaccination_date") else None,
            **{f"candidate_{i}": text for i, text in enumerate(cands, start=1)},
        }  # fmt: skip
        values["dose_id"] = str(values.pop("id"))
        values["version"] = str(values["version"])
        for c, (key, _label) in enumerate(headers, start=1):
            cell = ws.cell(r, c)
            if key in values:
                set_value(cell, values[key])
            if key in _TEXT_KEYS:
                cell.number_format = "@"
            if c >= open_from:
                cell.protection = Protection(locked=False)
                cell.fill = fill
    last = max(len(rows) + 1, 2)
    col = {key: get_column_letter(i) for i, (key, _l) in enumerate(headers, start=1)}
    decision = DataValidation(type="list", formula1='"' + ",".join([*DECISION_LABELS, CONFIRM_ANYWAY]) + '"',
                              allow_blank=True, showErrorMessage=True,
                              errorTitle="Quyết định", error="Chọn một giá trị trong danh sách")  # fmt: skip
    decision.add(f"{col['decision']}2:{col['decision']}{last}")
    reason = DataValidation(type="list", formula1='"' + ",".join(REASON_LABELS) + '"',
                            allow_blank=True, showErrorMessage=True)  # fmt: skip
    reason.add(f"{col['cannot_reason']}2:{col['cannot_reason']}{last}")
    sex = DataValidation(type="list", formula1='"Nam,Nữ"', allow_blank=True)
    sex.add(f"{col['correct_sex']}2:{col['correct_sex']}{last}")
    for dv in (decision, reason, sex):
        ws.add_data_validation(dv)
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"
    ws.protection.sheet = True
    ws.protection.autoFilter = False  # filtering and sorting stay allowed
    ws.protection.sort = False
    ws.protection.formatColumns = False
    wb.active = 1
    out = io.BytesIO()
    wb.save(out)
    record(
        session, actor=principal, action="worklist.export", object_type="worklist",
        object_id=str(principal.unit), unit=str(principal.unit),
        detail={"rows": len(rows), "police_list": list_id}, at=now
    )  # fmt: skip
    return out.getvalue()


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(row number, values by column key) of the list sheet; a file that is not the exported
    worklist is refused with what is wrong."""
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidCorrection("the file is not an Excel .xlsx file").keyed("error.not_xlsx")
    try:  # measured first, then parsed in a memory-capped child process
        sheet = read_sheet_rows(data, name="the file", sheet=SHEET, date_format="%d/%m/%Y",
                                     max_rows=MAX_ROWS + 2)  # fmt: skip
    except SheetNotFound:
        raise InvalidCorrection(
            f"the file has no sheet «{SHEET}»: upload the exported worklist"
        ) from None
    except FileRejected as exc:
        raise InvalidCorrection(str(exc)) from exc
    rows = iter(sheet)
    header = [_HEADER.get(cell_text(h), cell_text(h)) for h in next(rows, ())]
    missing = [
        label for key, label in (KEY_COLUMNS[:2] + DECISION_COLUMNS[:2]) if key not in header
    ]
    if missing:
        raise InvalidCorrection(f"columns missing from the sheet: {', '.join(missing)}")
    out = []
    for n, values in enumerate(rows, start=2):
        if n > MAX_ROWS + 1:
            raise InvalidCorrection(f"the file has more than {MAX_ROWS} rows; split it")
        if values is None or all(v is None or cell_text(v) == "" for v in values):
            continue
        out.append((n, {k: cell_text(v) for k, v in zip(header, values, strict=False) if k}))
    return out


def _resolve(row: dict[str, str], link_candidates: list[dict[str, Any]]) -> str:
    chosen = row.get("chosen_id", "")
    if len(chosen) == 1 and chosen.isdigit():  # a candidate's number, not an ID
        i = int(chosen) - 1
        if not 0 <= i < len(link_candidates):
            raise InvalidCorrection(f"candidate {chosen} does not exist for this dose")
        return str(link_candidates[i]["citizen_id"])
    return normalise_id(chosen)


def _apply_row(
    session: Session,
    principal: Principal,
    row: dict[str, str],
    registry: RegistryPort,
    model: LinkModel | None,
    clock: Clock,
) -> tuple[str, str]:
    """Decide one row: (outcome, message)."""
    try:
        dose_id, version = int(row.get("dose_id", "")), int(row.get("version", ""))
    except ValueError:
        raise InvalidCorrection(
            "the key columns (Mã dòng, Phiên bản) were changed or emptied"
        ) from None
    label = row.get("decision", "")
    anyway = label == CONFIRM_ANYWAY
    decision = "confirm" if anyway else DECISION_LABELS.get(label, label)
    if decision not in corrections.DECISIONS:
        raise InvalidCorrection(f"unknown decision «{label}»: choose one from the list")
    dose = corrections.load_dose(session, principal, dose_id, now=clock.now())
    link = links.latest_links(session, [dose_id]).get(dose_id)
    kwargs: dict[str, Any] = {}
    if decision == "cannot_verify":
        code = REASON_LABELS.get(row.get("cannot_reason", ""), row.get("cannot_reason", ""))
        note = row.get("note", "")
        kwargs["cannot_verify_reason"] = code
        kwargs["reason"] = note or None
        done = (dose.status == DoseStatus.UNMATCHED and link is not None
                and link.rule in (links.HUMAN_RULE, links.HUMAN_PROPAGATED_RULE)
                and link.reason == f"cannot_verify:{code}")  # fmt: skip
    else:
        cid = _resolve(row, list(link.candidates) if link else [])
        if decision == "confirm":
            kwargs["citizen_id"] = cid
        else:
            kwargs["identity"] = {"id_number": cid, "full_name": row.get("correct_name"),
                                  "date_of_birth": row.get("correct_dob"),
                                  "sex": row.get("correct_sex")}  # fmt: skip
        kwargs["reason"] = row.get("note") or None
        done = dose.status == DoseStatus.VERIFIED and dose.citizen_id == cid and bool(cid)
    if done:
        return "unchanged", "already decided so"
    try:
        with session.begin_nested():
            corrections.decide(session, principal, dose_id, expected_version=version,
                               decision=decision, registry=registry, model=model, clock=clock,
                               acknowledged=anyway, **kwargs)  # fmt: skip
    except NeedsSecondStep as exc:
        shown = "; ".join(f"{what}: {mine} ≠ {theirs}" if theirs else f"{what}: {mine}"
                          for what, mine, theirs in exc.disagreements)  # fmt: skip
        raise NeedsSecondStep(
            f"{exc} [{shown}]; to confirm anyway choose «{CONFIRM_ANYWAY}»",
            disagreements=exc.disagreements,
        ) from exc
    return "applied", decision


def import_worklist(
    session: Session,
    principal: Principal,
    data: bytes,
    registry: RegistryPort,
    model: LinkModel | None = None,
    *,
    clock: Clock,
) -> ImportResult:
    """Apply the decisions of an exported worklist file, row by row; the report says what
    became of every row."""
    if not principal.can(Permission.IDENTITY_CORRECT):
        raise NotPermitted("only the commune police may import decisions about identities")
    if len(data) > MAX_FILE:
        raise InvalidCorrection("the file is larger than 10 MB")
    result = ImportResult()
    for n, row in read_rows(data):
        dose_id = int(row["dose_id"]) if row.get("dose_id", "").isdigit() else None
        record_id = row.get("record_id") or None
        if not row.get("decision"):
            result.rows.append(RowOutcome(n, dose_id, record_id, "skipped", "no decision entered"))
            continue
        try:
            outcome, message = _apply_row(session, principal, row, registry, model, clock)
        except VaxlinkError as exc:
            result.rows.append(RowOutcome(n, dose_id, record_id, "refused", str(exc), exc))
            continue
        result.rows.append(RowOutcome(n, dose_id, record_id, outcome, message))
    record(
        session, actor=principal, action="worklist.import", object_type="worklist",
        object_id=str(principal.unit), unit=str(principal.unit),
        detail={o: result.count(o) for o in ("applied", "unchanged", "refused", "skipped")}, at=clock.now()
    )  # fmt: skip
    return result

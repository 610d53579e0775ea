"""Why an imported row was quarantined, in the reader's words (registered with the catalogue).

`import.reason.<code>` is one row's reason, its `{placeholders}` filled with that row's values
(`reason_values` of each kind, and the pipeline's `reason_texts`, do the filling set-based in
DuckDB); `import.reason_label.<code>` names the reason in the counts. Every reason code an
import gives (the checks of `vaxlink.records.parse.CHECKS` and `vaxlink.registry.importer`, and
the pipeline's own `record_id_changed` and `unreadable_row`) has both, in both languages (a test
fails on a new check without them)."""

from __future__ import annotations

from typing import Final

# code: (Vietnamese text, English text, Vietnamese label, English label)
_REASONS: Final[dict[str, tuple[str, str, str, str]]] = {
    "record_id_missing": (
        "mã mũi tiêm để trống", "record id is empty",
        "thiếu mã mũi tiêm", "record id missing"),
    "record_id_duplicate": (
        "mã mũi tiêm {record_id} xuất hiện {count} lần trong tệp này; mỗi mũi tiêm cần một mã riêng",
        "record id {record_id} appears {count} times in this file; each dose needs its own id",
        "mã mũi tiêm bị trùng", "record id used twice"),
    "record_id_changed": (
        "mã mũi tiêm {record_id} đã được nhập trước đây (đợt nhập {batch}) với giá trị khác; hãy "
        "gửi thay đổi dưới dạng đính chính, không gửi lại trong tệp mới",
        "record id {record_id} was already imported (batch {batch}) with other values; send "
        "changes as corrections, not as a new file",
        "mã mũi tiêm đã nhập với giá trị khác", "record id imported before with other values"),
    "name_missing": (
        "họ tên để trống", "full name is empty",
        "thiếu họ tên", "name missing"),
    "name_no_letters": (
        "họ tên '{full_name}' không có chữ cái", "full name '{full_name}' has no letters",
        "họ tên không có chữ cái", "name without letters"),
    "dob_missing": (
        "ngày sinh để trống", "date of birth is empty",
        "thiếu ngày sinh", "date of birth missing"),
    "dob_invalid": (
        "ngày sinh '{date_of_birth}' không phải là ngày hợp lệ (ví dụ 14/03/1985)",
        "date of birth '{date_of_birth}' is not a valid date (e.g. 14/03/1985)",
        "ngày sinh không hợp lệ", "date of birth not valid"),
    "dob_implausible": (
        "ngày sinh {date_of_birth} không hợp lý", "date of birth {date_of_birth} is not plausible",
        "ngày sinh không hợp lý", "date of birth implausible"),
    "dob_after_vaccination": (
        "ngày sinh {date_of_birth} sau ngày tiêm {vaccination_date}",
        "date of birth {date_of_birth} is after the vaccination date {vaccination_date}",
        "ngày sinh sau ngày tiêm", "born after the vaccination"),
    "id_too_long": (
        "số định danh {id_number} có {digits} chữ số; CCCD có 12 chữ số, CMND có 9",
        "ID number {id_number} has {digits} digits; a CCCD has 12 and a CMND 9",
        "số định danh quá dài", "ID number too long"),
    "vaccine_missing": (
        "tên vắc xin để trống", "vaccine name is empty",
        "thiếu tên vắc xin", "vaccine missing"),
    "vaccine_unknown": (
        "vắc xin '{vaccine}' không có trong danh mục (ví dụ {known})",
        "vaccine '{vaccine}' is not in the catalogue (e.g. {known})",
        "vắc xin không có trong danh mục", "vaccine not in the catalogue"),
    "vaccination_date_missing": (
        "ngày tiêm để trống", "vaccination date is empty",
        "thiếu ngày tiêm", "vaccination date missing"),
    "vaccination_date_invalid": (
        "ngày tiêm '{vaccination_date}' không phải là ngày hợp lệ (ví dụ 01/09/2021)",
        "vaccination date '{vaccination_date}' is not a valid date (e.g. 01/09/2021)",
        "ngày tiêm không hợp lệ", "vaccination date not valid"),
    "vaccination_date_partial": (
        "ngày tiêm {vaccination_date} cần có đủ ngày và tháng",
        "vaccination date {vaccination_date} needs a day and a month",
        "ngày tiêm thiếu ngày hoặc tháng", "vaccination date without day or month"),
    "vaccination_date_out_of_range": (
        "ngày tiêm {vaccination_date} nằm ngoài khoảng từ {first_day} đến hôm nay ({today})",
        "vaccination date {vaccination_date} is outside {first_day} to today ({today})",
        "ngày tiêm nằm ngoài đợt tiêm chủng", "vaccination date outside the campaign"),
    "dose_number_missing": (
        "mũi số để trống", "dose number is empty",
        "thiếu mũi số", "dose number missing"),
    "dose_number_invalid": (
        "mũi số '{dose_number}' phải là số nguyên từ 1 đến 10",
        "dose number '{dose_number}' must be a whole number from 1 to 10",
        "mũi số không hợp lệ", "dose number not valid"),
    "citizen_id_invalid": (
        "số định danh '{citizen_id}' không phải là số có 12 chữ số",
        "citizen id '{citizen_id}' is not a 12-digit number",
        "số định danh không hợp lệ", "citizen id not valid"),
    "citizen_id_duplicate": (
        "số định danh {citizen_id} xuất hiện {count} lần trong tệp này",
        "citizen id {citizen_id} appears {count} times in this file",
        "số định danh bị trùng", "citizen id used twice"),
    "sex_invalid": (
        "giới tính '{sex}' không phải là nam (M) hoặc nữ (F)", "sex '{sex}' is not M or F",
        "giới tính không hợp lệ", "sex not valid"),
    "province_invalid": (
        "mã tỉnh '{province_code}' không phải là mã hợp lệ",
        "province code '{province_code}' is not a code",
        "mã tỉnh không hợp lệ", "province code not valid"),
    "unreadable_row": (
        "dòng này không đọc được thành một hàng (số ô khác dòng tiêu đề, sai bảng mã, dấu ngoặc "
        "kép đặt sai hoặc chưa đóng, hay dòng quá dài)",
        "the line could not be read as a row (a wrong number of cells, a wrong encoding, a "
        "misplaced or unclosed quote, or a line too long)",
        "dòng không đọc được", "unreadable line"),
}  # fmt: skip

#: Every reason code that has texts.
CODES: Final = tuple(_REASONS)
TEXT: Final = "import.reason."
LABEL: Final = "import.reason_label."

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {**{TEXT + c: v[0] for c, v in _REASONS.items()},
           **{LABEL + c: v[2] for c, v in _REASONS.items()}},
    "en": {**{TEXT + c: v[1] for c, v in _REASONS.items()},
           **{LABEL + c: v[3] for c, v in _REASONS.items()}},
}  # fmt: skip

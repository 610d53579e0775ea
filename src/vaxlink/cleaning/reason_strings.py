"""Why a dose is on the worklist, in the reader's words: the linkage's reason codes (docs/formats.md
§3) and the checks that made a record invalid, Vietnamese first (`coded("linkage.reason.", …)`)."""

from __future__ import annotations

from typing import Final

_CODES: Final[dict[str, tuple[str, str]]] = {
    # why no person was linked
    "no_candidate": ("Không tìm thấy người nào trong CSDL dân cư", "No one in the population registry"),
    "no_plausible_candidate": ("Không có người nào đủ giống", "No one similar enough"),
    "cluster_conflict": ("Các mũi của cùng một người chỉ về những người khác nhau",
                         "Doses of one person point to different people"),
    "id_not_in_registry": ("Số định danh không có trong CSDL dân cư",
                           "The ID number is not in the population registry"),
    "dob_differs": ("Ngày sinh khác với CSDL dân cư", "The date of birth differs from the registry"),
    "id_of_another_person": ("Số định danh là của người khác", "The ID number belongs to someone else"),
    "name_differs": ("Họ tên khác với CSDL dân cư", "The name differs from the registry"),
    "below_threshold": ("Độ giống chưa đủ để tự động liên kết", "Not similar enough to link automatically"),
    "ambiguous": ("Có nhiều người giống nhau", "Several people are equally similar"),
    "rule_unlikely": ("Trùng khớp theo quy tắc nhưng khó xảy ra", "A rule matched, but it is unlikely"),
    # why a record is invalid
    "record_id_missing": ("Thiếu mã bản ghi", "The record ID is missing"),
    "record_id_duplicate": ("Mã bản ghi bị trùng", "The record ID is used twice"),
    "name_missing": ("Thiếu họ tên", "The name is missing"),
    "name_no_letters": ("Họ tên không có chữ", "The name has no letters"),
    "dob_not_a_date": ("Ngày sinh không phải là ngày", "The date of birth is not a date"),
    "dob_does_not_exist": ("Ngày sinh không có thật", "The date of birth does not exist"),
    "dob_implausible": ("Ngày sinh không hợp lý", "The date of birth is implausible"),
    "id_too_long": ("Số định danh quá dài", "The ID number is too long"),
    "vaccine_missing": ("Thiếu tên vắc xin", "The vaccine is missing"),
    "vaccine_unknown": ("Vắc xin không có trong danh mục", "The vaccine is not in the list"),
    "vaccination_date_missing": ("Thiếu ngày tiêm", "The vaccination date is missing"),
    "vaccination_date_invalid": ("Ngày tiêm không hợp lệ", "The vaccination date is not valid"),
    "vaccination_date_partial": ("Ngày tiêm không đủ ngày, tháng, năm",
                                 "The vaccination date lacks its day or month"),
    "vaccination_date_out_of_range": ("Ngày tiêm nằm ngoài đợt tiêm chủng",
                                      "The vaccination date is outside the campaign"),
    "dob_after_vaccination": ("Ngày sinh sau ngày tiêm", "Born after the vaccination date"),
    "dose_number_missing": ("Thiếu mũi số", "The dose number is missing"),
    "dose_number_invalid": ("Mũi số không hợp lệ", "The dose number is not valid"),
}  # fmt: skip

#: How a link was made (the `rule` column) and which engine decided.
_RULES: Final[dict[str, tuple[str, str]]] = {
    "cluster": ("theo các mũi khác của cùng người", "by the person's other doses"),
    "model": ("theo mô hình so khớp", "by the matching model"),
    "exact": ("trùng khớp hoàn toàn", "exact match"),
}

STRINGS: Final = {
    lang: {
        **{f"linkage.reason.{code}": texts[i] for code, texts in _CODES.items()},
        **{f"linkage.rule.{code}": texts[i] for code, texts in _RULES.items()},
    }
    for i, lang in enumerate(("vi", "en"))
}

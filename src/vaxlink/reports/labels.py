"""Names of the figures and of the report's parts, in Vietnamese and English (one source for the
dashboard, the XLSX and the PDF)."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from vaxlink.catalogue import ascii_text, text_in

#: figure -> (Vietnamese, English)
METRICS: Final[dict[str, tuple[str, str]]] = {
    "doses_recorded": ("Mũi tiêm đã ghi nhận", "Doses recorded"),
    "doses_pending": ("Chưa gửi xác thực", "Not yet sent for verification"),
    "doses_sent": ("Đã gửi xác thực", "Sent for verification"),
    "doses_linked": ("Đã xác thực (khớp CSDL dân cư)", "Verified (matched to the registry)"),
    "doses_wrong": ("Sai thông tin (chưa xác thực)", "Wrong (not verified)"),
    "doses_verified": ("Khớp ngay", "Verified as entered"),
    "doses_auto_linked": ("Tự động sửa và khớp", "Auto-linked (corrected)"),
    "doses_review": ("Cần rà soát", "In review"),
    "doses_unmatched": ("Không tìm thấy người", "Unmatched"),
    "doses_invalid": ("Không dùng được", "Invalid"),
    "linked_share": ("Tỷ lệ xác thực", "Share verified"),
    "people_verified": ("Người đã xác thực", "People verified"),
    "people_not_verified": ("Người đã tiêm chưa xác thực", "Vaccinated people not yet verified"),
    "people_without_chip": (
        "Người đã tiêm không có CCCD gắn chip",
        "Vaccinated people without a chip ID card",
    ),
    "doses_identity_first_unverified": (
        "Mũi từ 20/10/2021 chưa xác thực danh tính",
        "Doses since 20/10/2021 without verified identity",
    ),
    "doses_approved": ("Mũi đã được cơ sở ký duyệt", "Doses approved (signed)"),
    "certificates_issued": ("Chứng nhận đã cấp", "Certificates issued"),
    "certificates_revoked": ("Chứng nhận đã thu hồi", "Certificates revoked"),
    "certificates_expiring": (
        "Chứng nhận hết hạn trong 30 ngày",
        "Certificates expiring in 30 days",
    ),
    "tickets_open": ("Phản ánh đang mở", "Citizen reports open"),
    "tickets_overdue": ("Phản ánh quá hạn", "Citizen reports overdue"),
    "tickets_resolved": ("Phản ánh đã giải quyết", "Citizen reports resolved"),
    "ticket_median_hours": (
        "Thời gian giải quyết (trung vị, giờ)",
        "Median time to resolve (hours)",
    ),
}

#: The columns of the drill-down tables and files, in order.
TABLE_COLUMNS: Final = (
    "doses_recorded",
    "doses_sent",
    "doses_linked",
    "doses_wrong",
    "linked_share",
    "doses_pending",
    "doses_review",
    "doses_unmatched",
    "doses_invalid",
    "doses_identity_first_unverified",
    "people_verified",
    "people_not_verified",
    "people_without_chip",
    "doses_approved",
    "certificates_issued",
    "certificates_revoked",
    "certificates_expiring",
    "tickets_open",
    "tickets_overdue",
    "tickets_resolved",
    "ticket_median_hours",
)

LEVELS: Final[dict[str, tuple[str, str]]] = {
    "nation": ("Toàn quốc", "Nation"),
    "province": ("Tỉnh/Thành phố", "Province"),
    "district": ("Quận/Huyện", "District"),
    "ward": ("Xã/Phường", "Ward"),
    "site": ("Cơ sở tiêm chủng", "Vaccination site"),
}

TEXT: Final[dict[str, tuple[str, str]]] = {
    "title": ("Báo cáo tiến độ xác thực dữ liệu tiêm chủng", "Vaccination data verification report"),
    "dashboard": ("Bảng điều hành", "Dashboard"),
    "unit": ("Đơn vị", "Unit"),
    "day": ("Ngày", "Day"),
    "as_of_end": ("Số liệu tính đến hết ngày (giờ Việt Nam): {day}",
                  "Figures as of the end of the day (Viet Nam time): {day}"),
    "as_of_time": ("Số liệu tính đến {time}", "Figures as of {time} (UTC+7)"),
    "headline": ("Tổng quan", "Headline"),
    "figure": ("Chỉ tiêu", "Figure"),
    "value": ("Số liệu", "Value"),
    "below": ("Chi tiết theo đơn vị cấp dưới", "By unit one level down"),
    "sites": ("Theo cơ sở tiêm chủng", "By vaccination site"),
    "total": ("Tổng", "Total"),
    "not_given": ("(chưa rõ địa bàn)", "(place not given)"),
    "no_site": ("(không ghi cơ sở)", "(no site given)"),
    "progress": ("Tiến độ theo ngày", "Progress by day"),
    "worst": ("Đơn vị có tỷ lệ xác thực thấp nhất", "Units with the lowest share verified"),
    "export": ("Tải Excel", "Download Excel"),
    "reports": ("Báo cáo ngày", "Daily reports"),
    "no_figures": ("Chưa có số liệu.", "No figures yet."),
    "pending": ("Chưa có số liệu cho ngày này — số liệu được tính tự động {minutes} phút một lần; "
                "lần tính gần nhất: {last}.",
                "No figures yet for this day — they are computed every {minutes} minutes; "
                "last run: {last}."),
    "never_run": ("chưa chạy lần nào", "not run yet"),
    "no_reports": ("Chưa có báo cáo ngày nào — báo cáo được lập theo lịch từ số liệu tính {minutes} "
                   "phút một lần; lần tính gần nhất: {last}.",
                   "No daily reports yet — they are made on schedule from figures computed every "
                   "{minutes} minutes; last run: {last}."),
    "computed": ("Cập nhật lúc", "Updated at"),
    "sent_line": ("{sent} mũi đã gửi xác thực, {linked} đã xác thực, {wrong} sai thông tin",
                  "{sent} doses sent, {linked} verified, {wrong} wrong"),
    "level": ("Cấp", "Level"),
    "generated": ("Lập lúc", "Generated at"),
    "download": ("Tải về", "Download"),
    "emailed": ("Đã gửi thư", "E-mailed"),
    "up": ("Lên một cấp", "Up one level"),
    "open_unit": ("Xem chi tiết", "Open"),
    "period": ("Khoảng thời gian", "Period"),
    "period.7": ("7 ngày qua", "Last 7 days"),
    "period.30": ("30 ngày qua", "Last 30 days"),
    "period.phase": ("Đợt: {name}", "Phase: {name}"),
    "period.custom": ("Tự chọn ngày", "Choose dates"),
    "period.from": ("Từ ngày", "From"),
    "period.to": ("Đến ngày", "To"),
    "period.show": ("Xem", "Show"),
    "period.range": ("Từ {start} đến {end}", "From {start} to {end}"),
    "period.bad_date": ("Ngày '{value}' không đúng: viết theo dạng ngày/tháng/năm, ví dụ 05/11/2021.",
                        "The date '{value}' is not right: write it day/month/year, e.g. 05/11/2021."),
    "period.reversed": ("Ngày bắt đầu ({start}) sau ngày kết thúc ({end}): đổi lại hai ngày.",
                        "The start ({start}) is after the end ({end}): swap the two dates."),
    "period.too_long": ("Khoảng thời gian dài quá {days} ngày: chọn khoảng ngắn hơn.",
                        "The period is longer than {days} days: choose a shorter one."),
    "trend": ("Số mũi xác thực mỗi ngày", "Doses verified each day"),
    "trend.verified": ("Khớp ngay", "Verified as entered"),
    "trend.corrected": ("Tự động sửa và khớp", "Corrected and linked"),
    "trend.note": ("Mỗi cột: số mũi được xác thực thêm trong ngày (chênh lệch với ngày trước).",
                   "Each bar: doses verified that day (the change from the day before)."),
    "chart.by_unit": ("Tỷ lệ xác thực theo đơn vị cấp dưới", "Share verified by unit one level down"),
    "chart.levels": ("Xanh: từ 95 %; vàng: 80–95 %; đỏ: dưới 80 %.",
                     "Green: 95% or more; amber: 80–95%; red: below 80%."),
    "code": ("Mã", "Code"),
    "sheet.summary": ("Tổng quan", "Summary"),
    "sheet.below": ("Đơn vị cấp dưới", "Units below"),
    "sheet.sites": ("Cơ sở tiêm", "Vaccination sites"),
    "sheet.table": ("Bảng", "Table"),
    "in_english": ("Tiếng Anh", "English"),
    "mail.subject": ("[vaxlink] Báo cáo ngày {day} – {unit}", "Daily report {day}"),
    "mail.body": ("Báo cáo tiến độ xác thực dữ liệu tiêm chủng của {unit}, ngày {day}.",
                  "Daily verification report of {unit} for {day}."),
}  # fmt: skip


def i18n_strings() -> dict[str, dict[str, str]]:
    """The strings for the web layer's translation table (keys prefixed `reports.`); the app
    factory registers them."""
    vi: dict[str, str] = {}
    en: dict[str, str] = {}
    for group, prefix in ((METRICS, "reports.m."), (LEVELS, "reports.level."), (TEXT, "reports.")):
        for key, (v, e) in group.items():
            vi[prefix + key] = v
            en[prefix + key] = e
    return {"vi": vi, "en": en}


@cache
def _table() -> dict[str, dict[str, str]]:
    return i18n_strings()


def text(lang: str, key: str, /, **values: object) -> str:
    """`reports.<key>` in `lang` as the catalogue has it now (a deployment's installed text
    over the one above), `{name}`s filled: what the daily report's files and mail say."""
    return text_in(_table(), lang, f"reports.{key}", **values)


def current() -> tuple[
    dict[str, tuple[str, str]], dict[str, tuple[str, str]], dict[str, tuple[str, str]]
]:
    """`TEXT`, `METRICS` and `LEVELS` as (Vietnamese, English) pairs from the catalogue, with
    a deployment's installed texts (for the XLSX and PDF of a report)."""
    groups = []
    for group, prefix in ((TEXT, ""), (METRICS, "m."), (LEVELS, "level.")):
        groups.append({k: (text("vi", prefix + k), text("en", prefix + k)) for k in group})
    return groups[0], groups[1], groups[2]


def sheet_name(key: str) -> str:
    """A sheet's name: `reports.sheet.<key>` in Vietnamese, in ASCII (as the files have always
    named their sheets, e.g. "Tong quan"), at most 31 characters, no character Excel refuses."""
    name = ascii_text(text("vi", f"sheet.{key}"))
    return re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or key

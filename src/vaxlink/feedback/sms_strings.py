"""The texts of the SMS the portal and the report queue send (registered with the catalogue).

An SMS carries both languages, Vietnamese first, and goes out as ASCII (`vaxlink.feedback.sms.
bilingual`: marks dropped, so a message stays one 160-character segment); the Vietnamese here is
written with its marks, as a translator reads it."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "feedback.sms.code": "VAXLINK: Mã xác thực {code}, hiệu lực {minutes} phút. "
        "Không đưa mã này cho bất kỳ ai.",
        "feedback.sms.status": "VAXLINK: Phản ánh #{id} {what}. "
        "Tra cứu tại cổng thông tin tiêm chủng.",
        "feedback.sms.status.new": "đã tiếp nhận",
        "feedback.sms.status.assigned": "đã giao cán bộ xử lý",
        "feedback.sms.status.in_progress": "đang xử lý",
        "feedback.sms.status.awaiting_certificate": "đã sửa hồ sơ, chứng nhận chờ cơ sở tiêm ký duyệt",
        "feedback.sms.status.resolved": "đã giải quyết",
        "feedback.sms.status.rejected": "không được chấp nhận",
        "feedback.sms.status.escalated": "đã chuyển lên Trung tâm Y tế huyện",
        "feedback.sms.status.new_certificate": "{what}, đã cấp chứng nhận mới",
    },
    "en": {
        "feedback.sms.code": "Your code: {code}",
        "feedback.sms.status": "Report #{id}: {what}.",
        "feedback.sms.status.new": "new",
        "feedback.sms.status.assigned": "assigned",
        "feedback.sms.status.in_progress": "in progress",
        "feedback.sms.status.awaiting_certificate": "awaiting certificate",
        "feedback.sms.status.resolved": "resolved",
        "feedback.sms.status.rejected": "rejected",
        "feedback.sms.status.escalated": "escalated",
        "feedback.sms.status.new_certificate": "{what}, new certificate issued",
    },
}

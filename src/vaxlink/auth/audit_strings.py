"""The audit log in the reader's words: what each action and object type means, Vietnamese first
(the page shows the label, and the code beside it for the filter)."""

from __future__ import annotations

from typing import Final

_ACTIONS: Final[dict[str, tuple[str, str]]] = {
    "access.denied": ("Bị từ chối truy cập", "Access refused"),
    "audit.view": ("Xem nhật ký kiểm toán", "Viewed the audit log"),
    "auth.login": ("Đăng nhập", "Logged in"),
    "auth.logout": ("Đăng xuất", "Logged out"),
    "user.create": ("Tạo tài khoản", "Account created"),
    "user.disable": ("Khóa tài khoản", "Account disabled"),
    "user.enable": ("Mở lại tài khoản", "Account enabled"),
    "user.password_reset": ("Đặt lại mật khẩu", "Password reset"),
    "user.second_factor_enrol": ("Đăng ký xác thực hai bước", "Second factor enrolled"),
    "worklist.view": ("Xem danh sách cần xác minh", "Viewed the worklist"),
    "worklist.export": ("Tải danh sách ra Excel", "Exported the worklist"),
    "worklist.import": ("Nhập kết quả từ Excel", "Imported decisions from Excel"),
    "dose.view": ("Xem mũi tiêm", "Viewed a dose"),
    "dose.correct": ("Sửa mũi tiêm", "Corrected a dose"),
    "dose.enter": ("Nhập mũi tiêm", "Entered a dose"),
    "dose.enter_unregistered": ("Nhập mũi tiêm ngoài CSDL dân cư", "Entered a dose outside the registry"),
    "dose.decide.confirm": ("Xác nhận người được tiêm", "Confirmed the person"),
    "dose.decide.identity": ("Sửa thông tin nhân thân", "Corrected the identity"),
    "dose.decide.cannot_verify": ("Không xác minh được", "Could not verify"),
    "dose_entry.identify": ("Tra cứu người đến tiêm", "Looked up a person at the vaccination point"),
    "identity.verify": ("Xác minh nhân thân", "Verified an identity"),
    "approval.queue_view": ("Xem danh sách chờ ký", "Viewed the approval queue"),
    "approval.manifest_view": ("Xem biên bản ký", "Viewed an approval manifest"),
    "certificates.approve": ("Ký duyệt mũi tiêm", "Signed doses"),
    "certificates.approve_refused": ("Ký duyệt bị từ chối", "Signing refused"),
    "certificates.reissue_after_approval": ("Cấp lại sau khi ký duyệt", "Reissued after signing"),
    "certificates.renew": ("Gia hạn chứng nhận", "Certificates renewed"),
    "certificate.issue_run": ("Lượt cấp chứng nhận", "Issue run"),
    "certificate.issue_capped": ("Lượt cấp chạm giới hạn", "Issue run capped"),
    "certificate.issue_refused": ("Lượt cấp bị từ chối", "Issue run refused"),
    "certificate.revoke": ("Thu hồi chứng nhận", "Certificate revoked"),
    "certificate.reissue": ("Cấp lại chứng nhận", "Certificate reissued"),
    "recovery.enter": ("Nhập thông tin khỏi bệnh", "Recovery entered"),
    "feedback.citizen.login": ("Người dân đăng nhập", "Citizen logged in"),
    "feedback.citizen.download_pdf": ("Người dân tải chứng nhận PDF", "Citizen downloaded the PDF"),
    "feedback.citizen.download_shc": ("Người dân tải thẻ tiêm chủng cho ví sức khỏe",
                                      "Citizen downloaded the SMART Health Card"),
    "feedback.citizen.view_record": ("Người dân xem hồ sơ", "Citizen viewed the record"),
    "feedback.citizen.view_certificate": ("Người dân xem chứng nhận", "Citizen viewed the certificate"),
    "feedback.attachment.view": ("Xem tệp đính kèm", "Viewed an attachment"),
    "feedback.ticket.create": ("Tạo phản ánh", "Report created"),
    "feedback.ticket.view": ("Xem phản ánh", "Viewed a report"),
    "feedback.ticket.escalate": ("Chuyển phản ánh lên cấp trên", "Report escalated"),
    "feedback.ticket.close_loop": ("Đóng phản ánh", "Report closed"),
    "feedback.ticket.settle_run": ("Xử lý phản ánh chờ chứng nhận", "Reports settled"),
    "feedback.ticket.certificate_settled": ("Phản ánh đã có chứng nhận", "Report settled by a certificate"),
    "feedback.ticket.assigned": ("Nhận xử lý phản ánh", "Report assigned"),
    "feedback.ticket.in_progress": ("Đang xử lý phản ánh", "Report in progress"),
    "feedback.ticket.resolved": ("Giải quyết phản ánh", "Report resolved"),
    "feedback.ticket.rejected": ("Từ chối phản ánh", "Report rejected"),
}  # fmt: skip

_OBJECTS: Final[dict[str, tuple[str, str]]] = {
    "user": ("Tài khoản", "Account"),
    "dose_record": ("Mũi tiêm", "Dose"),
    "worklist": ("Danh sách cần xác minh", "Worklist"),
    "facility": ("Điểm tiêm", "Vaccination site"),
    "facility_approval": ("Biên bản ký", "Approval manifest"),
    "certificate": ("Chứng nhận", "Certificate"),
    "issue_run": ("Lượt cấp", "Issue run"),
    "ticket": ("Phản ánh", "Report"),
    "citizen": ("Người dân", "Citizen"),
    "recovery_record": ("Thông tin khỏi bệnh", "Recovery"),
    "audit_log": ("Nhật ký kiểm toán", "Audit log"),
    "dashboard_unit": ("Bảng số liệu", "Dashboard"),
}  # fmt: skip

STRINGS: Final = {
    lang: {
        **{f"audit.a.{code}": texts[i] for code, texts in _ACTIONS.items()},
        **{f"audit.o.{code}": texts[i] for code, texts in _OBJECTS.items()},
    }
    for i, lang in enumerate(("vi", "en"))
}

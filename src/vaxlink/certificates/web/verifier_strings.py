"""Vietnamese and English strings of the offline verifier (`/verifier`), shown by its script."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "verifier.title": "Kiểm tra chứng nhận (ngoại tuyến)",
        "verifier.intro": "Quét mã QR bằng camera hoặc dán chuỗi của mã QR. Sau lần mở đầu tiên có "
        "mạng, trang này kiểm tra được cả khi không có mạng.",
        "verifier.switch": "English",
        "verifier.no_script": "Trang kiểm tra ngoại tuyến cần JavaScript. Khi có mạng, dùng trang "
        "kiểm tra trực tuyến.",
        "verifier.not_configured": "Máy chủ chưa có chứng thư CSCA: chưa dùng được trang này.",
        "verifier.scan": "Quét bằng camera",
        "verifier.scan_stop": "Dừng quét",
        "verifier.scan_unavailable": "Không mở được camera: hãy dán chuỗi của mã QR.",
        "verifier.paste": "Chuỗi mã QR",
        "verifier.check": "Kiểm tra",
        "verifier.name": "Họ và tên",
        "verifier.transliterated": "Tên (không dấu)",
        "verifier.dob": "Ngày sinh",
        "verifier.trust_from": "Danh sách tin cậy ngày {when}",
        "verifier.trust_none": "Chưa có danh sách tin cậy: hãy mở trang khi có mạng.",
        "verifier.revocations_from": "Danh sách thu hồi ngày {when}",
        "verifier.revocations_none": "Chưa có danh sách thu hồi: hãy mở trang khi có mạng.",
        "verifier.trust_refused": "Danh sách tin cậy mới tải về có chữ ký không hợp lệ và bị từ "
        "chối; vẫn dùng danh sách hợp lệ gần nhất.",
        "verifier.status.UNREAD": "Chưa đọc được mã QR",
        "verifier.status.VALID": "HỢP LỆ",
        "verifier.status.NOT_VALID": "KHÔNG HỢP LỆ",
        "verifier.status.REVOKED": "ĐÃ BỊ THU HỒI",
        "verifier.status.EXPIRED": "HẾT HẠN",
        "verifier.status.UNKNOWN_ISSUER": "KHÔNG RÕ NƠI CẤP",
        "verifier.reason.empty": "Hãy quét mã QR hoặc dán chuỗi của mã QR.",
        "verifier.reason.prefix": "Đây không phải mã QR chứng nhận (phải bắt đầu bằng {hc1} hoặc "
        "{shc}).",
        "verifier.reason.base45": "Chuỗi bị hỏng hoặc không đủ: hãy quét lại toàn bộ mã QR.",
        "verifier.reason.decode": "Không đọc được nội dung: hãy quét lại toàn bộ mã QR.",
        "verifier.reason.cose": "Không đọc được nội dung: hãy quét lại toàn bộ mã QR.",
        "verifier.reason.no_trust_list": "Chưa có danh sách tin cậy: hãy mở trang khi có mạng.",
        "verifier.reason.no_kid": "Chứng nhận không ghi khóa ký.",
        "verifier.reason.unknown_kid": "Khóa ký không có trong danh sách tin cậy.",
        "verifier.reason.algorithm": "Thuật toán chữ ký không được hỗ trợ.",
        "verifier.reason.signature": "Chữ ký số không hợp lệ: chứng nhận đã bị sửa đổi hoặc giả "
        "mạo.",
        "verifier.reason.claims": "Nội dung đã ký không đúng mẫu chứng nhận.",
        "verifier.reason.dsc_validity": "Chứng nhận được ký ngoài thời hạn của khóa ký.",
        "verifier.reason.key_usage": "Khóa ký không được phép ký loại chứng nhận này.",
        "verifier.reason.revoked": "Chứng nhận đã bị thu hồi.",
        "verifier.reason.not_yet_valid": "Chứng nhận chưa có hiệu lực (kiểm tra giờ của máy).",
        "verifier.reason.expired": "Chứng nhận đã hết hạn.",
        "verifier.reason.valid": "Chữ ký số hợp lệ, còn hiệu lực, chưa bị thu hồi.",
    },
    "en": {
        "verifier.title": "Verify a certificate (offline)",
        "verifier.intro": "Scan the QR code with the camera or paste its text. After one visit "
        "online, this page verifies with the network off too.",
        "verifier.switch": "Tiếng Việt",
        "verifier.no_script": "The offline verifier needs JavaScript. Online, use the online verifier page.",
        "verifier.not_configured": "The server has no CSCA certificate: this page cannot be used "
        "yet.",
        "verifier.scan": "Scan with the camera",
        "verifier.scan_stop": "Stop scanning",
        "verifier.scan_unavailable": "The camera cannot be opened: paste the QR code's text.",
        "verifier.paste": "QR code text",
        "verifier.check": "Verify",
        "verifier.name": "Name",
        "verifier.transliterated": "Name (transliterated)",
        "verifier.dob": "Date of birth",
        "verifier.trust_from": "Trust list from {when}",
        "verifier.trust_none": "No trust list yet: open this page once online.",
        "verifier.revocations_from": "Revocation list from {when}",
        "verifier.revocations_none": "No revocation list yet: open this page once online.",
        "verifier.trust_refused": "The trust list just downloaded has an invalid signature and was "
        "refused; the last good one is still used.",
        "verifier.status.UNREAD": "No QR read yet",
        "verifier.status.VALID": "VALID",
        "verifier.status.NOT_VALID": "NOT VALID",
        "verifier.status.REVOKED": "REVOKED",
        "verifier.status.EXPIRED": "EXPIRED",
        "verifier.status.UNKNOWN_ISSUER": "UNKNOWN ISSUER",
        "verifier.reason.empty": "Scan a QR code or paste its text.",
        "verifier.reason.prefix": "This is not a certificate QR code (it must start with {hc1} or "
        "{shc}).",
        "verifier.reason.base45": "The text is damaged or incomplete: scan the whole QR code again.",
        "verifier.reason.decode": "The content cannot be read: scan the whole QR code again.",
        "verifier.reason.cose": "The content cannot be read: scan the whole QR code again.",
        "verifier.reason.no_trust_list": "No trust list yet: open this page once online.",
        "verifier.reason.no_kid": "The certificate names no signing key.",
        "verifier.reason.unknown_kid": "The signing key is not in the trust list.",
        "verifier.reason.algorithm": "The signature algorithm is not supported.",
        "verifier.reason.signature": "The signature is not valid: the certificate was altered or "
        "forged.",
        "verifier.reason.claims": "The signed content is not a certificate.",
        "verifier.reason.dsc_validity": "Signed outside its signing key's validity.",
        "verifier.reason.key_usage": "The signing key may not sign this type of certificate.",
        "verifier.reason.revoked": "The certificate has been revoked.",
        "verifier.reason.not_yet_valid": "The certificate is not valid yet (check the device's "
        "clock).",
        "verifier.reason.expired": "The certificate has expired.",
        "verifier.reason.valid": "The signature is valid; in force and not revoked.",
    },
}

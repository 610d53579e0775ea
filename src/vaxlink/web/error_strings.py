"""What went wrong, in the reader's words, by the error's code (`vaxlink.errors` and each domain's
`errors.py`): a Vietnamese page never shows an error's English message (`i18n.error_text`). An
English page shows the error's own message, which names the exact value; these English texts
are its fallback for errors whose message is not meant for people."""

from __future__ import annotations

from typing import Final

_ERRORS: Final[dict[str, tuple[str, str]]] = {
    "invalid_input": ("Thông tin nhập chưa đúng. Kiểm tra lại các ô rồi gửi lại.",
                      "Something typed is not right. Check the fields and send again."),
    "identity_parse_error": ("Thông tin nhân thân không đọc được. Kiểm tra lại trên giấy tờ của người dân.",
                             "The identity details cannot be read. Check them on the person's papers."),
    "invalid_id_number": ("Số định danh không hợp lệ: CCCD có 12 chữ số, CMND cũ có 9 chữ số (kiểm tra số 0 ở đầu).",
                          "The ID number is not valid: a CCCD has 12 digits, an old CMND 9 (check for a dropped leading 0)."),
    "invalid_date": ("Ngày không hợp lệ: nhập một ngày có thật, dạng ngày/tháng/năm (ví dụ 14/03/1985).",
                     "The date is not valid: type a day that exists, as day/month/year (e.g. 14/03/1985)."),
    "invalid_name": ("Họ tên không dùng được: nhập họ tên như trên giấy tờ.",
                     "The name cannot be used: type it as on the person's papers."),
    "invalid_sex": ("Giới tính phải là Nam hoặc Nữ.", "Sex must be male or female."),
    "invalid_chip_qr": ("Không đọc được mã QR trên CCCD: quét lại hoặc gõ số định danh.",
                        "The ID card's QR cannot be read: scan it again or type the ID number."),
    "not_found": ("Không tìm thấy hồ sơ này.", "This record was not found."),
    "not_in_registry": ("Số định danh không có trong CSDL dân cư: kiểm tra lại trên CCCD của người dân, "
                        "hoặc đánh dấu mũi tiêm là không xác minh được tại đây.",
                        "The ID number is not in the population registry: check it on the person's ID card, "
                        "or mark the dose as not verifiable here."),
    "citizen_not_found": ("Không tìm thấy người dân có số định danh này.", "No citizen has this ID number."),
    "certificate_not_found": ("Không có chứng nhận nào có mã này được cấp tại đây: kiểm tra lại mã chứng nhận.",
                              "No certificate with this identifier was issued here: check the identifier."),
    "uvci_invalid": ("Mã chứng nhận không đúng dạng (`URN:UVCI:…`).", "The certificate identifier is not well formed (`URN:UVCI:…`)."),
    "not_xlsx": ("Tệp không phải tệp Excel .xlsx: tải lên đúng tệp đã tải về từ trang này.",
                 "The file is not an Excel .xlsx file: upload the file downloaded from this page."),
    "photo_missing": ("Chọn ảnh chụp mã QR trên CCCD.", "Choose a photo of the QR code on the ID card."),
    "qr_unreadable": ("Không đọc được mã QR trong ảnh: chụp mã QR ở mặt trước thẻ, thẳng, rõ nét và chiếm "
                      "gần hết ảnh, hoặc gõ số định danh.",
                      "No QR code could be read in the photo: photograph the QR code on the front of the "
                      "card, flat, in focus and filling most of the picture, or type the ID number."),
    "reason_missing": ("Ghi lý do sửa mũi tiêm.", "Say why the dose is corrected (reason)."),
    "choose_a_dose": ("Chọn ít nhất một mũi tiêm để ký.", "Choose at least one dose to sign."),
    "too_many_chosen": ("Mỗi lần chỉ ký tối đa {n} mũi chọn lẻ; để ký tất cả, bấm «Ký tất cả mũi đang chờ».",
                        "Sign at most {n} doses chosen one by one at a time; to sign them all, use «Sign every waiting dose»."),
    "issuance_capped_at": ("Tài khoản đã cấp đủ {cap} chứng nhận cho phép trong ngày (`VAXLINK_ISSUANCE_CAP_PER_DAY`): "
                           "việc cấp đã dừng. Phần còn lại được cấp vào lượt ngày mai, hoặc bởi người cấp khác "
                           "sau khi xem xét.",
                           "This account has issued its {cap} certificates for today (`VAXLINK_ISSUANCE_CAP_PER_DAY`): "
                           "issuance stopped. The rest are issued by a run tomorrow, or by another issuer after review."),
    "lot_missing": ("Nhập số lô in trên lọ vắc xin.", "Type the lot number printed on the vial."),
    "name_no_letters": ("Họ tên phải có chữ (ví dụ Nguyễn Văn An).", "The full name must contain letters."),
    "not_permitted": ("Vai trò của bạn không được sửa thông tin này: trạm y tế xác minh việc tiêm, "
                      "công an xã xác minh nhân thân.",
                      "Your role may not change this: health staff verify vaccination, "
                      "the commune police verify identity."),
    "forbidden": ("Vai trò của bạn không được phép làm việc này.", "Your role may not do this."),
    "out_of_scope": ("Người dân hoặc hồ sơ này thuộc địa bàn khác: do cán bộ của xã, huyện hoặc tỉnh đó xử lý. "
                     "Lần truy cập này đã được ghi nhật ký.",
                     "This person or record belongs to another area: the staff of that commune, district or "
                     "province handle it. This attempt was logged."),
    "conflict": ("Hồ sơ vừa được người khác thay đổi: tải lại trang rồi thử lại.",
                 "The record was just changed by someone else: reload the page and try again."),
    "edit_conflict": ("Hồ sơ vừa được người khác thay đổi: tải lại trang rồi thử lại.",
                      "The record was just changed by someone else: reload the page and try again."),
    "cannot_undo": ("Không thể hủy: thay đổi gần nhất của mũi tiêm này không phải là một quyết định của công an xã.",
                    "Nothing to undo: the dose's last change is not a police decision."),
    "needs_second_step": ("Ứng viên có điểm khác với bản ghi: kiểm tra CCCD rồi xác nhận lại.",
                          "The candidate disagrees with the record: check the ID card, then confirm again."),
    "account_invalid": ("Thông tin tài khoản chưa đúng: kiểm tra tên đăng nhập, vai trò và đơn vị (ví dụ `ward:00001`).",
                        "The account details are not right: check the user name, role and unit (e.g. `ward:00001`)."),
    "recovery_invalid": ("Thông tin khỏi bệnh chưa đúng: kiểm tra số định danh và ngày dương tính.",
                         "The recovery details are not right: check the ID number and the date of the positive test."),
    "entry_invalid": ("Thông tin mũi tiêm chưa đúng: kiểm tra vắc xin, số lô, mũi và ngày tiêm.",
                      "The dose details are not right: check the vaccine, lot, dose and date."),
    "dose_already_on_record": ("Mũi tiêm này đã có trên hệ thống (cùng người, cùng ngày tiêm): không nhập bổ sung lần nữa.",
                               "This dose is already on record (the same person, the same day): it is not entered again."),
    "entry_not_allowed": ("Không nhập được mũi tiêm này tại đây.", "This dose cannot be entered here."),
    "no_vaccination_site": ("Tài khoản chưa gắn với điểm tiêm nào: nhờ quản trị viên gắn điểm tiêm.",
                            "This account has no vaccination site: ask an administrator to set one."),
    "registry_unavailable": ("Không kết nối được CSDL dân cư: thử lại sau ít phút.",
                             "The population registry cannot be reached: try again in a few minutes."),
    "facility_not_found": ("Không có điểm tiêm này trong danh mục.", "This vaccination site is not in the list."),
    "facility_invalid": ("Thông tin điểm tiêm chưa đúng.", "The vaccination site's details are not right."),
    "file_rejected": ("Tệp không dùng được: dùng đúng tệp Excel đã tải từ trang này.",
                      "The file cannot be used: upload the Excel file downloaded from this page."),
    "sheet_not_found": ("Tệp Excel thiếu trang cần có: dùng đúng tệp đã tải từ trang này.",
                        "The workbook lacks the expected sheet: upload the file downloaded from this page."),
    "workbook_too_large": ("Tệp Excel quá lớn.", "The workbook is too large."),
    "transition_invalid": ("Phản ánh đang ở trạng thái không cho phép việc này.",
                           "The report's status does not allow this."),
    "dose_transition_invalid": ("Mũi tiêm đang ở trạng thái không cho phép việc này.",
                                "The dose's status does not allow this."),
    "issuance_invalid": ("Không cấp được chứng nhận với thông tin này.", "No certificate can be issued from this."),
    "issuance_conflict": ("Đang có một lượt cấp khác: chờ lượt đó xong.", "Another issue run is going on: wait for it."),
    "issuance_capped": ("Đã đạt giới hạn cấp trong ngày.", "The day's issuing limit is reached."),
    "approval_error": ("Không ký duyệt được bằng khóa ký hiện có của điểm tiêm: nhờ người quản lý khóa kiểm tra.",
                       "The site's approval key cannot sign: ask the key custodian to check it."),
    "qr_not_found": ("Không thấy mã QR trong ảnh: chụp lại rõ, thẳng và đủ mã.",
                     "No QR code was found in the photo: take it again, sharp, straight and whole."),
    "signing_refused": ("Tài khoản này không giữ khóa ký của điểm tiêm.", "This account holds no site signing key."),
    "signing_locked": ("Nhập sai mật khẩu ký quá nhiều lần: thử lại sau ít phút.",
                       "Too many wrong signing passphrases: try again in a few minutes."),
    "signing_passphrase_wrong": ("Mật khẩu ký không đúng.", "The signing passphrase is wrong."),
    "too_many_requests": ("Thử quá nhiều lần: vui lòng chờ ít phút rồi thử lại.",
                          "Too many attempts: wait a few minutes and try again."),
    "too_many_attempts": ("Thử quá nhiều lần: vui lòng chờ ít phút rồi thử lại.",
                          "Too many attempts: wait a few minutes and try again."),
    "geo_unknown_unit": ("Không có đơn vị hành chính này.", "There is no such administrative unit."),
    "geo_invalid": ("Mã đơn vị hành chính không đúng.", "The administrative unit code is not valid."),
}  # fmt: skip

STRINGS: Final = {
    lang: {f"error.{code}": texts[i] for code, texts in _ERRORS.items()}
    for i, lang in enumerate(("vi", "en"))
}

"""Vietnamese and English strings of the district health centre's signing page."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "district.nav": "Ký danh sách huyện",
        "district.title": "Ký số danh sách người đã tiêm của huyện",
        "district.intro": "Trung tâm y tế huyện {district} ký số toàn bộ danh sách mũi tiêm đã "
        "xác thực của người cư trú trong huyện, đã được điểm tiêm ký duyệt (theo hướng dẫn "
        "2665/SYT-NVY). Chỉ người có mọi mũi tiêm trong danh sách đã ký mới được cấp chứng nhận.",
        "district.verified": "Mũi tiêm đã xác thực của người cư trú: {n}",
        "district.by_commune": "Theo xã/phường và điểm tiêm",
        "district.commune": "Xã/phường",
        "district.site": "Điểm tiêm",
        "district.doses": "Mũi đã xác thực",
        "district.site_signed": "Đã được điểm tiêm ký",
        "district.last": "Lần ký trước: #{id}, {n} mũi, lúc {at}, bởi {by}",
        "district.never": "Huyện chưa ký danh sách lần nào.",
        "district.since": "Thay đổi từ lần ký trước: {added} mũi mới, {changed} mũi đã sửa, "
        "{removed} mũi không còn trong danh sách",
        "district.note": "Ghi chú (không bắt buộc)",
        "district.passphrase": "Mật khẩu ký của tài khoản",
        "district.passphrase_help": "Mật khẩu ký mở khóa ký của huyện, khác mật khẩu đăng nhập. "
        "Nhập sai nhiều lần sẽ bị tạm khóa ký.",
        "district.sign": "Ký số danh sách",
        "district.signed": "Đã ký danh sách #{id}: {n} mũi tiêm. Còn {waiting} mũi đã xác thực "
        "đang chờ điểm tiêm ký duyệt.",
        "district.nothing": "Không có mũi nào để ký: chưa có mũi đã xác thực nào của người cư "
        "trú được điểm tiêm ký duyệt ({waiting} mũi đang chờ).",
        "district.running": "Đang ký danh sách #{id}: đã ghi {n} mũi tiêm. Trang tự cập nhật; có "
        "thể rời trang, việc ký vẫn tiếp tục.",
        "district.in_progress": "Danh sách của huyện đang được ký; chờ lần ký đó xong rồi xem kết "
        "quả trên trang này.",
        "district.failed": "Lần ký vừa rồi không hoàn thành, danh sách chưa được ký và không có gì "
        "được lưu. Thử ký lại; nếu vẫn lỗi, báo quản trị viên.",
        "district.passphrase_missing": "Nhập mật khẩu ký để ký danh sách.",
        "district.passphrase_wrong": "Sai mật khẩu ký: khóa ký chưa được mở, danh sách chưa được "
        "ký.",
        "district.passphrase_locked": "Tạm khóa ký do nhập sai mật khẩu ký nhiều lần; thử lại sau "
        "ít phút.",
        "district.no_key": "Tài khoản này chưa giữ khóa ký của huyện: đề nghị Bộ Y tế cấp khóa "
        "(`vaxlink keys issue-district`) hoặc người đang giữ khóa chia sẻ (`vaxlink keys grant-district`).",
        "district.not_yours": "Tài khoản chỉ được ký danh sách của huyện mình; yêu cầu đã bị từ "
        "chối và ghi nhật ký.",
    },
    "en": {
        "district.nav": "District list signature",
        "district.title": "Sign the district's list of vaccinated residents",
        "district.intro": "The district health centre of {district} signs the whole list of its "
        "residents' verified doses that their vaccination sites have approved (HCMC DoH "
        "2665/SYT-NVY). Only people all of whose doses are on a signed list get a certificate.",
        "district.verified": "Verified doses of residents: {n}",
        "district.by_commune": "By commune and vaccination site",
        "district.commune": "Commune",
        "district.site": "Vaccination site",
        "district.doses": "Verified doses",
        "district.site_signed": "Signed by the site",
        "district.last": "Last signature: #{id}, {n} doses, at {at}, by {by}",
        "district.never": "The district has not signed a list yet.",
        "district.since": "Since the last signature: {added} new doses, {changed} corrected, "
        "{removed} no longer on the list",
        "district.note": "Note (optional)",
        "district.passphrase": "The account's signing passphrase",
        "district.passphrase_help": "The signing passphrase unlocks the district's key; it is not "
        "the login password. Too many wrong ones lock signing for a while.",
        "district.sign": "Sign the list",
        "district.signed": "List #{id} signed: {n} doses. {waiting} verified doses still wait for "
        "their site's approval.",
        "district.nothing": "Nothing to sign: no verified dose of a resident is approved by its "
        "site yet ({waiting} waiting).",
        "district.running": "Signing list #{id}: {n} doses written so far. The page updates "
        "itself; you may leave it, the signing goes on.",
        "district.in_progress": "The district's list is being signed; wait for that signing to "
        "finish and see its result on this page.",
        "district.failed": "The last signing did not finish: the list is not signed and nothing was "
        "kept. Sign again; if it fails again, tell the administrator.",
        "district.passphrase_missing": "Enter the signing passphrase to sign the list.",
        "district.passphrase_wrong": "Wrong signing passphrase: the key was not unlocked and "
        "nothing was signed.",
        "district.passphrase_locked": "Signing is locked after too many wrong passphrases; try "
        "again in a few minutes.",
        "district.no_key": "This account holds no wrap of the district's key: ask the issuer for "
        "one (vaxlink keys issue-district) or a holder to share it (grant-district).",
        "district.not_yours": "An account signs only its own district's list; the request was "
        "refused and logged.",
    },
}

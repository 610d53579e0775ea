"""Vietnamese and English strings of the login pages, the staff shell and role names."""

from __future__ import annotations

from vaxlink.auth.roles import Permission, Role

ROLE_NAMES = {
    "vi": {
        Role.HEALTH_STATION: "Trạm y tế xã",
        Role.COMMUNE_POLICE: "Công an xã",
        Role.COMMUNE_COMMITTEE: "UBND xã",
        Role.SITE_APPROVER: "Cơ sở tiêm chủng (duyệt)",
        Role.DISTRICT_HEALTH: "Trung tâm y tế huyện",
        Role.PROVINCIAL_CDC: "CDC tỉnh",
        Role.NATIONAL_ISSUER: "Cấp chứng nhận quốc gia",
        Role.ADMIN: "Quản trị hệ thống",
    },
    "en": {
        Role.HEALTH_STATION: "Commune health station",
        Role.COMMUNE_POLICE: "Commune police",
        Role.COMMUNE_COMMITTEE: "Commune people's committee",
        Role.SITE_APPROVER: "Vaccination site approver",
        Role.DISTRICT_HEALTH: "District health centre",
        Role.PROVINCIAL_CDC: "Provincial CDC",
        Role.NATIONAL_ISSUER: "National certificate issuer",
        Role.ADMIN: "System administrator",
    },
}

PERMISSION_NAMES = {
    "vi": {
        Permission.WORKLIST_VIEW: "Xem danh sách cần làm sạch và hồ sơ liên quan",
        Permission.IDENTITY_CORRECT: "Sửa thông tin định danh (họ tên, ngày sinh, giới tính, số CCCD)",
        Permission.VACCINATION_CORRECT: "Sửa thông tin tiêm chủng (vắc xin, lô, ngày, mũi, cơ sở)",
        Permission.IDENTITY_TYPE_VERIFIED: "Nhập sửa định danh theo danh sách công an đã xác minh",
        Permission.DOSE_BACKFILL: "Nhập bổ sung mũi tiêm đã tiêm nhưng chưa nhập (có chứng cứ)",
        Permission.DOSE_ENTER: "Nhập mũi tiêm tại điểm tiêm (bắt đầu từ định danh)",
        Permission.APPROVE: "Duyệt và ký số các mũi tiêm đã xác thực của cơ sở",
        Permission.TICKET_WORK: "Xử lý phản ánh của người dân",
        Permission.DASHBOARD_VIEW: "Xem tiến độ của đơn vị",
        Permission.REPORT_VIEW: "Xem báo cáo hằng ngày",
        Permission.RECOVERY_ENTER: "Nhập thông tin khỏi bệnh COVID-19 của người dân trong xã",
        Permission.CERTIFICATE_ISSUE: "Cấp, thu hồi và cấp lại chứng nhận",
        Permission.AUDIT_VIEW: "Xem nhật ký kiểm toán",
        Permission.USER_ADMIN: "Quản lý tài khoản",
    },
    "en": {
        Permission.WORKLIST_VIEW: "See worklists and the records behind them",
        Permission.IDENTITY_CORRECT: "Correct identity (name, date of birth, sex, ID number)",
        Permission.VACCINATION_CORRECT: "Correct vaccination facts (vaccine, lot, date, dose, site)",
        Permission.IDENTITY_TYPE_VERIFIED: "Type identity fixes from a police-verified list",
        Permission.DOSE_BACKFILL: "Enter doses given but never entered (with their evidence)",
        Permission.DOSE_ENTER: "Enter doses at the vaccination point (identity first)",
        Permission.APPROVE: "Review and sign the site's verified doses",
        Permission.TICKET_WORK: "Work citizens' reports",
        Permission.DASHBOARD_VIEW: "See the unit's progress",
        Permission.REPORT_VIEW: "See daily reports",
        Permission.RECOVERY_ENTER: "Enter residents' recoveries from COVID-19",
        Permission.CERTIFICATE_ISSUE: "Issue, revoke and re-issue certificates",
        Permission.AUDIT_VIEW: "Read the audit log",
        Permission.USER_ADMIN: "Manage accounts",
    },
}

STRINGS = {
    "vi": {
        "common.app": "vaxlink",
        "common.switch_language": "English",
        "common.logout": "Đăng xuất",
        "common.home": "Trang chính",
        "common.menu": "Chức năng",
        "common.skip": "Bỏ qua đến nội dung",
        "auth.login.title": "Đăng nhập",
        "auth.login.intro": "Dành cho cán bộ y tế, công an và UBND xã, cơ sở tiêm chủng.",
        "auth.login.username": "Tên đăng nhập",
        "auth.login.password": "Mật khẩu",
        "auth.login.submit": "Đăng nhập",
        "auth.login.failed": "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đã bị khóa.",
        "auth.login.locked": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút hoặc liên hệ quản trị viên.",
        "auth.login.expired": "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.",
        "auth.totp.title": "Xác thực hai bước",
        "auth.totp.intro": "Nhập mã 6 chữ số trong ứng dụng xác thực trên điện thoại.",
        "auth.totp.code": "Mã xác thực",
        "auth.totp.submit": "Xác nhận",
        "auth.totp.failed": "Mã không đúng hoặc đã dùng. Vui lòng thử mã mới.",
        "auth.totp.enrol_title": "Bật xác thực hai bước",
        "auth.totp.enrol_intro": "Quét mã QR bằng ứng dụng xác thực (Google Authenticator, Microsoft Authenticator…), rồi nhập mã 6 chữ số để xác nhận.",
        "auth.totp.secret": "Hoặc nhập khóa thủ công",
        "auth.totp.enrolled": "Đã bật xác thực hai bước cho tài khoản này.",
        "auth.totp.recommended": "Vai trò của bạn cần xác thực hai bước. Hãy bật ngay.",
        "auth.totp.enable": "Bật xác thực hai bước",
        "auth.totp.required": "Vai trò của bạn bắt buộc xác thực hai bước. Hãy bật ngay để tiếp tục đăng nhập.",
        "auth.home.title": "Trang chính",
        "auth.home.hello": "Xin chào, {name}",
        "auth.home.role": "Vai trò",
        "auth.home.unit": "Đơn vị",
        "auth.home.facility": "Cơ sở tiêm chủng",
        "auth.home.can": "Bạn có thể",
        "auth.home.open": "Mở",
        "auth.home.soon": "chưa có trang",
        "auth.home.waiting": "{n} đang chờ",
        "auth.error.title": "Không thực hiện được",
        "auth.error.forbidden": "Vai trò của bạn không được phép làm việc này.",
        "auth.error.out_of_scope": "Hồ sơ này thuộc địa bàn khác; bạn chỉ làm việc với hồ sơ trong địa bàn của mình. Lần truy cập này đã được ghi nhật ký.",
        "auth.error.csrf_rejected": "Biểu mẫu đã hết hạn hoặc không đến từ trang này. Vui lòng tải lại trang rồi thử lại.",
        "auth.error.back": "Quay lại trang chính",
    },
    "en": {
        "common.app": "vaxlink",
        "common.switch_language": "Tiếng Việt",
        "common.logout": "Log out",
        "common.home": "Home",
        "common.menu": "Menu",
        "common.skip": "Skip to content",
        "auth.login.title": "Log in",
        "auth.login.intro": "For commune health, police and committee staff and vaccination sites.",
        "auth.login.username": "User name",
        "auth.login.password": "Password",
        "auth.login.submit": "Log in",
        "auth.login.failed": "The user name or the password is wrong, or the account is disabled.",
        "auth.login.locked": "Too many failed logins. Try again in {minutes} minute(s) or ask your administrator.",
        "auth.login.expired": "Your session has ended. Please log in again.",
        "auth.totp.title": "Two-step verification",
        "auth.totp.intro": "Enter the 6-digit code from the authenticator app on your phone.",
        "auth.totp.code": "Code",
        "auth.totp.submit": "Confirm",
        "auth.totp.failed": "The code is wrong or was already used. Try a new code.",
        "auth.totp.enrol_title": "Turn on two-step verification",
        "auth.totp.enrol_intro": "Scan the QR code with an authenticator app (Google Authenticator, Microsoft Authenticator…), then enter its 6-digit code to confirm.",
        "auth.totp.secret": "Or type the key by hand",
        "auth.totp.enrolled": "Two-step verification is on for this account.",
        "auth.totp.recommended": "Your role needs two-step verification. Please turn it on now.",
        "auth.totp.enable": "Turn on two-step verification",
        "auth.totp.required": "Your role requires two-step verification. Turn it on now to finish logging in.",
        "auth.home.title": "Home",
        "auth.home.hello": "Hello, {name}",
        "auth.home.role": "Role",
        "auth.home.unit": "Unit",
        "auth.home.facility": "Vaccination site",
        "auth.home.can": "You can",
        "auth.home.open": "Open",
        "auth.home.soon": "no page yet",
        "auth.home.waiting": "{n} waiting",
        "auth.error.title": "This cannot be done",
        "auth.error.forbidden": "Your role may not do this.",
        "auth.error.out_of_scope": "This record belongs to another area; you work only with records of your own area. This attempt was logged.",
        "auth.error.csrf_rejected": "The form has expired or did not come from this site. Reload the page and try again.",
        "auth.error.back": "Back to the home page",
    },
}


def catalog() -> dict[str, dict[str, str]]:
    """The auth strings, role names (`role.<role>`) and permission names, for the app factory."""
    out: dict[str, dict[str, str]] = {lang: dict(entries) for lang, entries in STRINGS.items()}
    for lang, roles in ROLE_NAMES.items():
        out.setdefault(lang, {}).update({f"role.{r.value}": n for r, n in roles.items()})
    for lang, permissions in PERMISSION_NAMES.items():
        out.setdefault(lang, {}).update(
            {f"permission.{p.value}": n for p, n in permissions.items()}
        )
    return out

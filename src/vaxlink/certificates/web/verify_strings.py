"""Vietnamese and English reasons the verifier page (`/verify`) gives for each refusal code, and
the names of the three certificate forms it reads (EU DCC, WHO DDCC:VS, SMART Health Card), shown as data."""

from __future__ import annotations

from typing import Final

#: code -> (Vietnamese, English): what a border officer reads under NOT VALID.
_REASONS: Final[dict[str, tuple[str, str]]] = {
    "prefix_invalid": (
        "Đây không phải chuỗi chứng nhận (phải bắt đầu bằng {hc1} hoặc {shc}).",
        "This is not a certificate text (it must start with {hc1} or {shc}).",
    ),
    "base45_invalid": ("Chuỗi chứng nhận bị hỏng (ký tự không hợp lệ).",
                       "The certificate text is damaged (invalid characters)."),
    "numeric_invalid": ("Chuỗi chứng nhận bị hỏng (chữ số không hợp lệ).",
                        "The certificate text is damaged (invalid digits)."),
    "jws_malformed": ("Chuỗi chứng nhận bị hỏng hoặc không đúng dạng.",
                      "The certificate text is damaged or not of the expected form."),
    "decompression_failed": ("Chuỗi chứng nhận bị hỏng.", "The certificate text is damaged."),
    "truncated": ("Chuỗi chứng nhận bị cắt ngắn: hãy quét lại toàn bộ mã QR.",
                  "The certificate text is cut off: scan the whole QR code again."),
    "input_too_large": ("Chuỗi quá dài để là một chứng nhận.",
                        "The text is too long to be a certificate."),
    "payload_too_large": ("Nội dung quá lớn để là một chứng nhận.",
                          "The content is too large to be a certificate."),
    "decode_error": ("Nội dung chứng nhận không đọc được.", "The certificate cannot be read."),
    "cbor_invalid": ("Nội dung chứng nhận không đọc được.", "The certificate cannot be read."),
    "cose_malformed": ("Nội dung chứng nhận không đọc được.", "The certificate cannot be read."),
    "claims_invalid": ("Nội dung chứng nhận không đọc được.", "The certificate cannot be read."),
    "unknown_kid": ("Chứng nhận được ký bằng khoá không có trong danh sách tin cậy.",
                    "The certificate is signed with a key that is not on the trust list."),
    "signature_invalid": ("Chữ ký số không hợp lệ: chứng nhận đã bị sửa đổi hoặc giả mạo.",
                          "The signature is not valid: the certificate was altered or forged."),
    "unsupported_algorithm": ("Thuật toán chữ ký không được chấp nhận.",
                              "The signature algorithm is not accepted."),
    "expired": ("Chứng nhận đã hết hạn.", "The certificate has expired."),
    "not_yet_valid": ("Chứng nhận chưa có hiệu lực.", "The certificate is not valid yet."),
    "dsc_validity_invalid": ("Chứng nhận được ký ngoài thời hạn của khoá ký.",
                             "The certificate was signed outside its signing key's validity."),
    "key_usage_invalid": ("Khoá ký không được phép ký loại chứng nhận này.",
                          "The signing key may not sign this type of certificate."),
    "revoked": ("Chứng nhận đã bị thu hồi.", "The certificate has been revoked."),
    "schema_invalid": ("Nội dung chứng nhận không đúng mẫu EU DCC.",
                       "The certificate content does not follow the EU DCC schema."),
    "value_set_invalid": ("Nội dung chứng nhận có mã không hợp lệ.",
                          "The certificate content holds a code that is not valid."),
    "health_data_invalid": (
        "Nội dung đã ký thiếu họ tên, ngày sinh hoặc thông tin mũi tiêm.",
        "The signed content lacks the name, date of birth or vaccination.",
    ),
    "qr_not_found": ("Không đọc được mã QR trong ảnh: chụp lại rõ, thẳng và đủ mã.",
                     "No QR code could be read from the photo: take it again, sharp, straight "
                     "and whole."),
    "internal_error": ("Không kiểm tra được lúc này: hãy thử lại sau.",
                       "The certificate cannot be checked now: try again later."),
}  # fmt: skip

#: The names of the three forms (proper names, the same in both languages), shown as data.
FORMS: Final[dict[str, str]] = {
    "dcc": "EU DCC",
    "ddcc": "WHO DDCC:VS",
    "shc": "SMART Health Card",
}
#: What the prefix reason's placeholders name (the texts' context identifiers).
PREFIXES: Final[dict[str, str]] = {"hc1": "HC1:", "shc": "shc:/"}

STRINGS: Final[dict[str, dict[str, str]]] = {
    lang: {
        **{f"verify.reason.{code}": texts[i] for code, texts in _REASONS.items()},
        "verify.format": ("Loại chứng nhận", "Certificate form")[i],
        "verify.photo.choose": ("Chọn hoặc chụp ảnh…", "Choose or take a photo…")[i],
        "verify.photo.none": ("Chưa chọn ảnh nào.", "No photo chosen.")[i],
        "verify.reason.other": (
            "Chứng nhận không qua được bước kiểm tra này.",
            "The certificate failed this check.",
        )[i],
    }
    for i, lang in enumerate(("vi", "en"))
}

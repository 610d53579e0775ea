"""The verifier web page: paste an HC1 text or upload a photo of the QR, see valid or not and why.

Vietnamese first, English with `?lang=en`. The certificate travels only in the POST body, so no
personal data reaches URLs or access logs; results are sent with `Cache-Control: no-store`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vaxlink.certificates.verification.store import KeyStoreTrust
from vaxlink.certificates.web.deps import clock, submitted, trust_source, verify_in_store
from vaxlink.ratelimit.web import seconds_to_wait
from vaxlink.web.deps import session
from vaxlink.web.i18n import has, translate
from vaxlink.web.render import vn_date

TEMPLATES: Final = Jinja2Templates(directory=Path(__file__).parents[2] / "web" / "templates")
LANGUAGES: Final = ("vi", "en")

TEXT: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "title": "Kiểm tra chứng nhận tiêm chủng",
        "intro": "Dán chuỗi HC1 của mã QR, hoặc chụp ảnh mã QR để kiểm tra chứng nhận.",
        "paste": "Chuỗi HC1",
        "photo": "Ảnh mã QR",
        "check": "Kiểm tra",
        "valid": "HỢP LỆ",
        "invalid": "KHÔNG HỢP LỆ",
        "valid_note": "Chữ ký số hợp lệ, chứng nhận còn hiệu lực và chưa bị thu hồi.",
        "step": "Bước kiểm tra",
        "not_authentic": "Chữ ký không được xác minh: không hiển thị nội dung.",
        "fields": "Nội dung chứng nhận",
        "expires": "Hết hạn",
        "switch": "English",
        "privacy": "Trang này không lưu và không ghi nhật ký nội dung chứng nhận.",
        "too_many": "Bạn đã kiểm tra quá nhiều lần. Vui lòng thử lại sau {seconds} giây.",
    },
    "en": {
        "title": "Verify a vaccination certificate",
        "intro": "Paste the HC1 text of the QR code, or take a photo of the QR code.",
        "paste": "HC1 text",
        "photo": "Photo of the QR code",
        "check": "Verify",
        "valid": "VALID",
        "invalid": "NOT VALID",
        "valid_note": "The signature is valid, the certificate is in force and not revoked.",
        "step": "Failed step",
        "not_authentic": "The signature was not verified: its content is not shown.",
        "fields": "Certificate content",
        "expires": "Expires",
        "switch": "Tiếng Việt",
        "privacy": "This page neither stores nor logs certificate content.",
        "too_many": "Too many checks from this address. Please try again in {seconds} seconds.",
    },
}

#: Vietnamese reasons for the failures people meet; others show the English message.
REASONS_VI: Final[dict[str, str]] = {
    "prefix_invalid": "Đây không phải chuỗi chứng nhận (phải bắt đầu bằng HC1:).",
    "base45_invalid": "Chuỗi chứng nhận bị hỏng (ký tự không hợp lệ).",
    "decompression_failed": "Chuỗi chứng nhận bị hỏng.",
    "truncated": "Chuỗi chứng nhận bị cắt ngắn: hãy quét lại toàn bộ mã QR.",
    "input_too_large": "Chuỗi quá dài để là một chứng nhận.",
    "cbor_invalid": "Nội dung chứng nhận không đọc được.",
    "cose_malformed": "Nội dung chứng nhận không đọc được.",
    "claims_invalid": "Nội dung chứng nhận không đọc được.",
    "unknown_kid": "Chứng nhận được ký bằng khoá không có trong danh sách tin cậy.",
    "signature_invalid": "Chữ ký số không hợp lệ: chứng nhận đã bị sửa đổi hoặc giả mạo.",
    "expired": "Chứng nhận đã hết hạn.",
    "not_yet_valid": "Chứng nhận chưa có hiệu lực.",
    "revoked": "Chứng nhận đã bị thu hồi.",
    "schema_invalid": "Nội dung chứng nhận không đúng mẫu EU DCC.",
    "qr_not_found": "Không đọc được mã QR trong ảnh: chụp lại rõ, thẳng và đủ mã.",
}
#: The Vietnamese reason of a failure without its own (its code is shown beside it).
REASON_VI_OTHER: Final = "Chứng nhận không qua được bước kiểm tra này."
#: Fields whose value is a date (`YYYY-MM-DD`), shown as DD/MM/YYYY.
DATE_FIELDS: Final = frozenset(
    {"date_of_birth", "vaccination_date", "first_positive", "valid_from", "valid_until"}
)


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else "vi"


def _page(
    request: Request, lang: str, result: dict[str, Any] | None, *, retry_after: int = 0
) -> HTMLResponse:
    reason = None
    if result is not None and result["failure"] is not None:
        code = result["failure"]["code"]
        reason = (REASONS_VI.get(code) or REASON_VI_OTHER) if lang == "vi" else None
        reason = reason or result["failure"]["message"]
    context = {
        "lang": lang,
        "other": "en" if lang == "vi" else "vi",
        "t": TEXT[lang],
        "result": result,
        "reason": reason,
        "expires": _day(result.get("expires_at")) if result else None,
        "too_many": TEXT[lang]["too_many"].format(seconds=retry_after) if retry_after else None,
        "label": lambda field: _label(lang, field),
        "shown": lambda field: (
            vn_date(field["value"]) if field["key"] in DATE_FIELDS else field["value"]
        ),
    }
    status = 429 if retry_after else 200
    response = TEMPLATES.TemplateResponse(request, "verify.html", context, status_code=status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _label(lang: str, field: dict[str, str]) -> str:
    """A certificate field's label in `lang` (the display's English label if it has none)."""
    key = f"dcc.f.{field['key']}"
    return translate(lang, key) if has(lang, key) else field["label"]


def _day(value: str | None) -> str | None:
    return datetime.fromisoformat(value).strftime("%d/%m/%Y") if value else None


router = APIRouter(tags=["verifier page"], include_in_schema=False)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request, lang: Annotated[str | None, Query(max_length=2)] = None
) -> HTMLResponse:
    """The empty verifier form."""
    return _page(request, _lang(lang), None)


@router.post("/verify", response_class=HTMLResponse)
async def verify_page_submit(
    request: Request,
    wait: Annotated[int, Depends(seconds_to_wait("certificates.verify"))],
    db: Annotated[Session, Depends(session, scope="function")],
    trust: Annotated[KeyStoreTrust, Depends(trust_source)],
    now: Annotated[datetime, Depends(clock)],
) -> HTMLResponse:
    """The form with the verification result; past the rate limit, the form with a wait notice
    (429, `Retry-After`), the upload left unread."""
    if wait:
        return _page(request, _lang(request.query_params.get("lang")), None, retry_after=wait)
    text, image, fields = await submitted(request)
    result = await run_in_threadpool(verify_in_store, db, trust, now, text, image)
    return _page(request, _lang(fields.get("lang") or request.query_params.get("lang")), result)

"""The verifier web page: paste the text of a certificate's QR (an EU DCC or WHO DDCC:VS `HC1:`,
a SMART Health Card `shc:/`) or upload a photo of it, see valid or not and why (the reasons are
the catalogue's, `verify_strings`).

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

from vaxlink.certificates.core.hc1 import MAX_TEXT_LENGTH
from vaxlink.certificates.verification.store import KeyStoreTrust
from vaxlink.certificates.web.deps import clock, submitted, trust_source, verify_in_store
from vaxlink.certificates.web.verify_strings import FORMS, PREFIXES
from vaxlink.ratelimit.web import seconds_to_wait
from vaxlink.web.deps import session
from vaxlink.web.i18n import has, translate
from vaxlink.web.render import vn_date

TEMPLATES: Final = Jinja2Templates(directory=Path(__file__).parents[2] / "web" / "templates")
LANGUAGES: Final = ("vi", "en")

TEXT: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "title": "Kiểm tra chứng nhận tiêm chủng",
        "intro": "Dán chuỗi của mã QR hoặc chụp ảnh mã QR để kiểm tra chứng nhận. Các dạng đọc "
        "được:",
        "paste": "Chuỗi mã QR",
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
        "intro": "Paste the text of the QR code, or take a photo of the QR code, to check the "
        "certificate. Forms read:",
        "paste": "QR code text",
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

#: Fields whose value is a date (`YYYY-MM-DD`), shown as DD/MM/YYYY.
DATE_FIELDS: Final = frozenset(
    {"date_of_birth", "vaccination_date", "first_positive", "valid_from", "valid_until"}
)


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else "vi"


def _page(
    request: Request,
    lang: str,
    result: dict[str, Any] | None,
    *,
    retry_after: int = 0,
    submitted_text: str = "",
) -> HTMLResponse:
    reason = None
    if result is not None and result["failure"] is not None:
        reason = _reason(lang, result["failure"])
    context = {
        "lang": lang,
        "other": "en" if lang == "vi" else "vi",
        "t": TEXT[lang],
        "result": result,
        "reason": reason,
        "expires": _day(result.get("expires_at")) if result else None,
        "too_many": TEXT[lang]["too_many"].format(seconds=retry_after) if retry_after else None,
        "label": lambda field: _label(lang, field),
        "form_label": translate(lang, "verify.format"),
        "photo_choose": translate(lang, "verify.photo.choose"),
        "photo_none": translate(lang, "verify.photo.none"),
        "submitted_text": submitted_text,
        "form": FORMS.get(result.get("format") or "") if result and result["authentic"] else None,
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


def _reason(lang: str, failure: dict[str, str]) -> str:
    """The catalogue's reason for a refusal code; for a code it lacks, in Vietnamese a general
    reason (the code is shown beside it), in English the refusal's own message."""
    key = f"verify.reason.{failure['code']}"
    if has(lang, key):
        return translate(lang, key, **PREFIXES)
    return translate(lang, "verify.reason.other") if lang == "vi" else failure["message"]


def _label(lang: str, field: dict[str, str]) -> str:
    """A certificate field's label in `lang` (the display's English label if it has none)."""
    key = f"dcc.f.{field['key']}"
    return translate(lang, key) if has(lang, key) else field["label"]


def _refill(text: str | None, result: dict[str, Any]) -> str:
    """What goes back into the text box after a refusal, so the officer can correct it: the text
    as submitted, cut at the longest text a QR code holds (verification refuses longer ones
    unread). Nothing after a valid result. The template escapes it."""
    if not text or result["valid"]:
        return ""
    return text[:MAX_TEXT_LENGTH]


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
    lang = _lang(fields.get("lang") or request.query_params.get("lang"))
    return _page(request, lang, result, submitted_text=_refill(text, result))

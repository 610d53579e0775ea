"""CSRF protection, security headers, the language cookie, and auth errors as pages or problems.

CSRF: every POST/PUT/PATCH/DELETE outside `/api/` must carry the page's token, in the form field
`csrf_token` or the `X-CSRF-Token` header (htmx sends it: staff/base.html sets `hx-headers`).
With a session cookie the token is HMAC-SHA256(session token, "csrf"), bound to the login;
without one it is a random value kept in the HttpOnly `vaxlink_csrf` cookie (double submit).
Same-origin is also required of the `Origin` header when the browser sends one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse, Response

from vaxlink.auth.deps import SESSION_COOKIE
from vaxlink.auth.errors import CsrfRejected, Forbidden, Unauthenticated
from vaxlink.auth.policy import csrf_exempt
from vaxlink.web import i18n
from vaxlink.web.problems import problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE: Final = "vaxlink_csrf"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Largest form body read for the token check; `BodyLimitMiddleware` refuses bigger ones first.
MAX_FORM_BODY: Final = 64 * 1024 * 1024
#: Routes that take files (route paths as requested, `*` any run): their bodies may reach
#: `Settings.max_upload_body_bytes`; every other body `Settings.max_form_body_bytes`.
UPLOAD_ROUTES: Final = (
    "/worklist/import",  # Excel round-trip (cleaning.excel.MAX_FILE)
    "/c/report",  # a citizen's report with its photos (attachment_max_bytes each)
    "/entry/*",  # dose entry with the photo of an ID card or a vaccination card
    "/verify",  # a photo of a QR code
    "/api/v1/certificates/verify",
)
CSP: Final = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; worker-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The API explorer (vendored Swagger UI) starts with an inline script; it carries no data.
NO_CSP_PATHS: Final = ("/docs",)


def csrf_for_session(session_token: str) -> str:
    """The CSRF token bound to a session token."""
    return hmac.new(session_token.encode(), b"vaxlink-csrf", hashlib.sha256).hexdigest()


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, http_only: bool = True
) -> str:
    """A Set-Cookie value: Path=/, SameSite=Lax, HttpOnly and Secure as asked."""
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def wants_html(request: Request) -> bool:
    """A browser navigation (not an API client, not htmx)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and request.headers.get("hx-request") != "true"


def safe_next(raw: str | None) -> str:
    """A same-site relative path to go to after login, else "/"."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return "/"
    return raw


class BodyTooLarge(Exception):
    """A request body went past its route's cap while being read."""


class BodyLimitMiddleware:
    """Caps request bodies before anything parses them (issue #13 point 6): a declared
    Content-Length over the route's cap is refused with 413 without reading a byte, and a body
    sent without one (chunked) is counted as it streams in and refused once it passes the cap.
    Uploads (`UPLOAD_ROUTES`) get the larger cap, everything else the form cap."""

    def __init__(self, app: ASGIApp, *, form_cap: int, upload_cap: int) -> None:
        self.app = app
        self.form_cap = form_cap
        self.upload_cap = upload_cap

    def cap_for(self, path: str) -> int:
        from fnmatch import fnmatchcase

        uploads = any(fnmatchcase(path, pattern) for pattern in UPLOAD_ROUTES)
        return self.upload_cap if uploads else self.form_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = Request(scope).headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, send, cap)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, cap)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        megabytes = max(1, cap // (1024 * 1024))
        detail = (
            f"the request is larger than this page accepts ({megabytes} MB); "
            "send a smaller file or fewer files at a time"
        )
        response = problem(413, "RequestTooLarge", detail, "request_too_large",
                           {"connection": "close", "cache-control": "no-store"})  # fmt: skip
        await response(scope, receive, send)


class SecurityMiddleware:
    """CSRF check on unsafe methods, the CSRF and language cookies, and security headers."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool = False) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        secure = self.secure_cookies or is_https(scope)
        session_token = request.cookies.get(SESSION_COOKIE)
        new_cookies: list[str] = []
        if session_token:
            token = csrf_for_session(session_token)
        else:
            token = request.cookies.get(CSRF_COOKIE) or ""
            if len(token) < 32:
                token = secrets.token_urlsafe(32)
                new_cookies.append(cookie_header(CSRF_COOKIE, token, secure=secure))
        scope.setdefault("state", {})["csrf_token"] = token
        asked = i18n.query_language(request)
        if asked and asked != request.cookies.get(i18n.COOKIE):
            new_cookies.append(
                cookie_header(i18n.COOKIE, asked, secure=secure, max_age=365 * 86400)
            )

        if request.method in UNSAFE and not csrf_exempt(scope["path"]):
            body, refusal = await self._check_csrf(request, receive, token)
            if refusal is not None:
                await self._send_refusal(scope, receive, send, request, refusal)
                return
            receive = _replay(body, receive) if body is not None else receive

        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for cookie in new_cookies:
                    headers.append("set-cookie", cookie)
                if not path.startswith(NO_CSP_PATHS):
                    headers.setdefault("content-security-policy", CSP)
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault(
                    "permissions-policy", "camera=(self), geolocation=(), microphone=()"
                )
                if not path.startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _check_csrf(
        self, request: Request, receive: Receive, expected: str
    ) -> tuple[bytes | None, str | None]:
        origin = request.headers.get("origin")
        if origin and origin != "null":
            host = request.headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return None, "the request came from another site"
        sent = request.headers.get(CSRF_HEADER)
        body: bytes | None = None
        if sent is None:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_FORM_BODY:
                    return None, "the form is too large to check; send the X-CSRF-Token header"
                chunks = []
                size = 0
                while True:
                    message = await receive()
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > MAX_FORM_BODY:
                        return None, "the form is too large to check"
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
                body = b"".join(chunks)
                form_request = Request(request.scope, _replay(body, receive))
                async with form_request.form() as form:
                    value = form.get(CSRF_FIELD)
                    sent = value if isinstance(value, str) else None
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            return body, "the form has expired or did not come from this site; reload the page"
        return body, None

    async def _send_refusal(
        self, scope: Scope, receive: Receive, send: Send, request: Request, reason: str
    ) -> None:
        exc = CsrfRejected(reason)
        response: Response
        if "text/html" in request.headers.get("accept", ""):
            from vaxlink.web.render import render

            response = render(request, "error.html", {"status": 403, "error": exc}, status=403)
        else:
            response = problem(403, "CsrfRejected", reason, exc.code)
        response.headers["cache-control"] = "no-store"
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: FastAPI) -> None:
    """Add the middleware and the handlers that turn auth errors into redirects or pages (their
    strings are auth's, registered by the app factory)."""
    from vaxlink.web.render import render

    app.add_middleware(
        SecurityMiddleware,  # type: ignore[arg-type]
        secure_cookies=bool(getattr(app.state.settings, "secure_cookies", False)),
    )
    config = app.state.settings
    app.add_middleware(
        BodyLimitMiddleware,  # type: ignore[arg-type]  # outside the CSRF check: it caps first
        form_cap=int(getattr(config, "max_form_body_bytes", 1 << 20)),
        upload_cap=int(getattr(config, "max_upload_body_bytes", 32 << 20)),
    )

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = f"/login?next={quote(safe_next(target), safe='')}"
        if request.method in ("GET", "HEAD") and wants_html(request):
            return RedirectResponse(login, status_code=303)
        headers = {"HX-Redirect": login} if request.headers.get("hx-request") == "true" else None
        return problem(401, "Unauthenticated", str(exc), exc.code, headers)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if wants_html(request):
            return render(request, "error.html", {"status": exc.http_status, "error": exc},
                          status=exc.http_status)  # fmt: skip
        return problem(exc.http_status, type(exc).__name__, str(exc), exc.code)

"""RFC 9457 problem details: every VaxlinkError becomes application/problem+json with its code.

This is the one error-to-HTTP mapping; the table of meanings is in `vaxlink.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from vaxlink.errors import VaxlinkError

PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """A problem-details response."""
    body = {"type": f"https://vaxlink.dev/problems/{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}  # fmt: skip
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


#: HTTP statuses a browser may meet, as the codes of their messages (`auth.error.<code>`).
_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


@dataclass(frozen=True)
class PageError:
    """What the error page shows: the message's code (`auth.error.<code>`) and the status."""

    code: str
    status: int


def _for_people(request: Request) -> bool:
    """A person's browser asked for a page (not an API client, not htmx, not under /api/)."""
    from vaxlink.web.security import wants_html

    return wants_html(request) and not request.url.path.startswith("/api/")


def _page(request: Request, error: PageError, headers: Mapping[str, str] | None = None) -> Response:
    from vaxlink.web.render import render

    return render(request, "error.html", {"status": error.status, "error": error},
                  status=error.status, headers=headers)  # fmt: skip


def install(app: FastAPI) -> None:
    """Map domain errors and request validation errors to problem details; a browser navigating
    to a page gets the error as a page in its language instead (a mistyped address, a form that
    was not sent whole), never raw JSON."""

    @app.exception_handler(VaxlinkError)
    async def _domain(request: Request, exc: VaxlinkError) -> Response:
        # Status and code come from the error's meaning (vaxlink.errors), headers from the error
        # itself (WWW-Authenticate on a 401, Retry-After on a 429).
        if _for_people(request):
            return _page(request, PageError(exc.code, exc.http_status), exc.headers)
        return problem(exc.http_status, type(exc).__name__, str(exc), exc.code, exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        from vaxlink.web.security import wants_html

        if wants_html(request):  # also under /api/: a mistyped address in a browser gets a page
            return _page(request, PageError(_HTTP_CODES.get(exc.status_code, "other"),
                                            exc.status_code), headers)  # fmt: skip
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _for_people(request):
            return _page(request, PageError("invalid_request", 422))
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem(422, "InvalidRequest", "the request is not valid", "invalid_request",
                       errors=errors)  # fmt: skip

"""RFC 9457 problem details: every VaxlinkError becomes application/problem+json with its code.

This is the one error-to-HTTP mapping; the table of meanings is in `vaxlink.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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


def install(app: FastAPI) -> None:
    """Map domain errors and request validation errors to problem details."""

    @app.exception_handler(VaxlinkError)
    async def _domain(_request: Request, exc: VaxlinkError) -> JSONResponse:
        # Status and code come from the error's meaning (vaxlink.errors), headers from the error
        # itself (WWW-Authenticate on a 401, Retry-After on a 429).
        return problem(exc.http_status, type(exc).__name__, str(exc), exc.code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem(422, "InvalidRequest", "the request is not valid", "invalid_request",
                       errors=errors)  # fmt: skip

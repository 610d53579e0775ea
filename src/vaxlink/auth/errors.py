"""Auth errors, mapped to RFC 9457 problems (401/403/429) by `vaxlink.web.problems`.

The meanings (status, exit code) are the generic ones of `vaxlink.errors`; these refine them.
"""

from __future__ import annotations

from vaxlink import errors
from vaxlink.errors import InvalidInput, VaxlinkError


class AuthError(VaxlinkError):
    """Root of the auth errors."""


class Unauthenticated(errors.Unauthenticated, AuthError):
    """No valid login (missing, expired or revoked session, or wrong credentials)."""


class Forbidden(errors.Forbidden, AuthError):
    """The account's role does not allow this."""


class OutOfScope(Forbidden):
    """The thing lies outside the account's administrative unit (the refusal is audited)."""

    code = "out_of_scope"


class CsrfRejected(Forbidden):
    """A form or htmx request without the page's CSRF token."""

    code = "csrf_rejected"


class TooManyAttempts(errors.TooManyRequests, AuthError):
    """Login refused for a while after too many failures."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}


class AccountError(InvalidInput):
    """An account cannot be created or changed as asked."""

    code = "account_invalid"

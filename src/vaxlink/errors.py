"""The single error root; each domain's errors.py derives from these."""

from __future__ import annotations


class VaxlinkError(Exception):
    """Base of every error vaxlink raises on purpose; `str()` is a message a person can act on."""

    #: HTTP status used at the web edge (RFC 9457 problem details).
    http_status: int = 400
    #: Process exit code used at the CLI edge.
    exit_code: int = 1
    #: Short machine-readable code, stable across releases.
    code: str = "error"


class NotFound(VaxlinkError):
    """A thing that was asked for does not exist (or is outside the caller's scope)."""

    http_status = 404
    exit_code = 3
    code = "not_found"


class Conflict(VaxlinkError):
    """The request contradicts the current state (duplicate, stale version, bad transition)."""

    http_status = 409
    exit_code = 4
    code = "conflict"


class InvalidInput(VaxlinkError):
    """Input that cannot be used as given."""

    http_status = 422
    exit_code = 2
    code = "invalid_input"

"""The single error root and its generic meanings; each domain's errors.py derives from these.

One meaning, one class here, one HTTP status and one exit code. A domain error refines a meaning
by deriving from its class (its own `code`, message, headers), never by changing the status or
exit code; `tests/test_errors.py` walks every subclass in the package and holds them to that.

Exit codes of the `vaxlink` command (the web edge maps the same classes to HTTP problems):

====  ==================================================  =====================  ====
exit  meaning                                             raised as              HTTP
====  ==================================================  =====================  ====
0     done                                                -                      -
1     any other error (a domain's own, e.g. a bad         VaxlinkError           400+
      signature, a render failure, a dependency down)
2     input that cannot be used as given (also            InvalidInput           422
      command-line usage errors)
3     the thing asked for does not exist                  NotFound               404
4     the request contradicts the current state           Conflict               409
5     done, but some rows were refused or quarantined     EXIT_ROWS_REFUSED      -
6     the account may not do this                         Forbidden              403
7     too many requests or attempts: try again later      TooManyRequests        429
8     no valid login, session or client token             Unauthenticated        401
9     the audit log's hash chain is broken                EXIT_AUDIT_TAMPERED    -
10    a service it depends on did not answer: try again   Unavailable            503
      later (the registry, a PKCS#11 token, the audit
      writer, a trust source)
130   interrupted (Ctrl-C)                                EXIT_INTERRUPTED       -
====  ==================================================  =====================  ====

A domain error outside the meanings above keeps exit 1 and may set its own HTTP status (400+);
a dependency that is down is `Unavailable` (503, exit 10), never exit 1 or another meaning's. `NotInRegistry` is an `InvalidInput` (422, exit 2): the
ID a person typed is not one the population registry holds, a fault in the input, not a
missing page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Self

#: Exit codes that are not errors (see the table above).
EXIT_OK: Final = 0
EXIT_ROWS_REFUSED: Final = 5
EXIT_AUDIT_TAMPERED: Final = 9
EXIT_INTERRUPTED: Final = 130


class VaxlinkError(Exception):
    """Base of every error vaxlink raises on purpose; `str()` is a message a person can act on."""

    #: HTTP status used at the web edge (RFC 9457 problem details).
    http_status: int = 400
    #: Process exit code used at the CLI edge.
    exit_code: int = 1
    #: Short machine-readable code, stable across releases.
    code: str = "error"
    #: Extra response headers at the web edge (`WWW-Authenticate`, `Retry-After`).
    headers: Mapping[str, str] | None = None
    #: The key of its message to people in the web's catalogues, when it has one of its own
    #: (`vaxlink.web.i18n.error_text`; else pages tell the meaning of its `code`).
    key: str | None = None
    #: The `{name}`s of that message.
    values: Mapping[str, object] | None = None

    def keyed(self, key: str, /, **values: object) -> Self:
        """This error with its message to people: `raise EntryError("…").keyed("error.x")`."""
        self.key, self.values = key, values
        return self


class InvalidInput(VaxlinkError):
    """Input that cannot be used as given."""

    http_status = 422
    exit_code = 2
    code = "invalid_input"


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


class Forbidden(VaxlinkError):
    """The caller is known, but its role or scope does not allow this."""

    http_status = 403
    exit_code = 6
    code = "forbidden"


class TooManyRequests(VaxlinkError):
    """Refused for a while after too many requests or attempts; `Retry-After` says how long."""

    http_status = 429
    exit_code = 7
    code = "too_many_requests"


class Unauthenticated(VaxlinkError):
    """No valid login, session or client token (missing, expired, revoked or wrong)."""

    http_status = 401
    exit_code = 8
    code = "unauthenticated"


class Unavailable(VaxlinkError):
    """A service vaxlink depends on did not answer (registry, PKCS#11 token, audit writer, trust
    source); nothing was changed, try again later."""

    http_status = 503
    exit_code = 10
    code = "unavailable"


class NotInRegistry(InvalidInput):
    """An ID number a person typed is not in the population registry."""

    code = "not_in_registry"


#: The generic meanings, each with its own exit code (checked by tests/test_errors.py).
MEANINGS: Final = (
    VaxlinkError,
    InvalidInput,
    NotFound,
    Conflict,
    Forbidden,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)

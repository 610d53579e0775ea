"""Routes open without a staff login, each with the reason; everything else must `require(...)`.

`tests/auth/test_access_matrix.py` fails when a route is neither listed here nor protected.
Patterns are route paths as declared (`{param}` kept), `*` matching any run of characters.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Final

PUBLIC_ROUTES: Final[dict[str, str]] = {
    "/healthz": "liveness for load balancers; no data",
    "/openapi.json": "API description; no data",
    "/docs": "API explorer (developer tool); no data",
    "/docs/oauth2-redirect": "API explorer helper; no data",
    "/static": "CSS, images and vendored scripts",
    "/login": "the login form itself",
    "/login/second-factor": "second step of a login; needs the first step's pending session",
    "/login/enrol": "second-factor enrolment a role that requires one goes through before its "
    "first login; needs the first step's pending session",
    "/logout": "ends whatever session the cookie names",
    "/verify": "public certificate verifier page (anyone holding a QR)",
    "/verifier": "offline verifier web app (#18): the page, verifies in the browser; no data",
    "/verifier/*": "offline verifier web app: its manifest and service worker; no data",
    "/api/v1/certificates/verify": "public certificate verification API",
    "/api/v1/certificates/trust-list": "signed public trust list",
    "/api/v1/certificates/revocations": "public revocation list",
    "/.well-known/jwks.json": "SMART Health Cards issuer keys (public keys only)",
    "/.well-known/crl/*": "SMART Health Cards revocation lists (revocation ids only)",
    "/c": "citizen portal lookup form (vaxlink.feedback.pages); no data",
    "/c/*": "citizen portal: one-time-code lookup, then its own citizen session cookie "
    "(checked by vaxlink.feedback.pages.citizen_id), never a staff login",
}

#: Routes authenticated by something other than a staff session (an API client token).
TOKEN_ROUTES: Final[dict[str, str]] = {
    "/api/v1/citizens/certificate": "citizen-app API (ID number in the body): per-client bearer "
    "token, quota, access record and audit in vaxlink.certificates.web.api.open_access",
    "/api/v1/citizens/{ref}/certificate*": "citizen-app API (opaque person reference): per-client "
    "bearer token, quota, access record and audit in vaxlink.certificates.web.api.open_access",
    "/api/v1/certificates/changes": "partner change feed: client bearer token with the "
    "changes:read scope, quota and audit in vaxlink.certificates.web.api.certificate_changes",
    "/api/v1/identity/verify": "partner-system API: client bearer token with the "
    "identity:verify scope, rate-limited per address (vaxlink.linkage.api)",
}

#: Unsafe-method routes outside /api/ exempt from the CSRF check, with the reason.
CSRF_EXEMPT: Final[dict[str, str]] = {
    "/verify": "anonymous and stateless: verifying a certificate changes nothing",
}


def _matches(table: dict[str, str], path: str) -> bool:
    return any(fnmatchcase(path, pattern) for pattern in table)


def is_public(path: str) -> bool:
    """Whether the declared route path is open without a staff login."""
    return _matches(PUBLIC_ROUTES, path) or _matches(TOKEN_ROUTES, path)


def csrf_exempt(path: str) -> bool:
    """Whether a request path skips the CSRF check (JSON APIs under /api/ and listed pages)."""
    return path.startswith("/api/") or path in CSRF_EXEMPT

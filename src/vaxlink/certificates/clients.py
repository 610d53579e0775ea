"""Citizen applications (PC-COVID, VNeID, the electronic health book) and their bearer tokens.

Each client is limited in what it may do (`scopes`), which fields it may read (`full`: the whole
certificate, its PDF and FHIR; `minimal`: name, date of birth and validity only), which
certificate kinds (`v` vaccination, `r` recovery), until when (`expires_at`) and how often (its
own requests a minute, else the setting). A request beyond that is `ClientScopeExceeded` (403)
and is audited. Every request reads the client row afresh: a revoked or rotated token stops
working with the next request (nothing caches it).

A token is 32 random bytes (base64url, prefixed `vxl_`), shown once. Only its SHA-256 is stored:
with 256 bits of entropy a fast hash is as safe as a slow one, and a lookup stays one index probe.
Every certificate fetch is recorded (client, citizen, document, time), never logged, and
audited by the person's opaque reference. Each token has a quota of requests a minute
(`ClientQuota`, store counters shared by every worker; 429 with Retry-After beyond it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from vaxlink.catalogue import text_in
from vaxlink.certificates.client_strings import STRINGS as NAME_STRINGS
from vaxlink.certificates.errors import (
    CertificateNotFound,
    Forbidden,
    TransitionInvalid,
    Unauthenticated,
)
from vaxlink.certificates.models import ApiClient, CertificateAccess, CertificateKind
from vaxlink.errors import Conflict, InvalidInput, TooManyRequests
from vaxlink.ratelimit import Limit, StoreCounters, secret_of
from vaxlink.settings import Settings

TOKEN_PREFIX: Final = "vxl_"  # noqa: S105 - a label, not a secret
READ_CERTIFICATES: Final = "certificates:read"
#: Partner systems (vaccination apps) asking "who is this person?" of the identity API.
VERIFY_IDENTITY: Final = "identity:verify"
#: The change feed (`GET /api/v1/certificates/changes`) and pushes of it.
READ_CHANGES: Final = "changes:read"
SCOPES: Final = frozenset({READ_CERTIFICATES, VERIFY_IDENTITY, READ_CHANGES})
FULL: Final = "full"
MINIMAL: Final = "minimal"
FIELDS: Final = (FULL, MINIMAL)
KINDS: Final = tuple(k.value for k in CertificateKind)
#: `last_used_at` is written at most this often (not one write per request on the client row).
_TOUCH_EVERY: Final = timedelta(minutes=1)
_PUSH_URL: Final = re.compile(r"https?://[^\s/?#]+(/[^\s#]*)?")
#: The longest client name, in characters (the column's width; the messages say 64).
NAME_LIMIT: Final = 64
#: Besides letters and digits of any script (`str.isalnum`, after NFC), what a name may hold.
_NAME_MARKS: Final = frozenset(" ._-()&")
#: What a spreadsheet would read as the start of a formula (`vaxlink.tabular`), also "-".
_FORMULA_START: Final = frozenset("=+-@")
_TOKEN: Final = re.compile(r"vxl_[A-Za-z0-9_-]{43}")


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a token, as stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    """A fresh client token: `vxl_` and 32 random bytes in base64url."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def _kinds(kinds: Iterable[str]) -> str:
    wanted = sorted({k.strip() for k in kinds if k.strip()})
    if not wanted or set(wanted) - set(KINDS):
        raise InvalidInput(f"kinds must be among {list(KINDS)} (v vaccination, r recovery)")
    return " ".join(wanted)


def client_name(name: str) -> str:
    """A client name as stored and looked up: Unicode NFC (one code point per Vietnamese letter,
    whichever way the keyboard composed it), surrounding spaces dropped (a tab or line break is
    kept, and refused)."""
    return unicodedata.normalize("NFC", name).strip(" ")


def client_name_problem(name: str) -> str | None:
    """The catalogue key of what is wrong with a client name (already `client_name`d), or None:
    1-64 letters and digits of any script (Vietnamese with its marks), spaces and `. _ - ( ) &`;
    no control characters, markup or other symbols; not starting like a spreadsheet formula
    (`= + - @`) or with anything but a letter, digit or "("."""
    if len(name) > NAME_LIMIT:
        return "partners.err.name_long"
    if not name:
        return "partners.err.name"
    if name[0] in _FORMULA_START:
        return "partners.err.name_start"
    if any(not (c.isalnum() or c in _NAME_MARKS) for c in name):
        return "partners.err.name"
    if not (name[0].isalnum() or name[0] == "("):
        return "partners.err.name_start"
    return None


def is_client_name(name: str) -> bool:
    """Whether `name` (as typed) is a valid client name (`client_name_problem`)."""
    return client_name_problem(client_name(name)) is None


def _checked_name(name: str) -> str:
    """The name as stored, or `InvalidInput` with the catalogue's message (English text, key)."""
    name = client_name(name)
    problem = client_name_problem(name)
    if problem is not None:
        raise InvalidInput(text_in(NAME_STRINGS, "en", problem)).keyed(problem)
    return name


def is_push_url(url: str) -> bool:
    """Whether `url` is a valid push address (http(s), at most 500 characters)."""
    return bool(_PUSH_URL.fullmatch(url.strip())) and len(url) <= 500


def _push_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    if not _PUSH_URL.fullmatch(url.strip()) or len(url) > 500:
        raise InvalidInput("a push address is an http(s) URL of at most 500 characters")
    return url.strip()


def add_client(
    session: Session,
    name: str,
    *,
    by: str,
    now: datetime,
    scopes: Iterable[str] = (READ_CERTIFICATES,),
    fields: str = FULL,
    kinds: Iterable[str] = KINDS,
    expires_at: datetime | None = None,
    per_minute: int | None = None,
    push_url: str | None = None,
) -> tuple[ApiClient, str]:
    """Register a client application; returns it and its token (the only time the token exists)."""
    name = _checked_name(name)
    wanted = sorted(set(scopes))
    unknown = set(wanted) - SCOPES
    if unknown or not wanted:
        raise InvalidInput(f"scopes must be among {sorted(SCOPES)}")
    if fields not in FIELDS:
        raise InvalidInput(f"fields must be one of {list(FIELDS)}")
    if per_minute is not None and not 1 <= per_minute <= 100_000:
        raise InvalidInput("requests a minute must be between 1 and 100000")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise InvalidInput("the expiry must be a time in the future, with its time zone")
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise Conflict(f"a client named {name!r} already exists")
    token = new_token()
    client = ApiClient(
        name=name,
        token_hash=token_hash(token),
        scopes=" ".join(wanted),
        active=True,
        created_at=now,
        created_by=by,
        fields=fields,
        kinds=_kinds(kinds),
        per_minute=per_minute,
        expires_at=expires_at,
        push_url=_push_url(push_url),
        push_cursor=0,
        push_attempts=0,
    )
    session.add(client)
    session.flush()
    return client, token


def get_client(session: Session, name: str) -> ApiClient:
    """The client of that name (locked for update on PostgreSQL)."""
    name = client_name(name)
    client = session.scalar(select(ApiClient).where(ApiClient.name == name).with_for_update())
    if client is None:
        raise CertificateNotFound(f"no client named {name!r}")
    return client


def list_clients(session: Session) -> list[ApiClient]:
    """Every client, active first, by name."""
    return list(session.scalars(select(ApiClient).order_by(ApiClient.active.desc(),
                                                           ApiClient.name)))  # fmt: skip


def deactivate_client(
    session: Session, name: str, *, by: str = "", now: datetime | None = None
) -> ApiClient:
    """Stop a client's token from working at once (the row and its access history stay)."""
    client = get_client(session, name)
    if not client.active:
        raise TransitionInvalid(f"client {name!r} is already inactive")
    client.active = False
    client.revoked_at = now
    client.revoked_by = by or None
    session.flush()
    return client


def rotate_client(session: Session, name: str, *, now: datetime) -> tuple[ApiClient, str]:
    """Give an active client a new token; the old one is refused from the commit on."""
    client = get_client(session, name)
    if not client.active:
        raise TransitionInvalid(f"client {name!r} is revoked; add a new client instead")
    token = new_token()
    client.token_hash = token_hash(token)
    client.rotated_at = now
    session.flush()
    return client, token


def push_secret(client: ApiClient, key: bytes) -> str:
    """The HMAC key the client's pushes are signed with: derived from the server's secret and
    the client's current token hash, so it is never stored, and a rotation replaces it too."""
    digest = hmac.new(key, f"vaxlink-push|{client.token_hash}".encode(), hashlib.sha256)
    return "vxs_" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def authenticate(
    session: Session, authorization: str | None, *, scope: str, now: datetime | None = None
) -> ApiClient:
    """The active, unexpired client whose bearer token is in the `Authorization` header value.
    Read from the store on every call: a revocation or rotation holds from its commit on."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        raise Unauthenticated("send `Authorization: Bearer <token>` with a client token")
    client = session.scalar(select(ApiClient).where(ApiClient.token_hash == token_hash(token)))
    if client is None or not client.active:
        raise Unauthenticated("the client token is unknown or no longer active")
    if now is not None and client.expires_at is not None and client.expires_at <= now:
        raise Unauthenticated("the client token has expired; ask for a new one")
    if scope not in client.scopes.split():
        raise ClientScopeExceeded(f"this client may not use {scope}", client_id=client.id)
    if now is not None and (client.last_used_at is None
                            or now - client.last_used_at >= _TOUCH_EVERY):  # fmt: skip
        client.last_used_at = now
    return client


def client_kinds(client: ApiClient) -> frozenset[str]:
    """The certificate kinds the client may read."""
    return frozenset(client.kinds.split())


def require_kind(client: ApiClient, kind: CertificateKind) -> None:
    """Refuse a certificate kind the client may not read."""
    if kind.value not in client_kinds(client):
        raise ClientScopeExceeded(
            f"this client may not read {kind.name.lower()} certificates (kind {kind.value!r})",
            reason="kind",
            client_id=client.id,
        )


def require_full(client: ApiClient, document: str) -> None:
    """Refuse a document carrying more than name, date of birth and validity to a minimal
    client (the HC1 text, the PDF and the FHIR Bundle each hold the whole certificate)."""
    if client.fields != FULL:
        raise ClientScopeExceeded(
            f"this client may read the minimal fields only, not the {document} document",
            reason="fields",
            client_id=client.id,
        )


def record_access(
    session: Session, client: ApiClient, ref: str, document: str, *, now: datetime
) -> None:
    """Keep who fetched whose certificate (the person's reference, not the ID number), which
    document, and when (one INSERT on the table: every partner fetch writes one, and the ORM's
    unit of work would cost several times it)."""
    session.execute(_RECORD_ACCESS, {"client_id": client.id, "person_ref": ref,
                                     "document": document, "accessed_at": now})  # fmt: skip


_RECORD_ACCESS: Final = insert(cast(Table, CertificateAccess.__table__))


class ClientScopeExceeded(Forbidden):
    """A client asked for more than its scopes, fields or kinds allow."""

    code = "client_scope_exceeded"

    def __init__(
        self, message: str, *, reason: str = "scope", client_id: int | None = None
    ) -> None:
        super().__init__(message)
        #: scope, kind or fields: what was beyond the client's scope (audited).
        self.reason = reason
        self.client_id = client_id


class ClientQuotaExceeded(TooManyRequests):
    """A client token made more requests this minute than its quota."""

    code = "client_quota_exceeded"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"this client token has used its requests for this minute; try again in "
            f"{retry_after} seconds (VAXLINK_PARTNER_REQUESTS_PER_MINUTE)"
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True, slots=True)
class ClientQuota:
    """Requests a client token may make in a fixed minute (the store limiter, per client)."""

    per_minute: int
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientQuota:
        return cls(settings.partner_requests_per_minute, secret_of(settings))

    def take(self, session: Session, client: ApiClient, *, now: datetime) -> int:
        """Count one request of `client` against its own quota (else the default): 0 when it
        may go ahead, else whole seconds to wait. The count is flushed; the caller commits it
        even when refusing."""
        per_minute = client.per_minute or self.per_minute
        limit = Limit("client", per_minute, timedelta(minutes=1))
        wait = StoreCounters(session, limit, secret=self.secret, now=now).take(str(client.id))
        return math.ceil(wait)

"""Citizen applications (PC-COVID, VNeID, the electronic health book) and their bearer tokens.

A token is 32 random bytes (base64url, prefixed `vxl_`), shown once. Only its SHA-256 is stored:
with 256 bits of entropy a fast hash is as safe as a slow one, and a lookup stays one index probe.
Every certificate fetch is recorded (client, citizen, document, time), never logged, and
audited by the person's opaque reference. Each token has a quota of requests a minute
(`ClientQuota`, store counters shared by every worker; 429 with Retry-After beyond it).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from vaxlink.certificates.errors import (
    CertificateNotFound,
    Forbidden,
    TransitionInvalid,
    Unauthenticated,
)
from vaxlink.certificates.models import ApiClient, CertificateAccess
from vaxlink.errors import Conflict, InvalidInput, TooManyRequests
from vaxlink.ratelimit import Limit, StoreCounters, secret_of
from vaxlink.settings import Settings

TOKEN_PREFIX: Final = "vxl_"  # noqa: S105 - a label, not a secret
READ_CERTIFICATES: Final = "certificates:read"
#: Partner systems (vaccination apps) asking "who is this person?" of the identity API.
VERIFY_IDENTITY: Final = "identity:verify"
SCOPES: Final = frozenset({READ_CERTIFICATES, VERIFY_IDENTITY})
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_TOKEN: Final = re.compile(r"vxl_[A-Za-z0-9_-]{43}")


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a token, as stored."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    """A fresh client token: `vxl_` and 32 random bytes in base64url."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def add_client(
    session: Session,
    name: str,
    *,
    by: str,
    now: datetime,
    scopes: Iterable[str] = (READ_CERTIFICATES,),
) -> tuple[ApiClient, str]:
    """Register a client application; returns it and its token (the only time the token exists)."""
    if not _NAME.fullmatch(name):
        raise InvalidInput("a client name is 1-64 letters, digits, spaces, '.', '_' or '-'")
    wanted = sorted(set(scopes))
    unknown = set(wanted) - SCOPES
    if unknown or not wanted:
        raise InvalidInput(f"scopes must be among {sorted(SCOPES)}")
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
    )
    session.add(client)
    session.flush()
    return client, token


def deactivate_client(session: Session, name: str) -> ApiClient:
    """Stop a client's token from working (the row and its access history stay)."""
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise CertificateNotFound(f"no client named {name!r}")
    if not client.active:
        raise TransitionInvalid(f"client {name!r} is already inactive")
    client.active = False
    session.flush()
    return client


def authenticate(session: Session, authorization: str | None, *, scope: str) -> ApiClient:
    """The active client whose bearer token is in the `Authorization` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        raise Unauthenticated("send `Authorization: Bearer <token>` with a client token")
    client = session.scalar(select(ApiClient).where(ApiClient.token_hash == token_hash(token)))
    if client is None or not client.active:
        raise Unauthenticated("the client token is unknown or no longer active")
    if scope not in client.scopes.split():
        raise Forbidden(f"this client may not use {scope}")
    return client


def record_access(
    session: Session, client: ApiClient, citizen_id: str, document: str, *, now: datetime
) -> None:
    """Keep who fetched whose certificate, which document, and when (one INSERT on the table:
    every partner fetch writes one, and the ORM's unit of work would cost several times it)."""
    session.execute(_RECORD_ACCESS, {"client_id": client.id, "citizen_id": citizen_id,
                                     "document": document, "accessed_at": now})  # fmt: skip


_RECORD_ACCESS: Final = insert(cast(Table, CertificateAccess.__table__))


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
        """Count one request of `client`: 0 when it may go ahead, else whole seconds to wait.
        The count is flushed; the caller commits it even when refusing."""
        limit = Limit("client", self.per_minute, timedelta(minutes=1))
        wait = StoreCounters(session, limit, secret=self.secret, now=now).take(str(client.id))
        return math.ceil(wait)

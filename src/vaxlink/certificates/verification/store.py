"""Verification over the store: revocations from the `revocation` table, trust from the key store.

Also the two documents offline verifiers download: the signed DSC trust list and the revocation
list (the first 16 bytes of each revoked UVCI's SHA-256, base64, as the EU gateway shares them).
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from sqlalchemy import Select, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList, uvci_hash
from vaxlink.certificates.errors import TrustListUnavailable, VerifierFault
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.keys.trustlist import SignedTrustList, build_trust_list
from vaxlink.certificates.models import Revocation
from vaxlink.clock import Clock

#: How long a verifier process keeps the DSCs it read from the key directory.
TRUST_REFRESH_SECONDS: Final = 60.0


class StoreRevocationList:
    """A `RevocationSource` that asks the store, one indexed lookup per certificate."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def is_revoked(self, uvci: str) -> bool:
        """True when this UVCI's hash is in the `revocation` table."""
        stmt = select(Revocation.id).where(Revocation.uvci_hash == uvci_hash(uvci).hex()).limit(1)
        return self._found(stmt)

    def is_rid_revoked(self, rid: bytes) -> bool:
        """True when a revoked UVCI's hash starts with the SMART Health Card revocation id."""
        if not rid:
            return False
        prefix = rid[:32].hex()  # hex digits only: nothing LIKE would read as a wildcard
        stmt = select(Revocation.id).where(Revocation.uvci_hash.startswith(prefix)).limit(1)
        return self._found(stmt)

    def _found(self, stmt: Select[int]) -> bool:
        try:
            return self._session.scalar(stmt) is not None
        except SQLAlchemyError as exc:  # the store is down: fail closed
            raise VerifierFault("the revocation list cannot be read from the store") from exc


def revoked_uvci_hashes(session: Session) -> list[bytes]:
    """The SHA-256 of every revoked certificate's UVCI, oldest revocation first."""
    stmt = select(Revocation.uvci_hash).order_by(Revocation.id)
    return [bytes.fromhex(h) for h in session.scalars(stmt)]


def revocation_document(
    session: Session, *, now: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """The revocation list for offline verifiers (all of it, or the entries added since a time)."""
    stmt = select(Revocation.uvci_hash, Revocation.revoked_at).order_by(Revocation.id)
    if since is not None:
        stmt = stmt.where(Revocation.revoked_at > since)
    size = InMemoryRevocationList.HASH_BYTES
    hashes = [
        base64.b64encode(bytes.fromhex(h)[:size]).decode("ascii") for h, _ in session.execute(stmt)
    ]
    return {
        "hash_type": "UCI",
        "hash_bytes": size,
        "generated_at": now.isoformat(timespec="seconds"),
        "since": None if since is None else since.isoformat(),
        "count": len(hashes),
        "hashes": hashes,
    }


class KeyStoreTrust:
    """A `TrustSource` over the key directory's published DSCs, re-read every minute or so."""

    def __init__(
        self,
        store: KeyStore,
        *,
        refresh_seconds: float = TRUST_REFRESH_SECONDS,
        clock: Clock,
    ) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._trust = InMemoryTrustList()

    def _current(self) -> InMemoryTrustList:
        with self._lock:
            if time.monotonic() - self._loaded_at >= self._refresh:
                try:
                    dscs = self._store.trusted_dscs(self._clock.now())
                except ValueError as exc:  # a damaged certificate file in the key directory
                    raise VerifierFault(
                        f"the key directory holds an unreadable DSC: {exc}"
                    ) from exc
                self._trust = InMemoryTrustList(dscs)
                self._loaded_at = time.monotonic()
            return self._trust

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """The published DSCs with this kid."""
        return self._current().lookup(kid)

    def jwk_lookup(self, kid: str) -> list[x509.Certificate]:
        """The published DSCs whose P-256 key has this SMART Health Card kid (the JWKS's)."""
        return self._current().jwk_lookup(kid)


def published_trust_list(store: KeyStore, now: datetime) -> SignedTrustList:
    """The DSC trust list signed with the key store's trust-list signer."""
    if not store.certificates(Role.TRUST_LIST):
        raise TrustListUnavailable(
            "no trust-list signer in the key directory; run `vaxlink keys trust-list` once"
        )
    return build_trust_list(store.trusted_dscs(now), store.latest(Role.TRUST_LIST), now)

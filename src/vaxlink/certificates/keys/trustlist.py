"""The DSC trust list that verifiers download, and its signature.

The document has the shape national backends publish (`{"certificates": [{"certificateType":
"DSC", "country", "kid", "rawData", "signature", "thumbprint", "timestamp"}]}`) serialised as
canonical JSON (sorted keys, no spaces, UTF-8). It is signed with a JWS in compact serialisation
with a detached payload (RFC 7515, appendix F): `BASE64URL(header)..BASE64URL(r||s)`, alg ES256,
the trust-list signer's certificate in `x5c` (it must chain to the CSCA and carry the
trust-list-signing EKU) and the publication time in `iat`. Each entry's own `signature` is the
same signer's ES256 signature (raw r||s, base64) over the entry's DER certificate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from vaxlink.certificates.core.canonical import canonical_json
from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.core.trust import jwk_index
from vaxlink.certificates.errors import KeyManagementError, TrustListInvalid
from vaxlink.certificates.keys.hierarchy import (
    OID_TRUST_LIST_SIGNING,
    extended_key_usages,
    is_issued_by,
    kid,
)
from vaxlink.errors import InvalidInput

DSC = "DSC"
_JWS_TYPE = "dsc-trust-list+jws"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TrustListEntry:
    """One trusted document signer certificate."""

    kid: bytes
    country: str
    certificate: x509.Certificate
    timestamp: datetime


@dataclass(frozen=True)
class TrustList:
    """kid → DSCs; satisfies the verifier's `TrustSource` protocol through `lookup`."""

    entries: tuple[TrustListEntry, ...]
    issued_at: datetime | None = None
    _by_kid: dict[bytes, list[x509.Certificate]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_kid.setdefault(entry.kid, []).append(entry.certificate)

    @classmethod
    def from_certificates(cls, certificates: Iterable[x509.Certificate]) -> TrustList:
        """An unsigned in-memory trust list (the issuer's own view, or tests)."""
        return cls(tuple(_entry(c) for c in _unique(certificates)))

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """Every trusted DSC with this kid (kids are 8 bytes: collisions are possible)."""
        return list(self._by_kid.get(bytes(kid), []))

    def jwk_lookup(self, kid: str) -> list[x509.Certificate]:
        """Every trusted DSC whose P-256 key has this SMART Health Card kid (JWK thumbprint)."""
        return list(jwk_index(e.certificate for e in self.entries).get(kid, []))

    def kids(self) -> frozenset[bytes]:
        """The kids in the list."""
        return frozenset(self._by_kid)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class SignedTrustList:
    """The published pair: the JSON document and its detached JWS."""

    document: bytes
    signature: str


def _country(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    if not values:
        raise KeyManagementError(f"DSC {kid(cert).hex()} has no country (C) in its subject")
    return str(values[0].value)


def _entry(cert: x509.Certificate) -> TrustListEntry:
    return TrustListEntry(kid(cert), _country(cert), cert, cert.not_valid_before_utc)


def _unique(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for cert in certs:
        seen.setdefault(hashlib.sha256(_der(cert)).digest(), cert)
    return sorted(seen.values(), key=lambda c: (kid(c), _der(c)))


def build_trust_list(
    dscs: Iterable[x509.Certificate], signer: Signer, now: datetime
) -> SignedTrustList:
    """Sign the list of DSCs with the trust-list signer (a `KeyPair` or an HSM signer)."""
    if signer.algorithm != ES256:
        raise KeyManagementError("the trust-list signer must be an ES256 (P-256) key")
    if OID_TRUST_LIST_SIGNING not in extended_key_usages(
        x509.load_der_x509_certificate(signer.certificate_der)
    ):
        raise KeyManagementError("the signer's certificate lacks the trust-list-signing EKU")
    items = []
    for cert in _unique(dscs):
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if is_ca:
            raise KeyManagementError(f"{cert.subject.rfc4514_string()} is a CA, not a DSC")
        der = _der(cert)
        items.append(
            {
                "certificateType": DSC,
                "country": _country(cert),
                "kid": _b64(kid(cert)),
                "rawData": _b64(der),
                "signature": _b64(signer.sign(der)),
                "thumbprint": hashlib.sha256(der).hexdigest(),
                "timestamp": _iso(cert.not_valid_before_utc),
            }
        )
    document = canonical_json({"certificates": items})
    header = {
        "alg": "ES256",
        "typ": _JWS_TYPE,
        "cty": "application/json",
        "iat": int(now.timestamp()),
        "kid": _b64(signer.kid),
        "x5c": [_b64(signer.certificate_der)],
    }
    protected = _b64url(canonical_json(header))
    signing_input = f"{protected}.{_b64url(document)}".encode("ascii")
    return SignedTrustList(document, f"{protected}..{_b64url(signer.sign(signing_input))}")


def _verify_es256(cert: x509.Certificate, raw: bytes, data: bytes) -> bool:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _signer_from_jws(
    document: bytes, signature: str, cscas: Sequence[x509.Certificate], now: datetime
) -> tuple[x509.Certificate, datetime]:
    parts = signature.strip().split(".")
    if len(parts) != 3 or parts[1]:
        raise TrustListInvalid("the trust-list signature is not a detached compact JWS")
    try:
        header = json.loads(_unb64url(parts[0]))
        signer = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        raw = _unb64url(parts[2])
        issued_at = datetime.fromtimestamp(int(header["iat"]), UTC)
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise TrustListInvalid(f"unreadable trust-list signature header: {exc}") from exc
    if header.get("alg") != "ES256" or header.get("crit"):
        raise TrustListInvalid(f"unsupported JWS header {header.get('alg')!r}")
    if not any(is_issued_by(signer, csca) for csca in cscas):
        raise TrustListInvalid("the trust-list signer was not issued by a trusted CSCA")
    if OID_TRUST_LIST_SIGNING not in extended_key_usages(signer):
        raise TrustListInvalid("the signing certificate is not a trust-list signer")
    if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
        raise TrustListInvalid(f"the trust-list signer is not valid at {_iso(now)}")
    signing_input = f"{parts[0]}.{_b64url(document)}".encode("ascii")
    if not _verify_es256(signer, raw, signing_input):
        raise TrustListInvalid("the trust-list signature does not match the document")
    return signer, issued_at


def _parse_entry(
    item: Mapping[str, Any], signer: x509.Certificate, cscas: Sequence[x509.Certificate]
) -> TrustListEntry:
    try:
        der = base64.b64decode(item["rawData"], validate=True)
        cert = x509.load_der_x509_certificate(der)
        listed_kid = base64.b64decode(item["kid"], validate=True)
        entry_sig = base64.b64decode(item["signature"], validate=True)
        timestamp = datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        country, thumbprint = str(item["country"]), str(item["thumbprint"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise TrustListInvalid(f"malformed trust-list entry: {exc}") from exc
    label = f"entry {item.get('kid')!r}"
    if listed_kid != kid(cert):
        raise TrustListInvalid(f"{label}: kid does not match its certificate")
    if thumbprint.lower() != hashlib.sha256(der).hexdigest():
        raise TrustListInvalid(f"{label}: thumbprint does not match its certificate")
    if not _verify_es256(signer, entry_sig, der):
        raise TrustListInvalid(f"{label}: entry signature is invalid")
    if not any(is_issued_by(cert, csca) for csca in cscas):
        raise TrustListInvalid(f"{label}: DSC was not issued by a trusted CSCA")
    return TrustListEntry(listed_kid, country, cert, timestamp)


def load_trust_list(
    document: bytes,
    signature: str | bytes,
    csca: x509.Certificate | Sequence[x509.Certificate],
    *,
    now: datetime,
) -> TrustList:
    """Verify a downloaded trust list against the CSCA(s); any bad entry rejects the whole list."""
    cscas = [csca] if isinstance(csca, x509.Certificate) else list(csca)
    sig = signature.decode("ascii") if isinstance(signature, bytes) else signature
    signer, issued_at = _signer_from_jws(document, sig, cscas, now)
    try:
        items = json.loads(document)["certificates"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustListInvalid(f"the trust list is not the expected JSON: {exc}") from exc
    if not isinstance(items, list):
        raise TrustListInvalid("`certificates` must be a list")
    entries = tuple(
        _parse_entry(item, signer, cscas)
        for item in items
        if isinstance(item, Mapping) and item.get("certificateType") == DSC
    )
    return TrustList(entries, issued_at)


def without_dsc(dscs: Iterable[x509.Certificate], revoked_kid: bytes) -> list[x509.Certificate]:
    """The DSCs left to publish once `revoked_kid` is withdrawn."""
    dscs = list(dscs)
    kept = [c for c in dscs if kid(c) != revoked_kid]
    if len(kept) == len(dscs):
        raise KeyManagementError(f"no DSC with kid {revoked_kid.hex()} in the list")
    return kept


@dataclass(frozen=True)
class RevocationReport:
    """What withdrawing DSCs does to certificates already in people's hands."""

    revoked: tuple[bytes, ...]
    affected: dict[bytes, int]
    total_affected: int

    def summary(self) -> str:
        """A paragraph an operator can paste into the incident record."""
        lines = [
            f"{len(self.revoked)} DSC(s) withdrawn from the trust list; "
            f"{self.total_affected} issued certificate(s) will fail verification as soon as "
            "verifiers refresh their trust list and must be re-issued with the active DSC."
        ]
        lines += [
            f"  kid {_b64(k)} ({k.hex()}): {n} certificate(s)" for k, n in self.affected.items()
        ]
        return "\n".join(lines)


def dsc_revocation_report(
    revoked: Iterable[bytes], issued_counts: Mapping[bytes, int]
) -> RevocationReport:
    """Which issued certificates (counted per signing kid by the caller) a revocation breaks."""
    kids = tuple(dict.fromkeys(bytes(k) for k in revoked))
    affected = {k: int(issued_counts.get(k, 0)) for k in kids}
    if any(n < 0 for n in affected.values()):
        raise InvalidInput("issued certificate counts cannot be negative")
    return RevocationReport(kids, affected, sum(affected.values()))

"""Verify an EU DCC offline: every input gives a structured result, never a bare bool or a crash.

Steps, in order: prefix, Base45, zlib (size-capped), COSE/CWT structure, kid lookup, signature,
iat/exp against the clock, the DSC's validity window, the DSC's extended key usage, the DCC
schema, revocation. The first failing step ends verification; `verify_or_raise` raises instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.payload import (
    ENTRY_KINDS,
    DisplayField,
    ValueSets,
    display_fields,
    validate_payload,
)
from vaxlink.certificates.errors import (
    CertificateError,
    DecodeError,
    DscValidityInvalid,
    Expired,
    InputTooLarge,
    KeyUsageInvalid,
    NotYetValid,
    Revoked,
    SignatureInvalid,
    UnknownKid,
    ValueSetInvalid,
    VerifierFault,
)

#: DCC extended key usages by certificate type, in the registered and the field-seen spelling.
DCC_KEY_USAGES: Final[Mapping[str, frozenset[str]]] = {
    kind: frozenset({f"1.3.6.1.4.1.1847.2021.1.{n}", f"1.3.6.1.4.1.0.1847.2021.1.{n}"})
    for kind, n in (("t", 1), ("v", 2), ("r", 3))
}
_ALL_DCC_USAGES: Final = frozenset().union(*DCC_KEY_USAGES.values())
_EKU_OID_DER: Final = bytes.fromhex("0603551d25")  # OID 2.5.29.37 (extendedKeyUsage), DER


class Step(StrEnum):
    """The verification steps, in the order they run."""

    PREFIX = "prefix"
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    KID = "kid"
    SIGNATURE = "signature"
    TIME = "time"
    DSC_VALIDITY = "dsc_validity"
    KEY_USAGE = "key_usage"
    SCHEMA = "schema"
    REVOCATION = "revocation"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why verification failed: a stable machine code and a message a person can act on."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of `verify`. Trust the payload and `fields` only when `authentic`."""

    valid: bool
    failure: Failure | None = None
    failed_step: Step | None = None
    authentic: bool = False
    payload: dict[str, Any] | None = None
    kid: bytes | None = None
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[DisplayField, ...]:
        """The labelled fields a verifier shows (11 for a vaccination), in English."""
        return display_fields(self.payload) if self.payload is not None else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bytes as hex, datetimes as ISO 8601)."""
        return {
            "valid": self.valid,
            "failure": None
            if self.failure is None
            else {"code": self.failure.code, "message": self.failure.message},
            "failed_step": self.failed_step,
            "authentic": self.authentic,
            "kid": None if self.kid is None else self.kid.hex(),
            "issuer_country": self.issuer_country,
            "issued_at": None if self.issued_at is None else self.issued_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "fields": [{"key": f.key, "label": f.label, "value": f.value} for f in self.fields],
            "warnings": list(self.warnings),
            "payload": self.payload,
        }


class TrustSource(Protocol):
    """Where the verifier finds the document-signer certificates (DSC) for a key id."""

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """All trusted DSCs whose kid is `kid` (kids may collide)."""
        ...


def certificate_kid(certificate: x509.Certificate) -> bytes:
    """The EU DCC key id: the first 8 bytes of the SHA-256 of the DER certificate."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


class InMemoryTrustList:
    """A `TrustSource` held in memory: kid -> DSCs (fed by tests or a verified trust list)."""

    def __init__(self, certificates: Iterable[x509.Certificate] = ()) -> None:
        self._by_kid: dict[bytes, list[x509.Certificate]] = {}
        for certificate in certificates:
            self.add(certificate)

    def add(self, certificate: x509.Certificate) -> bytes:
        """Trust `certificate`; returns its kid."""
        kid = certificate_kid(certificate)
        bucket = self._by_kid.setdefault(kid, [])
        if certificate not in bucket:
            bucket.append(certificate)
        return kid

    def lookup(self, kid: bytes) -> list[x509.Certificate]:
        """The trusted DSCs for `kid`."""
        return list(self._by_kid.get(kid, ()))


class RevocationSource(Protocol):
    """Answers whether a certificate identifier (UVCI) has been revoked."""

    def is_revoked(self, uvci: str) -> bool:
        """True when `uvci` is revoked."""
        ...


def uvci_hash(uvci: str) -> bytes:
    """SHA-256 of the UTF-8 UVCI: the EU revocation hash type UCI (lists keep the first 16 bytes)."""
    return hashlib.sha256(uvci.encode("utf-8")).digest()


class InMemoryRevocationList:
    """A `RevocationSource` of UCI hashes, truncated to 128 bits as the EU gateway distributes them."""

    HASH_BYTES: Final = 16

    def __init__(self, uvcis: Iterable[str] = (), *, hashes: Iterable[bytes] = ()) -> None:
        self._hashes = {h[: self.HASH_BYTES] for h in hashes}
        for uvci in uvcis:
            self.revoke(uvci)

    def revoke(self, uvci: str) -> None:
        """Add `uvci` to the list."""
        self._hashes.add(uvci_hash(uvci)[: self.HASH_BYTES])

    def is_revoked(self, uvci: str) -> bool:
        """True when the hash of `uvci` is on the list."""
        return uvci_hash(uvci)[: self.HASH_BYTES] in self._hashes


# --- the DSC -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DscProfile:
    """What verification needs from a DSC: its validity window and the DCC types it may sign."""

    not_before: datetime
    not_after: datetime
    dcc_types: frozenset[str] | None  # None: no DCC key usage, so every type is allowed


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at `pos`."""
    tag, length = data[pos], data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length, start = int.from_bytes(data[start : start + count], "big"), start + count
    if start + length > len(data):
        raise ValueError("DER item runs past its container")
    return tag, start, start + length


def _oid_text(body: bytes) -> str:
    parts, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in (first, parts[0] - 40 * first, *parts[1:]))


def _lenient_key_usages(tbs: bytes) -> list[str] | None:
    """EKU OIDs read straight from the TBS DER, for DSCs whose extensions strict parsers refuse."""
    _, pos, end = _der_item(tbs, 0)
    while pos < end:
        tag, start, stop = _der_item(tbs, pos)
        if tag == 0xA3:  # [3] extensions
            _, ext, ext_end = _der_item(tbs, start)
            while ext < ext_end:
                _, item, item_end = _der_item(tbs, ext)
                if tbs[item : item + len(_EKU_OID_DER)] == _EKU_OID_DER:
                    tag, value, value_end = _der_item(tbs, item + len(_EKU_OID_DER))
                    if tag == 0x01:  # critical flag, even when (wrongly) encoded as FALSE
                        tag, value, value_end = _der_item(tbs, value_end)
                    _, oid, seq_end = _der_item(tbs, value)
                    found = []
                    while oid < seq_end:
                        _, body, oid_end = _der_item(tbs, oid)
                        found.append(_oid_text(tbs[body:oid_end]))
                        oid = oid_end
                    return found
                ext = item_end
            return None
        pos = stop
    return None


def dsc_profile(certificate: x509.Certificate) -> DscProfile:
    """Validity window and DCC types of a DSC; an unreadable key usage raises `KeyUsageInvalid`."""
    usages: list[str] | None
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = [oid.dotted_string for oid in eku]
    except x509.ExtensionNotFound:
        usages = None
    except ValueError:  # e.g. DER with an explicit DEFAULT, or an empty EKU sequence
        try:
            usages = _lenient_key_usages(certificate.tbs_certificate_bytes)
        except (ValueError, IndexError):
            raise KeyUsageInvalid("the DSC's extended key usage cannot be read") from None
    dcc = frozenset(usages or ()) & _ALL_DCC_USAGES
    types = frozenset(k for k, oids in DCC_KEY_USAGES.items() if oids & dcc) if dcc else None
    return DscProfile(certificate.not_valid_before_utc, certificate.not_valid_after_utc, types)


def check_time(claims: cose.Claims, clock: datetime) -> None:
    """iat <= clock <= exp."""
    now = clock.timestamp()
    if now < claims.iat:
        raise NotYetValid(f"issued {_iso(claims.iat)}, after the verification time {clock}")
    if now > claims.exp:
        raise Expired(f"expired {_iso(claims.exp)}")


def check_dsc_validity(claims: cose.Claims, dsc: DscProfile) -> None:
    """DSC notBefore <= iat and exp <= DSC notAfter."""
    if claims.iat < dsc.not_before.timestamp():
        raise DscValidityInvalid(f"issued {_iso(claims.iat)}, before its DSC was valid")
    if claims.exp > dsc.not_after.timestamp():
        raise DscValidityInvalid(f"valid until {_iso(claims.exp)}, after its DSC expires")


def check_key_usage(dcc: Mapping[str, Any], dsc: DscProfile) -> None:
    """Each certificate type in the payload is allowed by the DSC's DCC key usages."""
    if dsc.dcc_types is None:
        return
    for kind in ENTRY_KINDS:
        if kind in dcc and kind not in dsc.dcc_types:
            allowed = ", ".join(sorted(dsc.dcc_types)) or "none"
            raise KeyUsageInvalid(f"the DSC may sign types {allowed}, not {kind!r}")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


# --- the pipeline ----------------------------------------------------------------------------
# The steps as plain module constants: reading `Step.X` goes through the enum metaclass (~0.2 us
# each on Python 3.11), and the pipeline sets a step eleven times per certificate.
_PREFIX, _BASE45, _DECOMPRESS = Step.PREFIX, Step.BASE45, Step.DECOMPRESS
_COSE, _KID, _SIGNATURE, _TIME = Step.COSE, Step.KID, Step.SIGNATURE, Step.TIME
_DSC_VALIDITY, _KEY_USAGE, _SCHEMA = Step.DSC_VALIDITY, Step.KEY_USAGE, Step.SCHEMA
_REVOCATION = Step.REVOCATION


class _Run:
    """State of one verification: the step in progress and what is known so far."""

    __slots__ = ("authentic", "partial", "step", "warnings")

    def __init__(self) -> None:
        self.step = _PREFIX
        self.authentic = False
        self.partial: dict[str, Any] = {}
        self.warnings: tuple[str, ...] = ()

    def failed(self, exc: Exception) -> tuple[VerificationResult, CertificateError]:
        if not isinstance(exc, CertificateError):  # a bug or a broken trust/revocation source
            exc = VerifierFault(f"unexpected {type(exc).__name__} during step {self.step}")
        failure = Failure(exc.code, str(exc))
        result = VerificationResult(
            False, failure, self.step, self.authentic, warnings=self.warnings, **self.partial
        )
        return result, exc


def _transport(run: _Run, data: object) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        run.step = _COSE
        if len(data) > hc1.MAX_DECOMPRESSED:
            raise InputTooLarge("the COSE message is larger than any DCC")
        return bytes(data)
    if not isinstance(data, str):
        raise DecodeError(f"expected HC1 text or COSE bytes, got {type(data).__name__}")
    text = hc1.unprefix(data)
    run.step = _BASE45
    compressed = hc1.b45decode(text)
    run.step = _DECOMPRESS
    return hc1.decompress(compressed)


def _run(
    run: _Run,
    data: object,
    trust: TrustSource,
    clock: datetime,
    revocation: RevocationSource | None,
    strict_value_sets: bool,
) -> VerificationResult:
    raw = _transport(run, data)
    run.step = _COSE
    message = cose.parse_sign1(raw)
    claims = cose.parse_claims(message.payload)
    run.partial = {
        "payload": claims.dcc,
        "kid": message.kid,
        "issuer_country": claims.iss,
        "issued_at": datetime.fromtimestamp(claims.iat, UTC),
        "expires_at": datetime.fromtimestamp(claims.exp, UTC),
    }
    run.step = _KID
    if message.kid is None:
        raise UnknownKid("the message carries no kid")
    candidates = trust.lookup(message.kid)
    if not candidates:
        raise UnknownKid(f"no trusted DSC has kid {message.kid.hex()}")
    run.step = _SIGNATURE
    dsc = _verified_dsc(message, candidates)
    run.authentic = True
    run.step = _TIME
    check_time(claims, clock)
    run.step = _DSC_VALIDITY
    check_dsc_validity(claims, dsc.profile or dsc.window)
    run.step = _KEY_USAGE
    if dsc.profile is None:
        raise dsc.profile_error or KeyUsageInvalid("the DSC's extended key usage cannot be read")
    check_key_usage(claims.dcc, dsc.profile)
    run.step = _SCHEMA
    if strict_value_sets:
        validate_payload(claims.dcc, value_sets=ValueSets.KNOWN)
    else:
        run.warnings = _schema_with_warnings(claims.dcc)
    run.step = _REVOCATION
    if revocation is not None:
        for uvci in _uvcis(claims.dcc):
            if revocation.is_revoked(uvci):
                raise Revoked(f"certificate {uvci} has been revoked")
    return VerificationResult(True, None, None, True, warnings=run.warnings, **run.partial)


class _Dsc(NamedTuple):
    """What verification reuses of a trusted DSC: its key and profile (or why it has none)."""

    certificate: x509.Certificate
    public_key: object
    profile: DscProfile | None
    profile_error: CertificateError | None
    window: DscProfile  # the validity window alone, for a DSC whose key usage cannot be read
    check: Callable[[cose.Sign1], None]  # the signature check with this DSC's key


_DSCS: dict[int, _Dsc] = {}
_DSCS_LIMIT: Final = 512


def _dsc(certificate: x509.Certificate) -> _Dsc:
    """The DSC's key and profile, worked out once per certificate object (by identity)."""
    known = _DSCS.get(id(certificate))
    if known is not None and known.certificate is certificate:
        return known
    try:
        profile, error = dsc_profile(certificate), None
    except CertificateError as exc:
        profile, error = None, exc
    window = DscProfile(certificate.not_valid_before_utc, certificate.not_valid_after_utc, None)
    key = certificate.public_key()
    entry = _Dsc(certificate, key, profile, error, window, cose.key_verifier(key))
    if len(_DSCS) >= _DSCS_LIMIT:
        _DSCS.clear()
    _DSCS[id(certificate)] = entry  # holds the certificate, so its id cannot be reused meanwhile
    return entry


def _verified_dsc(message: cose.Sign1, candidates: list[x509.Certificate]) -> _Dsc:
    last: CertificateError = SignatureInvalid("the signature does not verify")
    for certificate in candidates:
        dsc = _dsc(certificate)
        try:
            dsc.check(message)
        except SignatureInvalid as exc:
            last = exc
        else:
            return dsc
    raise last


def _schema_with_warnings(dcc: dict[str, Any]) -> tuple[str, ...]:
    """Schema check in one pass when all codes are known; unknown codes only warn."""
    try:
        validate_payload(dcc, value_sets=ValueSets.KNOWN)
    except ValueSetInvalid as exc:
        return (str(exc),)
    return ()


def _uvcis(dcc: Mapping[str, Any]) -> list[str]:
    return [
        entry["ci"]
        for kind in ENTRY_KINDS
        for entry in dcc.get(kind) or ()
        if isinstance(entry, Mapping) and isinstance(entry.get("ci"), str)
    ]


def verify(
    hc1_or_bytes: str | bytes,
    trust: TrustSource,
    *,
    clock: datetime,
    revocation: RevocationSource | None = None,
    strict_value_sets: bool = False,
) -> VerificationResult:
    """Verify HC1 text (str) or a COSE message (bytes) at `clock` (timezone-aware).

    Unknown value-set codes are warnings unless `strict_value_sets`; inactive codes are accepted.
    Any input gives a result; a failure names its step and a stable code.
    """
    if clock.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    run = _Run()
    try:
        return _run(run, hc1_or_bytes, trust, clock, revocation, strict_value_sets)
    except Exception as exc:  # every failure, expected or not, becomes a structured result
        return run.failed(exc)[0]


def verify_or_raise(
    hc1_or_bytes: str | bytes,
    trust: TrustSource,
    *,
    clock: datetime,
    revocation: RevocationSource | None = None,
    strict_value_sets: bool = False,
) -> VerificationResult:
    """Like `verify`, but a failed verification raises its `CertificateError` subclass."""
    if clock.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    run = _Run()
    try:
        return _run(run, hc1_or_bytes, trust, clock, revocation, strict_value_sets)
    except Exception as exc:
        error = run.failed(exc)[1]
        if error is exc:
            raise
        raise error from exc

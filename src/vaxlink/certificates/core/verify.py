"""Verify an EU DCC offline: `verify` returns what a valid certificate says, or raises why not.

Steps, in order: prefix, Base45 (length-capped), zlib (output-capped), the COSE_Sign1 envelope
(headers decoded, the payload kept as bytes), kid lookup, signature over the raw payload bytes,
and only then the CWT claims (bounded CBOR, `core.cbor`), iat/exp against the clock, the DSC's
validity window, the DSC's extended key usage, the DCC schema, revocation. Nothing of the claims
is decoded before the signature holds, so unsigned input costs no more than its envelope and
no claim of it is ever returned. The first failing step raises its `CertificateError` subclass,
with the step in `error.step` and what had been read so far in `error.partial` (before the
signature: at most the kid; claims only once `authentic`); any input gives such a typed refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedKey

from vaxlink.certificates.core import cose, hc1, health_data
from vaxlink.certificates.core.display import DisplayField
from vaxlink.certificates.core.dsc import (
    DscProfile,
    check_dsc_validity,
    check_key_usage,
    check_time,
    dsc_profile,
)
from vaxlink.certificates.core.schema import ENTRY_KINDS, ValueSets, validate_payload
from vaxlink.certificates.core.trust import RevocationSource, TrustSource
from vaxlink.certificates.errors import (
    CertificateError,
    DecodeError,
    InputTooLarge,
    KeyUsageInvalid,
    Revoked,
    SignatureInvalid,
    UnknownKid,
    UnsupportedAlgorithm,
    ValueSetInvalid,
    VerifierFault,
)


class Step(StrEnum):
    """The verification steps, in the order they run."""

    PREFIX = "prefix"
    NUMERIC = "numeric"  # SMART Health Card: the `shc:/` digits
    JWS = "jws"  # SMART Health Card: the compact JWS and its header
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    KID = "kid"
    SIGNATURE = "signature"
    CLAIMS = "claims"
    TIME = "time"
    DSC_VALIDITY = "dsc_validity"
    KEY_USAGE = "key_usage"
    SCHEMA = "schema"
    REVOCATION = "revocation"


@dataclass(frozen=True, slots=True)
class Verified:
    """What a certificate says. Returned by `verify` only when it is valid (`authentic`); on a
    refusal, `error.partial` holds what had been read, to be trusted only when `authentic`."""

    payload: dict[str, Any] | None = None
    kid: bytes | str | None = None
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    authentic: bool = False
    warnings: tuple[str, ...] = ()
    #: "dcc", "ddcc" (WHO DDCC:VS, hcert key 2) or "shc" (SMART Health Card; `kid` is then the
    #: JWK thumbprint, text); None while the message's claims have not been read.
    format: str | None = None

    @property
    def fields(self) -> tuple[DisplayField, ...]:
        """The labelled fields a verifier shows (11 for a vaccination), in English."""
        return health_data.fields_of(self.format, self.payload) if self.payload is not None else ()


_NOTHING_READ: Final = Verified()
# The steps as plain module constants: reading `Step.X` goes through the enum metaclass (~0.2 us
# each on Python 3.11), and the pipeline sets a step twelve times per certificate.
_PREFIX, _BASE45, _DECOMPRESS = Step.PREFIX, Step.BASE45, Step.DECOMPRESS
_COSE, _KID, _SIGNATURE, _TIME = Step.COSE, Step.KID, Step.SIGNATURE, Step.TIME
_CLAIMS = Step.CLAIMS
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

    def read(self) -> Verified:
        """What is known so far, as a `Verified` (authentic once the signature was checked)."""
        if not self.partial and not self.warnings:
            return _NOTHING_READ
        return Verified(authentic=self.authentic, warnings=self.warnings, **self.partial)


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


def _lookup(trust: TrustSource, kid: bytes) -> list[x509.Certificate]:
    """The trusted DSCs for `kid`; a source that is down fails closed (`VerifierFault`)."""
    try:
        return trust.lookup(kid)
    except OSError as exc:  # a trust service or file that cannot be read now
        raise VerifierFault(f"the trust list cannot be read: {exc}") from exc


def _revoked(revocation: RevocationSource, uvci: str) -> bool:
    """Whether `uvci` is revoked; a source that is down fails closed (`VerifierFault`)."""
    try:
        return revocation.is_revoked(uvci)
    except OSError as exc:
        raise VerifierFault(f"the revocation list cannot be read: {exc}") from exc


def _run(
    run: _Run,
    data: object,
    trust: TrustSource,
    clock: datetime,
    revocation: RevocationSource | None,
    strict_value_sets: bool,
    accept_ddcc: bool = False,
) -> Verified:
    raw = _transport(run, data)
    run.step = _COSE
    message = cose.parse_sign1(raw)  # the envelope only: the claims stay bytes until signed
    run.step = _KID
    if message.kid is None:
        raise UnknownKid("the message carries no kid")
    run.partial = {"kid": message.kid}  # a header (at most cose.MAX_KID bytes), not a claim
    candidates = _lookup(trust, message.kid)
    if not candidates:
        raise UnknownKid(f"no trusted DSC has kid {message.kid.hex()}")
    run.step = _SIGNATURE
    dsc = _verified_dsc(message, candidates)
    run.authentic = True
    run.step = _CLAIMS
    claims = cose.parse_claims(message.payload, ddcc=accept_ddcc)
    run.partial = {
        "payload": claims.dcc,
        "kid": message.kid,
        "issuer_country": claims.iss,
        "issued_at": datetime.fromtimestamp(claims.iat, UTC),
        "expires_at": datetime.fromtimestamp(claims.exp, UTC),
        "format": claims.kind,
    }
    run.step = _TIME
    check_time(claims, clock)
    run.step = _DSC_VALIDITY
    check_dsc_validity(claims, dsc.profile or dsc.window)
    run.step = _KEY_USAGE
    if dsc.profile is None:
        # a fresh error each time: the cached one is shared by every verification with this DSC
        raise KeyUsageInvalid(
            str(dsc.profile_error or "the DSC's extended key usage cannot be read")
        )
    if claims.kind == health_data.DDCC:
        return _ddcc_rest(run, claims.dcc, dsc.profile, revocation)
    check_key_usage(claims.dcc, dsc.profile)
    run.step = _SCHEMA
    if strict_value_sets:
        validate_payload(claims.dcc, value_sets=ValueSets.KNOWN)
    else:
        run.warnings = _schema_with_warnings(claims.dcc)
    run.step = _REVOCATION
    if revocation is not None:
        for uvci in _uvcis(claims.dcc):
            if _revoked(revocation, uvci):
                raise Revoked(f"certificate {uvci} has been revoked")
    return Verified(authentic=True, warnings=run.warnings, **run.partial)


_AS_VACCINATION: Final = {health_data.VACCINATION_KIND: ()}


def _ddcc_rest(
    run: _Run, data: dict[str, Any], profile: DscProfile, revocation: RevocationSource | None
) -> Verified:
    """The last steps for a WHO DDCC:VS core data set: it restates a vaccination (the DSC must
    be allowed type v), its shape, and its hcid (the UVCI) on the revocation list."""
    check_key_usage(_AS_VACCINATION, profile)
    run.step = _SCHEMA
    hcid = health_data.check_ddcc(data)
    run.step = _REVOCATION
    if revocation is not None and _revoked(revocation, hcid):
        raise Revoked(f"certificate {hcid} has been revoked")
    return Verified(authentic=True, **run.partial)


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
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedKey) as exc:  # a key type or curve cryptography cannot load
        raise UnsupportedAlgorithm(f"the DSC's public key cannot be used: {exc}") from exc
    entry = _Dsc(certificate, key, profile, error, window, cose.key_verifier(key))
    if len(_DSCS) >= _DSCS_LIMIT:
        _DSCS.clear()
    _DSCS[id(certificate)] = entry  # holds the certificate, so its id cannot be reused meanwhile
    return entry


def _verified_dsc(message: cose.Sign1, candidates: list[x509.Certificate]) -> _Dsc:
    last: CertificateError = SignatureInvalid("the signature does not verify")
    for certificate in candidates:
        try:
            dsc = _dsc(certificate)
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
    accept_ddcc: bool = False,
) -> Verified:
    """Verify HC1 text (str) or a COSE message (bytes) at `clock` (timezone-aware).

    With `accept_ddcc`, a message whose hcert claim holds a WHO DDCC:VS core data set (key 2)
    instead of a DCC is verified as one (`format` "ddcc"): the same steps, its shape checked by
    `health_data.check_ddcc`, its hcid looked up in `revocation`.

    Returns what the valid certificate says; unknown value-set codes are `warnings` unless
    `strict_value_sets`, inactive codes are accepted. A certificate that is not valid raises its
    `CertificateError` subclass, with `step` (a `Step`) and `partial` (what had been read) set;
    a trust or revocation source that cannot answer raises `VerifierFault` (fail closed).
    """
    if clock.tzinfo is None:
        raise ValueError("the verification clock must be timezone-aware")
    run = _Run()
    try:
        return _run(run, hc1_or_bytes, trust, clock, revocation, strict_value_sets, accept_ddcc)
    except CertificateError as exc:
        exc.step, exc.partial = run.step, run.read()
        raise

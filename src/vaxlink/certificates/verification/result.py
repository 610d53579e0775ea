"""The verification result the verifier page, the verify API and the CLI show, built at the edge.

`core.verify.verify` raises a typed error when a certificate is not valid; `verification_result`
turns its answer or its refusal into one structured result (the step that failed, a stable code,
a message, and what had been read), the JSON and HTML output verifiers have always received.
It reads the three forms vaxlink issues: an `HC1:` text holding an EU DCC or a WHO DDCC:VS core
data set (`verify` with `accept_ddcc`), and an `shc:/` SMART Health Card (`verify_shc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vaxlink.certificates.core import health_data, shc
from vaxlink.certificates.core.display import DisplayField
from vaxlink.certificates.core.shc_verify import verify_shc
from vaxlink.certificates.core.trust import RevocationSource, TrustSource
from vaxlink.certificates.core.verify import Step, Verified, verify
from vaxlink.certificates.errors import CertificateError


@dataclass(frozen=True, slots=True)
class Failure:
    """Why verification failed: a stable machine code and a message a person can act on."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of a verification. The payload and `fields` are set only when `authentic`."""

    valid: bool
    failure: Failure | None = None
    failed_step: Step | None = None
    authentic: bool = False
    payload: dict[str, Any] | None = None
    kid: bytes | str | None = None
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    #: "dcc", "ddcc" or "shc" (`Verified.format`); None when not read that far.
    format: str | None = None

    @property
    def fields(self) -> tuple[DisplayField, ...]:
        """The labelled fields a verifier shows (11 for a vaccination), in English."""
        if self.payload is None:
            return ()
        return health_data.fields_of(self.format, self.payload)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bytes as hex, datetimes as ISO 8601)."""
        return {
            "valid": self.valid,
            "failure": None
            if self.failure is None
            else {"code": self.failure.code, "message": self.failure.message},
            "failed_step": self.failed_step,
            "authentic": self.authentic,
            "kid": self.kid.hex() if isinstance(self.kid, bytes) else self.kid,
            "issuer_country": self.issuer_country,
            "issued_at": None if self.issued_at is None else self.issued_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "fields": [{"key": f.key, "label": f.label, "value": f.value} for f in self.fields],
            "warnings": list(self.warnings),
            "payload": self.payload,
            "format": self.format,
        }

    @classmethod
    def of(cls, verified: Verified) -> VerificationResult:
        """The result of a certificate `verify` found valid."""
        return cls(
            True, None, None, True, verified.payload, verified.kid, verified.issuer_country,
            verified.issued_at, verified.expires_at, verified.warnings, verified.format,
        )  # fmt: skip

    @classmethod
    def refused(cls, error: CertificateError) -> VerificationResult:
        """The result of a refusal: its code, message and step, and what had been read; of a
        message whose signature did not hold, only its kid (never a claim: they are unsigned)."""
        read = error.partial or Verified()
        if not read.authentic:
            # the transport's form (shc) is known, a CWT's (dcc or ddcc) only from its claims
            form = read.format if read.format == health_data.SHC else None
            read = Verified(kid=read.kid, format=form)
        return cls(
            False, Failure(error.code, str(error)), Step(error.step) if error.step else None,
            read.authentic, read.payload, read.kid, read.issuer_country, read.issued_at,
            read.expires_at, read.warnings, read.format,
        )  # fmt: skip


def is_shc(text: object) -> bool:
    """Whether `text` is a SMART Health Card QR text (`shc:/`, any case: a phone keyboard or a
    QR reader in alphanumeric mode may send it in capitals)."""
    return isinstance(text, str) and text[: len(shc.PREFIX)].lower() == shc.PREFIX


def verification_result(
    hc1_or_bytes: str | bytes,
    trust: TrustSource,
    *,
    clock: datetime,
    revocation: RevocationSource | None = None,
    strict_value_sets: bool = False,
) -> VerificationResult:
    """`verify` (an `HC1:` text: EU DCC or WHO DDCC:VS) or `verify_shc` (an `shc:/` text), its
    refusal turned into a result: any input gives a result, never an exception (except a naive
    `clock`, a programming error)."""
    try:
        if is_shc(hc1_or_bytes):
            assert isinstance(hc1_or_bytes, str)
            verified = verify_shc(hc1_or_bytes, trust, clock=clock, revocation=revocation)
        else:
            verified = verify(
                hc1_or_bytes, trust, clock=clock, revocation=revocation,
                strict_value_sets=strict_value_sets, accept_ddcc=True,
            )  # fmt: skip
    except CertificateError as exc:
        return VerificationResult.refused(exc)
    return VerificationResult.of(verified)

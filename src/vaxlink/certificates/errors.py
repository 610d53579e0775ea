"""Certificate errors: one root and one class per way a certificate can fail, each with a stable code.

Other certificate modules (keys, PKCS#11, trust list) append their own classes at the end of this file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaxlink import errors
from vaxlink.errors import Unavailable, VaxlinkError

if TYPE_CHECKING:
    from vaxlink.certificates.core.verify import Verified


class CertificateError(VaxlinkError):
    """Root of every certificate error; `code` is stable and safe to show to machines."""

    http_status = 422
    exit_code = 1
    code = "certificate_error"
    #: Set by `core.verify.verify` on the error it raises: the step that failed (a `Step`) …
    step: str | None = None
    #: … and what had been read of the certificate by then (trust it only when `authentic`).
    partial: Verified | None = None


class DecodeError(CertificateError):
    """The bytes are not a well-formed HC1 / COSE / CWT message."""

    code = "decode_error"


class InputTooLarge(DecodeError):
    """The input is longer than any QR code can carry."""

    code = "input_too_large"


class PrefixInvalid(DecodeError):
    """The text does not start with the `HC1:` context identifier."""

    code = "prefix_invalid"


class Base45Invalid(DecodeError):
    """The text after the prefix is not valid Base45 (RFC 9285)."""

    code = "base45_invalid"


class DecompressionFailed(DecodeError):
    """The Base45 payload is not a valid zlib stream."""

    code = "decompression_failed"


class Truncated(DecodeError):
    """The zlib stream ends before its end marker: the code was cut off."""

    code = "truncated"


class PayloadTooLarge(DecodeError):
    """Decompression would exceed the hard size limit (a decompression bomb)."""

    code = "payload_too_large"


class CborInvalid(DecodeError):
    """The bytes are not valid CBOR."""

    code = "cbor_invalid"


class CoseMalformed(DecodeError):
    """The CBOR is not a COSE_Sign1 structure of the expected shape."""

    code = "cose_malformed"


class NumericInvalid(DecodeError):
    """The digits after `shc:/` are not a SMART Health Card's numeric encoding (pairs 00-77)."""

    code = "numeric_invalid"


class JwsMalformed(DecodeError):
    """The text is not a compact JWS of the SMART Health Card shape (header, payload, signature)."""

    code = "jws_malformed"


class ClaimsInvalid(DecodeError):
    """The CWT claims (iss, iat, exp, hcert) are missing or of the wrong type."""

    code = "claims_invalid"


class UnknownKid(CertificateError):
    """No trusted signing certificate is known for the message's key id."""

    code = "unknown_kid"


class SignatureInvalid(CertificateError):
    """The signature does not verify with the trusted certificate."""

    code = "signature_invalid"


class UnsupportedAlgorithm(SignatureInvalid):
    """The COSE algorithm is not ES256/PS256 or does not fit the signer's key."""

    code = "unsupported_algorithm"


class Expired(CertificateError):
    """The certificate's expiry (exp) is before the verification clock."""

    code = "expired"


class NotYetValid(CertificateError):
    """The certificate's issue time (iat) is after the verification clock."""

    code = "not_yet_valid"


class DscValidityInvalid(CertificateError):
    """The certificate's iat/exp fall outside its signing certificate's own validity window."""

    code = "dsc_validity_invalid"


class KeyUsageInvalid(CertificateError):
    """The signing certificate's extended key usage does not allow this certificate type."""

    code = "key_usage_invalid"


class SchemaInvalid(CertificateError):
    """The DCC payload does not follow the EU DCC JSON schema."""

    code = "schema_invalid"


class ValueSetInvalid(SchemaInvalid):
    """A coded field holds a code that is unknown (or, for issuance, inactive) in its EU value set."""

    code = "value_set_invalid"


class HealthDataInvalid(SchemaInvalid):
    """The signed content of a WHO DDCC:VS or SMART Health Card lacks the facts a verifier shows
    (name, date of birth, a vaccination) or holds them in the wrong shape."""

    code = "health_data_invalid"


class Revoked(CertificateError):
    """The certificate identifier is on the revocation list."""

    code = "revoked"


class UvciInvalid(CertificateError):
    """A unique vaccination certificate identifier is malformed or fails its checksum."""

    code = "uvci_invalid"


class IssuanceInvalid(CertificateError):
    """The issuance request itself is unusable (e.g. naive time, bad issuer code)."""

    code = "issuance_invalid"


class SignerError(CertificateError):
    """A signing key or its certificate cannot be used (wrong type, mismatch, unreadable)."""

    code = "signer_error"


class VerifierFault(CertificateError):
    """Verification could not finish: a bug, or a trust/revocation source that failed (fail closed)."""

    http_status = Unavailable.http_status
    exit_code = Unavailable.exit_code
    code = "internal_error"


# --- Keys, HSM, trust list and QR image (owned by the keys/PKCS#11/trust-list work). ---
# Checked by their owner; HsmError maps to 503 (the token is a dependency that can be down).


class KeyManagementError(CertificateError):
    """A key, certificate or trust-list entry cannot be created or used as asked."""

    code = "key_management_error"


class HsmError(KeyManagementError):
    """The PKCS#11 token refused or failed an operation."""

    http_status = Unavailable.http_status
    exit_code = Unavailable.exit_code
    code = "hsm_error"


class HsmPinIncorrect(HsmError):
    """The token refused the user PIN given to log in."""

    http_status = errors.Forbidden.http_status
    exit_code = errors.Forbidden.exit_code
    code = "hsm_pin_incorrect"


class TrustListInvalid(CertificateError):
    """A trust list is malformed or its signature does not verify."""

    code = "trust_list_invalid"


class QrNotFound(CertificateError):
    """No QR code could be read from the image."""

    code = "qr_not_found"


class DocumentRenderError(CertificateError):
    """A PDF or FHIR document cannot be produced from the given data (or a font is missing)."""

    http_status = 500
    code = "document_render_error"


# --- The store: approvals, issuance, life cycle, client applications. ---


class ApprovalError(CertificateError):
    """Records cannot be approved as asked (no facility key, key of another facility, …)."""

    code = "approval_error"


class CertificateNotFound(CertificateError):
    """No certificate (or no person, recovery or API client) matches what was asked for."""

    http_status = 404
    exit_code = 3
    code = "certificate_not_found"


class TransitionInvalid(CertificateError):
    """A certificate's status cannot move as asked (e.g. a revoked certificate cannot be renewed)."""

    http_status = 409
    exit_code = 4
    code = "transition_invalid"


class IssuanceConflict(CertificateError):
    """Another run wrote a certificate for the same person at the same time; run again."""

    http_status = 409
    exit_code = 4
    code = "issuance_conflict"


class RecoveryInvalid(CertificateError):
    """A recovery entry is unusable (date in the future, unknown person, …)."""

    code = "recovery_invalid"


class Unauthenticated(errors.Unauthenticated, CertificateError):
    """The request carries no valid client token."""

    headers = {"WWW-Authenticate": 'Bearer realm="vaxlink"'}  # noqa: RUF012 - read-only


class Forbidden(errors.Forbidden, CertificateError):
    """The client application is known but not allowed to do this."""


class RequestTooLarge(CertificateError):
    """The request body is larger than this endpoint accepts."""

    http_status = 413
    code = "request_too_large"


class TrustListUnavailable(CertificateError):
    """The trust list cannot be published yet (no trust-list signer in the key directory)."""

    http_status = Unavailable.http_status
    exit_code = Unavailable.exit_code
    code = "trust_list_unavailable"


class PlainFacilityKey(KeyManagementError):
    """A facility approval key is still an unencrypted file: it must be wrapped for its
    approvers before anything signs with it."""

    code = "plain_facility_key"


class SigningRefused(ApprovalError):
    """The approval key of a site is not unlocked for this account (not a site approver of the
    site, no wrap of the key for it, or a wrong signing passphrase)."""

    http_status = 403
    exit_code = 6
    code = "signing_refused"


class SigningPassphraseWrong(SigningRefused):
    """The signing passphrase does not open the account's wrap of the site's approval key."""

    code = "signing_passphrase_wrong"


class SigningLocked(errors.TooManyRequests, ApprovalError):
    """Too many wrong signing passphrases for this account: signing waits `retry_after_seconds`."""

    code = "signing_locked"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}


class IssuanceCapped(errors.TooManyRequests, CertificateError):
    """The account has issued as many certificates today as VAXLINK_ISSUANCE_CAP_PER_DAY allows."""

    code = "issuance_capped"

    def __init__(self, account: str, cap: int) -> None:
        super().__init__(
            f"account {account!r} has issued its {cap:,} certificates for today "
            "(VAXLINK_ISSUANCE_CAP_PER_DAY); issuance stopped. The rest are issued by a run "
            "tomorrow, or by another issuer after review / Tài khoản đã cấp đủ số chứng nhận "
            "cho phép trong ngày; việc cấp đã dừng."
        )
        self.account = account
        self.cap = cap
        self.keyed("error.issuance_capped_at", cap=f"{cap:,}".replace(",", "."))

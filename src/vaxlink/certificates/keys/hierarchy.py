"""The issuer's key hierarchy: CSCA, document signers (DSC), facility and trust-list signers.

Certificates are built here and nowhere else (`store.KeyStore` keeps them as PEM files). Every
validity period is computed from a `now` the caller passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from vaxlink.certificates.errors import KeyManagementError

#: EU DCC document-signer extended key usages (eHealth Network, "DCC technical specifications",
#: vol. 1): a DSC may sign only the certificate types whose OIDs it carries (all when none).
OID_DCC_TEST = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.1")
OID_DCC_VACCINATION = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")
OID_DCC_RECOVERY = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.3")

#: vaxlink's private OID arc: a UUID-derived OID (ITU-T X.667, "2.25.<uuid as integer>", for
#: UUID 6c8f8714-1451-4525-9283-d05adc5fd9f3), globally unique without registration. Sub-arc .1
#: holds extended key usages.
VAXLINK_OID_ARC = "2.25.144301861711689087609475054345727760883"
#: EKU of a vaccination site's key that approves dose records (not valid for DCC signing).
OID_FACILITY_APPROVAL = x509.ObjectIdentifier(f"{VAXLINK_OID_ARC}.1.1")
#: EKU of the key that signs the published DSC trust list.
OID_TRUST_LIST_SIGNING = x509.ObjectIdentifier(f"{VAXLINK_OID_ARC}.1.2")
#: EKU of a district health centre's key that signs its residents' list (district approval).
OID_DISTRICT_APPROVAL = x509.ObjectIdentifier(f"{VAXLINK_OID_ARC}.1.3")

CSCA_VALIDITY_DAYS = 4 * 365 + 1
#: A DSC's certificate lives two years (as the EU's governance sets it): it signs certificates of 12
#: months during its first year and verifies them until the end of its second.
DSC_VALIDITY_DAYS = 2 * 365 + 1
FACILITY_VALIDITY_DAYS = 2 * 365
DISTRICT_VALIDITY_DAYS = 2 * 365
TRUST_LIST_SIGNER_VALIDITY_DAYS = 2 * 365

Curve = Literal["P-256", "P-384"]
_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
_COSE_ALG = {"secp256r1": -7, "secp384r1": -35}  # ES256, ES384
_HASH: dict[str, type[hashes.SHA256 | hashes.SHA384]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
}


class DccType(StrEnum):
    """The EU DCC certificate types a DSC may be restricted to (by extended key usage)."""

    TEST = "t"
    VACCINATION = "v"
    RECOVERY = "r"


_DCC_OIDS = {
    DccType.TEST: OID_DCC_TEST,
    DccType.VACCINATION: OID_DCC_VACCINATION,
    DccType.RECOVERY: OID_DCC_RECOVERY,
}
# Many deployed DSCs (and the EU test data) carry the misspelt arc 1.3.6.1.4.1.0.1847.2021.1.x;
# verifiers accept both, so `dcc_types` reads both. vaxlink issues only the specified spelling.
_DCC_OIDS_READ = {
    t: (oid, x509.ObjectIdentifier(oid.dotted_string.replace(".1.1847.", ".1.0.1847.")))
    for t, oid in _DCC_OIDS.items()
}


def kid(certificate: x509.Certificate) -> bytes:
    """EU DCC key id: the first 8 bytes of the SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


@dataclass(frozen=True)
class KeyPair:
    """A certificate with its EC private key; satisfies the `Signer` protocol (raw r||s)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def kid(self) -> bytes:
        """EU DCC key id of the certificate."""
        return kid(self.certificate)

    @property
    def algorithm(self) -> int:
        """COSE algorithm id: ES256 (-7) on P-256, ES384 (-35) on P-384."""
        return _COSE_ALG[self.private_key.curve.name]

    @property
    def certificate_der(self) -> bytes:
        """The DER-encoded certificate."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        """ECDSA over `data` in COSE/JWS form: r and s as fixed-length big-endian integers."""
        curve = self.private_key.curve
        der = self.private_key.sign(data, ec.ECDSA(_HASH[curve.name]()))
        r, s = decode_dss_signature(der)
        size = (curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise KeyManagementError("`now` must be a timezone-aware datetime (UTC)")
    return now.replace(microsecond=0)


def _name(country: str, organization: str, common_name: str) -> x509.Name:
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise KeyManagementError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _leaf(
    issuer: KeyPair,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    now: datetime,
    validity_days: int,
    ekus: Iterable[x509.ObjectIdentifier],
) -> x509.Certificate:
    """An end-entity certificate for `public_key`, signed by `issuer`, for digital signatures."""
    start = _utc(now)
    end = start + timedelta(days=validity_days)
    if end > issuer.certificate.not_valid_after_utc:
        raise KeyManagementError(
            f"the issuing CA expires on {issuer.certificate.not_valid_after_utc:%Y-%m-%d}, before "
            f"the requested end {end:%Y-%m-%d}: rotate the CA or shorten the validity"
        )
    if start < issuer.certificate.not_valid_before_utc:
        raise KeyManagementError("the issuing CA is not yet valid at `now`")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(digital_signature=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
    )
    eku = list(ekus)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(issuer.private_key, _HASH[issuer.private_key.curve.name]())


def _usage(*, digital_signature: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_csca(
    *,
    country: str,
    organization: str,
    now: datetime,
    common_name: str | None = None,
    curve: Curve = "P-256",
    validity_days: int = CSCA_VALIDITY_DAYS,
) -> KeyPair:
    """A new self-signed country signing CA (keyCertSign, cRLSign; path length 0)."""
    key = ec.generate_private_key(_CURVES[curve])
    name = _name(country, organization, common_name or f"{organization} CSCA")
    start = _utc(now)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _HASH[key.curve.name]())
    )
    return KeyPair(cert, key)


def issue_dsc(
    csca: KeyPair,
    public_key: ec.EllipticCurvePublicKey,
    *,
    now: datetime,
    common_name: str,
    types: Iterable[DccType] = (DccType.VACCINATION,),
    validity_days: int = DSC_VALIDITY_DAYS,
) -> x509.Certificate:
    """A document signer certificate for an existing P-256 key (e.g. one held on an HSM)."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != (
        "secp256r1"
    ):
        raise KeyManagementError("a DSC key must be EC P-256 (COSE ES256)")
    subject = csca.certificate.subject
    name = _name(
        _attr(subject, NameOID.COUNTRY_NAME), _attr(subject, NameOID.ORGANIZATION_NAME), common_name
    )
    oids = [_DCC_OIDS[DccType(t)] for t in sorted(set(types))]
    return _leaf(csca, name, public_key, now=now, validity_days=validity_days, ekus=oids)


def issue_dsc_from_csr(
    csca: KeyPair,
    csr: x509.CertificateSigningRequest,
    *,
    now: datetime,
    types: Iterable[DccType] = (DccType.VACCINATION,),
    validity_days: int = DSC_VALIDITY_DAYS,
) -> x509.Certificate:
    """A DSC for the key in a PKCS#10 request, after checking the request's self-signature."""
    if not csr.is_signature_valid:
        raise KeyManagementError("the certificate signing request's signature is invalid")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyManagementError("a DSC key must be EC P-256 (COSE ES256)")
    common_name = _attr(csr.subject, NameOID.COMMON_NAME) or "Document Signer"
    return issue_dsc(
        csca, key, now=now, common_name=common_name, types=types, validity_days=validity_days
    )


def create_dsc(
    csca: KeyPair,
    *,
    now: datetime,
    common_name: str,
    types: Iterable[DccType] = (DccType.VACCINATION,),
    validity_days: int = DSC_VALIDITY_DAYS,
) -> KeyPair:
    """A new P-256 document signer key and its certificate issued by the CSCA."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_dsc(
        csca,
        key.public_key(),
        now=now,
        common_name=common_name,
        types=types,
        validity_days=validity_days,
    )
    return KeyPair(cert, key)


def certify_facility_key(
    ca: KeyPair,
    public_key: ec.EllipticCurvePublicKey,
    *,
    facility_code: str,
    facility_name: str,
    now: datetime,
    validity_days: int = FACILITY_VALIDITY_DAYS,
) -> x509.Certificate:
    """A vaccination site's approval certificate (EKU `OID_FACILITY_APPROVAL`, CN = the code)
    for a P-256 key made elsewhere (in memory, or on a PKCS#11 token)."""
    if not facility_code.strip():
        raise KeyManagementError("a facility certificate needs the facility code")
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise KeyManagementError("a facility approval key must be EC P-256 (ES256)")
    subject = x509.Name(
        [
            *ca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, facility_name),
            x509.NameAttribute(NameOID.COMMON_NAME, facility_code),
        ]
    )
    return _leaf(
        ca, subject, public_key, now=now, validity_days=validity_days,
        ekus=[OID_FACILITY_APPROVAL],
    )  # fmt: skip


def create_facility_signer(
    ca: KeyPair,
    *,
    facility_code: str,
    facility_name: str,
    now: datetime,
    validity_days: int = FACILITY_VALIDITY_DAYS,
) -> KeyPair:
    """A vaccination site's P-256 key for approving dose records (EKU `OID_FACILITY_APPROVAL`)."""
    if not facility_code.strip():
        raise KeyManagementError("a facility certificate needs the facility code")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certify_facility_key(
        ca, key.public_key(), facility_code=facility_code, facility_name=facility_name, now=now,
        validity_days=validity_days,
    )  # fmt: skip
    return KeyPair(cert, key)


def certify_district_key(
    ca: KeyPair,
    public_key: ec.EllipticCurvePublicKey,
    *,
    district_code: str,
    district_name: str,
    now: datetime,
    validity_days: int = DISTRICT_VALIDITY_DAYS,
) -> x509.Certificate:
    """A district health centre's approval certificate (EKU `OID_DISTRICT_APPROVAL`, CN = the
    district code) for a P-256 key made elsewhere (in memory, or on a PKCS#11 token)."""
    if not district_code.strip():
        raise KeyManagementError("a district certificate needs the district code")
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise KeyManagementError("a district approval key must be EC P-256 (ES256)")
    subject = x509.Name(
        [
            *ca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, district_name),
            x509.NameAttribute(NameOID.COMMON_NAME, district_code),
        ]
    )
    return _leaf(
        ca, subject, public_key, now=now, validity_days=validity_days,
        ekus=[OID_DISTRICT_APPROVAL],
    )  # fmt: skip


def create_district_signer(
    ca: KeyPair,
    *,
    district_code: str,
    district_name: str,
    now: datetime,
    validity_days: int = DISTRICT_VALIDITY_DAYS,
) -> KeyPair:
    """A district health centre's P-256 key for signing its residents' list (EKU
    `OID_DISTRICT_APPROVAL`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certify_district_key(
        ca, key.public_key(), district_code=district_code, district_name=district_name, now=now,
        validity_days=validity_days,
    )  # fmt: skip
    return KeyPair(cert, key)


def create_trust_list_signer(
    csca: KeyPair, *, now: datetime, validity_days: int = TRUST_LIST_SIGNER_VALIDITY_DAYS
) -> KeyPair:
    """The P-256 key that signs the published trust list (EKU `OID_TRUST_LIST_SIGNING`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = csca.certificate.subject
    name = _name(
        _attr(subject, NameOID.COUNTRY_NAME),
        _attr(subject, NameOID.ORGANIZATION_NAME),
        "Trust List Signer",
    )
    cert = _leaf(
        csca,
        name,
        key.public_key(),
        now=now,
        validity_days=validity_days,
        ekus=[OID_TRUST_LIST_SIGNING],
    )
    return KeyPair(cert, key)


def extended_key_usages(certificate: x509.Certificate) -> frozenset[x509.ObjectIdentifier]:
    """The certificate's extended key usage OIDs (empty when it has none)."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(ext.value)


def dcc_types(certificate: x509.Certificate) -> frozenset[DccType]:
    """Certificate types a DSC may sign: those named by its DCC EKUs, or all when it names none."""
    usages = extended_key_usages(certificate)
    named = {t for t, oids in _DCC_OIDS_READ.items() if usages.intersection(oids)}
    return frozenset(named) if named else frozenset(DccType)


def is_issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s key signed `certificate` and the names chain."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_valid_at(certificate: x509.Certificate, now: datetime) -> bool:
    """True when `now` falls within the certificate's validity period."""
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc

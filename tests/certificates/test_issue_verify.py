"""Issue -> verify round trips with PEM keys made here (ES256, PS256), and each way verification fails."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.dsc import certificate_kid
from vaxlink.certificates.core.issue import Months, add_validity, issue, issue_stream
from vaxlink.certificates.core.payload import recovery_payload, vaccination_payload
from vaxlink.certificates.core.signer import ES256, PS256, Signer
from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList, uvci_hash
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.core.verify import Step, Verified, verify
from vaxlink.certificates.errors import (
    CertificateError,
    DscValidityInvalid,
    Expired,
    IssuanceInvalid,
    KeyUsageInvalid,
    NotYetValid,
    PrefixInvalid,
    Revoked,
    SchemaInvalid,
    SignatureInvalid,
    SignerError,
    UnknownKid,
    UvciInvalid,
    VerifierFault,
)
from vaxlink.certificates.keys.pem import PemSigner
from vaxlink.certificates.verification.result import (
    Failure,
    VerificationResult,
    verification_result,
)

ISSUED = datetime(2021, 9, 2, 8, 30, tzinfo=UTC)
LATER = datetime(2022, 1, 1, tzinfo=UTC)
DCC_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
DCC_TEST = "1.3.6.1.4.1.1847.2021.1.1"
DCC_RECOVERY_ALT = "1.3.6.1.4.1.0.1847.2021.1.3"


def make_dsc(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    *,
    usages: list[str] | None = None,
    not_before: datetime = datetime(2021, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2031, 1, 1, tzinfo=UTC),
) -> x509.Certificate:
    """A self-signed document-signer certificate for `key`."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if usages is not None:
        eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(u) for u in usages])
        builder = builder.add_extension(eku, critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer(ec_key: ec.EllipticCurvePrivateKey) -> PemSigner:
    return PemSigner(ec_key, make_dsc(ec_key))


def trust_of(signer: Signer) -> InMemoryTrustList:
    return InMemoryTrustList([x509.load_der_x509_certificate(signer.certificate_der)])


def payload(seed: str = "dose-1", **changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "family_name": "Nguyễn",
        "given_name": "Văn An",
        "date_of_birth": "1990-02-03",
        "product": "EU/1/20/1528",
        "manufacturer": "ORG-100030215",
        "prophylaxis": "1119349007",
        "dose_number": 2,
        "total_doses": 2,
        "vaccination_date": "2021-09-01",
        "uvci": uvci_from_seed(seed),
        "issuer": "Ministry of Health of Viet Nam",
    }
    return vaccination_payload(**{**args, **changes})


def sign_raw(signer: Signer, claims: dict[Any, Any], *, unprotected_kid: bool = False) -> str:
    """An HC1 text built by hand, for messages `issue` would refuse to make."""
    body = cbor2.dumps(claims)
    if unprotected_kid:
        protected = cbor2.dumps({1: signer.algorithm})
        signature = signer.sign(cose.sig_structure(protected, body))
        message = [protected, {4: signer.kid}, body, signature]
        return hc1.encode(cbor2.dumps(cbor2.CBORTag(18, message)))
    return hc1.encode(cose.sign1(body, signer))


def claims_of(dcc: dict[str, Any], iat: datetime = ISSUED, days: int = 365) -> dict[Any, Any]:
    stamp = int(iat.timestamp())
    return {1: "VN", 6: stamp, 4: stamp + days * 86400, -260: {1: dcc}}


@pytest.mark.parametrize("algorithm", ["ES256", "PS256"])
def test_round_trip(
    algorithm: str, ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    key = ec_key if algorithm == "ES256" else rsa_key
    signer = PemSigner(key, make_dsc(key))
    assert signer.algorithm == (ES256 if algorithm == "ES256" else PS256)
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    assert issued.hc1.startswith("HC1:")
    assert (issued.uvci, issued.kid) == (uvci_from_seed("dose-1"), signer.kid)
    assert issued.iat == ISSUED
    assert issued.exp == ISSUED + timedelta(days=365)
    result = verification_result(issued.hc1, trust_of(signer), clock=LATER)
    assert result.valid
    assert result.authentic
    assert (result.failure, result.failed_step, result.warnings) == (None, None, ())
    assert result.payload == payload()
    assert (result.kid, result.issuer_country) == (signer.kid, "VN")
    assert (result.issued_at, result.expires_at) == (issued.iat, issued.exp)
    assert len(result.fields) == 11
    assert {f.key: f.value for f in result.fields}["product"] == "Comirnaty"
    json.dumps(result.to_dict())


def test_validity_in_months(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED, validity=Months(12))
    assert issued.exp == datetime(2022, 9, 2, 8, 30, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert add_validity(leap, Months(12)) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_validity(datetime(2021, 1, 31, tzinfo=UTC), Months(1)) == datetime(
        2021, 2, 28, tzinfo=UTC
    )
    assert add_validity(leap, timedelta(days=1)) == datetime(2024, 3, 1, tzinfo=UTC)


def test_recovery_round_trip(signer: PemSigner) -> None:
    recovery = recovery_payload(
        family_name="Lê",
        given_name="Minh",
        date_of_birth="1985",
        first_positive="2021-08-01",
        valid_from="2021-08-12",
        valid_until="2022-01-28",
        uvci=uvci_from_seed("rec-1"),
        issuer="Ministry of Health of Viet Nam",
    )
    issued = issue(recovery, signer, issuer="VN", issued_at=ISSUED, validity=timedelta(days=150))
    result = verification_result(issued.hc1, trust_of(signer), clock=LATER)
    assert result.valid
    assert {f.key for f in result.fields} >= {"first_positive", "valid_from", "valid_until"}


def test_cose_bytes_verify_too(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    assert verification_result(hc1.decode(issued.hc1), trust_of(signer), clock=LATER).valid


def test_time_boundaries(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    trust = trust_of(signer)
    assert verification_result(issued.hc1, trust, clock=issued.iat).valid
    assert verification_result(issued.hc1, trust, clock=issued.exp).valid
    early = verification_result(issued.hc1, trust, clock=issued.iat - timedelta(seconds=1))
    late = verification_result(issued.hc1, trust, clock=issued.exp + timedelta(seconds=1))
    assert (early.failure and early.failure.code, early.failed_step) == ("not_yet_valid", Step.TIME)
    assert (late.failure and late.failure.code, late.failed_step) == ("expired", Step.TIME)
    assert late.authentic
    assert late.payload == payload()
    assert len(late.fields) == 11


def test_revocation_by_uvci_hash(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    trust = trust_of(signer)
    revoked = verification_result(
        issued.hc1, trust, clock=LATER, revocation=InMemoryRevocationList([issued.uvci])
    )
    assert (revoked.failure and revoked.failure.code, revoked.failed_step) == (
        "revoked",
        Step.REVOCATION,
    )
    digest = hashlib.sha256(issued.uvci.encode()).digest()
    assert uvci_hash(issued.uvci) == digest
    by_hash = InMemoryRevocationList(hashes=[digest])  # full hash in, 128 bits kept (EU gateway)
    assert by_hash.is_revoked(issued.uvci)
    assert not by_hash.is_revoked(uvci_from_seed("other"))
    other = InMemoryRevocationList([uvci_from_seed("other")])
    assert verification_result(issued.hc1, trust, clock=LATER, revocation=other).valid


def test_unknown_kid_and_wrong_key(signer: PemSigner, ec_key: ec.EllipticCurvePrivateKey) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    unknown = verification_result(issued.hc1, InMemoryTrustList(), clock=LATER)
    assert (unknown.failure and unknown.failure.code, unknown.failed_step) == (
        "unknown_kid",
        Step.KID,
    )
    # nothing of an unverified message is shown: no claims, only the kid it names
    assert (unknown.payload, unknown.issued_at, unknown.fields) == (None, None, ())
    assert (unknown.kid, unknown.authentic) == (signer.kid, False)

    impostor = make_dsc(ec.generate_private_key(ec.SECP256R1()))

    class Colliding:
        def lookup(self, kid: bytes) -> list[x509.Certificate]:
            return [impostor, x509.load_der_x509_certificate(signer.certificate_der)]

    assert verification_result(
        issued.hc1, Colliding(), clock=LATER
    ).valid  # kids may collide: try each DSC

    class OnlyImpostor:
        def lookup(self, kid: bytes) -> list[x509.Certificate]:
            return [impostor]

    wrong = verification_result(issued.hc1, OnlyImpostor(), clock=LATER)
    assert (wrong.failure and wrong.failure.code, wrong.failed_step) == (
        "signature_invalid",
        Step.SIGNATURE,
    )


def test_tampered_payload_fails_the_signature(signer: PemSigner) -> None:
    raw = hc1.decode(issue(payload(), signer, issuer="VN", issued_at=ISSUED).hc1)
    tampered = raw.replace("Văn An".encode(), "Văn Em".encode())  # same length: CBOR stays valid
    assert tampered != raw
    result = verification_result(tampered, trust_of(signer), clock=LATER)
    assert result.failure is not None
    assert result.failure.code == "signature_invalid"


def test_kid_in_the_unprotected_header_is_accepted(signer: PemSigner) -> None:
    text = sign_raw(signer, claims_of(payload()), unprotected_kid=True)
    assert verification_result(text, trust_of(signer), clock=LATER).valid


def test_key_usage(ec_key: ec.EllipticCurvePrivateKey) -> None:
    test_only = PemSigner(ec_key, make_dsc(ec_key, usages=[DCC_TEST]))
    with pytest.raises(KeyUsageInvalid):
        issue(payload(), test_only, issuer="VN", issued_at=ISSUED)
    result = verification_result(
        sign_raw(test_only, claims_of(payload())), trust_of(test_only), clock=LATER
    )
    assert (result.failure and result.failure.code, result.failed_step) == (
        "key_usage_invalid",
        Step.KEY_USAGE,
    )
    for usages in ([DCC_VACCINATION], [DCC_TEST, "1.3.6.1.4.1.0.1847.2021.1.2"], [], None,
                   [ExtendedKeyUsageOID.SERVER_AUTH.dotted_string]):  # fmt: skip
        if usages == []:
            continue  # cryptography refuses to build an empty EKU; the EU case CO15 covers it
        allowed = PemSigner(ec_key, make_dsc(ec_key, usages=usages))
        assert verification_result(
            issue(payload(), allowed, issuer="VN", issued_at=ISSUED).hc1,
            trust_of(allowed),
            clock=LATER,
        ).valid
    recovery_only = PemSigner(ec_key, make_dsc(ec_key, usages=[DCC_RECOVERY_ALT]))
    with pytest.raises(KeyUsageInvalid, match="'v'"):
        issue(payload(), recovery_only, issuer="VN", issued_at=ISSUED)


def test_dsc_validity_window(ec_key: ec.EllipticCurvePrivateKey) -> None:
    short = PemSigner(ec_key, make_dsc(ec_key, not_after=datetime(2022, 6, 1, tzinfo=UTC)))
    with pytest.raises(DscValidityInvalid):
        issue(payload(), short, issuer="VN", issued_at=ISSUED)
    assert issue(payload(), short, issuer="VN", issued_at=ISSUED, validity=timedelta(days=200))
    result = verification_result(
        sign_raw(short, claims_of(payload())), trust_of(short), clock=LATER
    )
    assert (result.failure and result.failure.code, result.failed_step) == (
        "dsc_validity_invalid",
        Step.DSC_VALIDITY,
    )
    late = PemSigner(ec_key, make_dsc(ec_key, not_before=datetime(2021, 10, 1, tzinfo=UTC)))
    with pytest.raises(DscValidityInvalid):
        issue(payload(), late, issuer="VN", issued_at=ISSUED)


def test_schema_failures_are_reported_after_the_signature(signer: PemSigner) -> None:
    broken = payload()
    broken["v"][0]["dn"] = 0
    result = verification_result(sign_raw(signer, claims_of(broken)), trust_of(signer), clock=LATER)
    assert (result.failure and result.failure.code, result.failed_step) == (
        "schema_invalid",
        Step.SCHEMA,
    )
    unknown_code = payload()
    unknown_code["v"][0]["mp"] = "Made-up"
    text = sign_raw(signer, claims_of(unknown_code))
    lenient = verification_result(text, trust_of(signer), clock=LATER)
    assert lenient.valid
    assert lenient.warnings
    assert "Made-up" in lenient.warnings[0]
    strict = verification_result(text, trust_of(signer), clock=LATER, strict_value_sets=True)
    assert strict.failure is not None
    assert strict.failure.code == "value_set_invalid"


@pytest.mark.parametrize(
    ("clock", "error", "step"),
    [
        (LATER, None, None),
        (datetime(2030, 1, 1, tzinfo=UTC), Expired, Step.TIME),
        (datetime(2020, 1, 1, tzinfo=UTC), NotYetValid, Step.TIME),
    ],
)
def test_verify_raises_typed_errors(
    signer: PemSigner, clock: datetime, error: type[Exception] | None, step: Step | None
) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    if error is None:
        verified = verify(issued.hc1, trust_of(signer), clock=clock)
        assert verified.authentic
        assert (verified.kid, verified.issued_at, verified.expires_at) == (
            signer.kid,
            issued.iat,
            issued.exp,
        )
        assert verified.payload == payload()
    else:
        with pytest.raises(error) as raised:
            verify(issued.hc1, trust_of(signer), clock=clock)
        assert isinstance(raised.value, CertificateError)
        assert raised.value.step == step
        assert raised.value.partial is not None
        assert raised.value.partial.authentic  # the signature held; only the time did not
        assert raised.value.partial.payload == payload()
    with pytest.raises(UnknownKid) as unknown:
        verify(issued.hc1, InMemoryTrustList(), clock=clock)
    assert unknown.value.step == Step.KID
    assert unknown.value.partial == Verified(kid=signer.kid)  # no claims of an unverified message
    with pytest.raises(Revoked) as revoked:
        verify(
            issued.hc1,
            trust_of(signer),
            clock=LATER,
            revocation=InMemoryRevocationList([issued.uvci]),
        )
    assert revoked.value.step == Step.REVOCATION
    message = list(cbor2.loads(hc1.decode(issued.hc1)).value)
    message[3] = message[3][:-1] + bytes([message[3][-1] ^ 1])
    forged = hc1.encode(cbor2.dumps(cbor2.CBORTag(18, message)))
    with pytest.raises(SignatureInvalid) as forgery:
        verify(forged, trust_of(signer), clock=LATER)
    assert forgery.value.step == Step.SIGNATURE
    with pytest.raises(PrefixInvalid) as junk:
        verify("not a certificate", trust_of(signer), clock=LATER)
    assert (junk.value.step, junk.value.partial) == (Step.PREFIX, Verified())


def test_the_result_is_built_from_the_raised_error(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)
    late = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(Expired) as raised:
        verify(issued.hc1, trust_of(signer), clock=late)
    result = verification_result(issued.hc1, trust_of(signer), clock=late)
    assert result == VerificationResult.refused(raised.value)
    assert result.failure == Failure("expired", str(raised.value))
    assert (result.failed_step, result.authentic, result.kid) == (Step.TIME, True, signer.kid)
    valid = verification_result(issued.hc1, trust_of(signer), clock=LATER)
    assert valid == VerificationResult.of(verify(issued.hc1, trust_of(signer), clock=LATER))


def test_broken_sources_fail_closed(signer: PemSigner) -> None:
    issued = issue(payload(), signer, issuer="VN", issued_at=ISSUED)

    class Broken:
        def lookup(self, kid: bytes) -> list[x509.Certificate]:
            raise ConnectionError("trust list service down")

        def is_revoked(self, uvci: str) -> bool:
            raise TimeoutError

    down = verification_result(issued.hc1, Broken(), clock=LATER)
    assert (down.failure and down.failure.code, down.failed_step) == ("internal_error", Step.KID)
    no_revocation = verification_result(
        issued.hc1, trust_of(signer), clock=LATER, revocation=Broken()
    )
    assert (no_revocation.failure and no_revocation.failure.code, no_revocation.failed_step) == (
        "internal_error",
        Step.REVOCATION,
    )
    with pytest.raises(VerifierFault) as fault:
        verify(issued.hc1, Broken(), clock=LATER)
    assert fault.value.step == Step.KID
    assert isinstance(fault.value.__cause__, ConnectionError)
    with pytest.raises(ValueError, match="timezone"):
        verification_result(issued.hc1, trust_of(signer), clock=datetime(2022, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"issued_at": datetime(2021, 9, 2)}, IssuanceInvalid),
        ({"issuer": "VNM"}, IssuanceInvalid),
        ({"issued_at": datetime(2021, 8, 31, tzinfo=UTC)}, IssuanceInvalid),  # vaccinated 1 Sept
        ({"validity": timedelta(0)}, IssuanceInvalid),
    ],
)
def test_issue_refuses_bad_requests(
    signer: PemSigner, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {"issuer": "VN", "issued_at": ISSUED, **kwargs}
    with pytest.raises(error):
        issue(payload(), signer, **args)


def test_issue_refuses_bad_payloads(signer: PemSigner) -> None:
    bad_uvci = payload()
    bad_uvci["v"][0]["ci"] = "URN:UVCI:01:VN:ABC#Z"
    with pytest.raises(UvciInvalid):
        issue(bad_uvci, signer, issuer="VN", issued_at=ISSUED)
    bad_schema = payload()
    del bad_schema["dob"]
    with pytest.raises(SchemaInvalid):
        issue(bad_schema, signer, issuer="VN", issued_at=ISSUED)


def test_issue_stream_is_lazy_and_idempotent(signer: PemSigner) -> None:
    made: list[str] = []

    def payloads() -> Iterator[dict[str, Any]]:
        for n in range(5):
            made.append(f"dose-{n}")
            yield payload(f"dose-{n}")

    stream = issue_stream(payloads(), signer, issuer="VN", issued_at=ISSUED)
    first = next(stream)
    assert made == ["dose-0"]
    rest = list(stream)
    assert [c.uvci for c in (first, *rest)] == [uvci_from_seed(f"dose-{n}") for n in range(5)]
    again = issue(payload("dose-0"), signer, issuer="VN", issued_at=ISSUED)
    assert again.uvci == first.uvci  # the same record always gets the same identifier


def test_pem_signer(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    certificate = make_dsc(ec_key)
    key_pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    signer = PemSigner.from_files(tmp_path / "key.pem", tmp_path / "cert.pem", password=b"pw")
    assert isinstance(signer, Signer)
    assert (
        signer.kid
        == certificate_kid(certificate)
        == hashlib.sha256(signer.certificate_der).digest()[:8]
    )
    raw = signer.sign(b"data")
    assert len(raw) == 64
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    ec_key.public_key().verify(encode_dss_signature(r, s), b"data", ec.ECDSA(hashes.SHA256()))

    ps = PemSigner(rsa_key, make_dsc(rsa_key))
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    rsa_key.public_key().verify(ps.sign(b"data"), b"data", pss, hashes.SHA256())

    with pytest.raises(SignerError, match="not for this private key"):
        PemSigner(rsa_key, certificate)
    p384 = ec.generate_private_key(ec.SECP384R1())
    p384_certificate = make_dsc(p384)
    with pytest.raises(SignerError, match="P-256"):
        PemSigner(p384, p384_certificate)
    with pytest.raises(SignerError):
        PemSigner.from_pem(b"not a key", cert_pem)
    with pytest.raises(SignerError):
        PemSigner.from_files(tmp_path / "missing.pem", tmp_path / "cert.pem")


def test_changing_a_built_payload_is_checked_again(signer: PemSigner) -> None:
    built = payload("recheck")
    assert issue(built, signer, issuer="VN", issued_at=ISSUED)  # checked when built, not again here
    built["v"][0]["dn"] = 0
    with pytest.raises(SchemaInvalid):
        issue(built, signer, issuer="VN", issued_at=ISSUED)
    built["v"][0]["dn"] = 1
    built["v"][0]["vp"] = "J07BX03"  # inactive: verifiers accept it, issuers may not use it
    with pytest.raises(SchemaInvalid):
        issue(built, signer, issuer="VN", issued_at=ISSUED)
    built["v"][0]["vp"] = "1119349007"
    built["v"][0]["when"] = datetime(2021, 9, 1, tzinfo=UTC)  # not JSON data
    with pytest.raises(SchemaInvalid):
        issue(built, signer, issuer="VN", issued_at=ISSUED)

"""Trust list: national-backend JSON shape, detached JWS signature, chain checks, revocation."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.certificates.core.canonical import canonical_json
from vaxlink.certificates.errors import KeyManagementError, TrustListInvalid
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.trustlist import (
    TrustList,
    TrustListEntry,
    build_trust_list,
    dsc_revocation_report,
    load_trust_list,
    without_dsc,
)
from vaxlink.errors import InvalidInput

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@runtime_checkable
class TrustSource(Protocol):
    """The verifier's view of trust (mirrors the protocol in the verify module)."""

    def lookup(self, kid: bytes) -> list[x509.Certificate]: ...


@pytest.fixture(scope="module")
def csca() -> keys.KeyPair:
    return keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)


@pytest.fixture(scope="module")
def signer(csca: keys.KeyPair) -> keys.KeyPair:
    return keys.create_trust_list_signer(csca, now=NOW)


@pytest.fixture(scope="module")
def dscs(csca: keys.KeyPair) -> list[x509.Certificate]:
    return [keys.create_dsc(csca, now=NOW, common_name=f"DSC {i}").certificate for i in range(1, 4)]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _resign(document: bytes, signature: str, pair: keys.KeyPair) -> str:
    """Sign `document` again under the same header, as a forger holding `pair` would."""
    header = json.loads(_unb64url(signature.split(".")[0]))
    header["x5c"] = [base64.b64encode(pair.certificate_der).decode()]
    protected = _b64url(json.dumps(header).encode())
    raw = pair.sign(f"{protected}.{_b64url(document)}".encode())
    return f"{protected}..{_b64url(raw)}"


def test_round_trip_gives_kid_to_certificates(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    published = build_trust_list(dscs, signer, NOW)
    trust = load_trust_list(published.document, published.signature, csca.certificate, now=NOW)
    assert isinstance(trust, TrustSource)
    assert len(trust) == 3
    for cert in dscs:
        assert trust.lookup(keys.kid(cert)) == [cert]
    assert trust.lookup(b"\0" * 8) == []
    assert trust.issued_at == NOW
    entry = trust.entries[0]
    assert entry.country == "VN"
    assert entry.timestamp == entry.certificate.not_valid_before_utc


def test_document_has_the_national_backend_shape_in_canonical_json(
    signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    published = build_trust_list(dscs, signer, NOW)
    doc = json.loads(published.document)
    assert canonical_json(doc) == published.document
    assert set(doc) == {"certificates"}
    item = doc["certificates"][0]
    assert set(item) == {
        "certificateType",
        "country",
        "kid",
        "rawData",
        "signature",
        "thumbprint",
        "timestamp",
    }
    der = base64.b64decode(item["rawData"])
    assert item["certificateType"] == "DSC"
    assert item["country"] == "VN"
    assert base64.b64decode(item["kid"]) == hashlib.sha256(der).digest()[:8]
    assert item["thumbprint"] == hashlib.sha256(der).hexdigest()
    assert item["timestamp"].endswith("Z")
    # duplicates collapse and entries are ordered by kid (ECDSA signatures themselves vary)
    again = json.loads(build_trust_list([*reversed(dscs), dscs[0]], signer, NOW).document)
    assert [i["rawData"] for i in again["certificates"]] == [
        i["rawData"] for i in doc["certificates"]
    ]
    assert [base64.b64decode(i["kid"]) for i in doc["certificates"]] == sorted(
        keys.kid(c) for c in dscs
    )


def test_signature_is_a_standard_detached_es256_jws(
    signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    """Checked here without vaxlink code, as a verifier with any JOSE library would."""
    published = build_trust_list(dscs, signer, NOW)
    protected, payload, sig = published.signature.split(".")
    assert payload == ""
    header = json.loads(_unb64url(protected))
    assert header["alg"] == "ES256"
    assert header["iat"] == int(NOW.timestamp())
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    raw = _unb64url(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(
        der, f"{protected}.{_b64url(published.document)}".encode(), ec.ECDSA(hashes.SHA256())
    )


def test_tampered_document_is_rejected(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    published = build_trust_list(dscs[:1], signer, NOW)
    doc = json.loads(published.document)
    doc["certificates"].append(json.loads(build_trust_list(dscs[1:2], signer, NOW).document)
                               ["certificates"][0])  # fmt: skip
    with pytest.raises(TrustListInvalid, match="does not match the document"):
        load_trust_list(canonical_json(doc), published.signature, csca.certificate, now=NOW)


def test_tampered_signature_is_rejected(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    published = build_trust_list(dscs, signer, NOW)
    protected, _, sig = published.signature.split(".")
    raw = bytearray(_unb64url(sig))
    raw[5] ^= 0x40
    bad = f"{protected}..{_b64url(bytes(raw))}"
    with pytest.raises(TrustListInvalid):
        load_trust_list(published.document, bad, csca.certificate, now=NOW)
    with pytest.raises(TrustListInvalid, match="detached"):
        load_trust_list(published.document, "not-a-jws", csca.certificate, now=NOW)


def test_list_signed_under_another_csca_is_rejected(
    csca: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    rogue_csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    rogue = keys.create_trust_list_signer(rogue_csca, now=NOW)
    published = build_trust_list(dscs, rogue, NOW)
    with pytest.raises(TrustListInvalid, match="not issued by a trusted CSCA"):
        load_trust_list(published.document, published.signature, csca.certificate, now=NOW)
    # accepted once that CSCA is trusted too (CSCA rotation overlap)
    trust = load_trust_list(
        published.document, published.signature, [csca.certificate, rogue_csca.certificate], now=NOW
    )
    assert len(trust) == 3


def test_only_a_trust_list_signer_may_sign(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC as signer")
    with pytest.raises(KeyManagementError, match="trust-list-signing"):
        build_trust_list(dscs, dsc, NOW)
    published = build_trust_list(dscs, signer, NOW)
    forged = _resign(published.document, published.signature, dsc)
    with pytest.raises(TrustListInvalid, match="not a trust-list signer"):
        load_trust_list(published.document, forged, csca.certificate, now=NOW)


def test_expired_trust_list_signer_is_rejected(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    published = build_trust_list(dscs, signer, NOW)
    too_late = signer.certificate.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(TrustListInvalid, match="not valid at"):
        load_trust_list(published.document, published.signature, csca.certificate, now=too_late)


def test_foreign_dsc_in_a_signed_list_rejects_the_whole_list(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    other = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    foreign = keys.create_dsc(other, now=NOW, common_name="foreign").certificate
    published = build_trust_list([*dscs, foreign], signer, NOW)
    with pytest.raises(TrustListInvalid, match="not issued by a trusted CSCA"):
        load_trust_list(published.document, published.signature, csca.certificate, now=NOW)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kid", base64.b64encode(b"12345678").decode(), "kid does not match"),
        ("thumbprint", "00" * 32, "thumbprint does not match"),
        ("signature", base64.b64encode(b"\1" * 64).decode(), "entry signature"),
        ("rawData", "@@@", "malformed"),
    ],
)
def test_inconsistent_entry_is_rejected_even_when_the_list_is_signed(
    csca: keys.KeyPair,
    signer: keys.KeyPair,
    dscs: list[x509.Certificate],
    field: str,
    value: str,
    message: str,
) -> None:
    published = build_trust_list(dscs, signer, NOW)
    doc = json.loads(published.document)
    doc["certificates"][1][field] = value
    document = canonical_json(doc)
    signature = _resign(document, published.signature, signer)
    with pytest.raises(TrustListInvalid, match=message):
        load_trust_list(document, signature, csca.certificate, now=NOW)


def test_a_ca_certificate_cannot_be_listed_as_a_dsc(
    csca: keys.KeyPair, signer: keys.KeyPair
) -> None:
    with pytest.raises(KeyManagementError, match="is a CA"):
        build_trust_list([csca.certificate], signer, NOW)


def test_colliding_kids_are_all_returned(dscs: list[x509.Certificate]) -> None:
    entries = tuple(TrustListEntry(b"samekid!", "VN", c, NOW) for c in dscs[:2])
    assert TrustList(entries).lookup(b"samekid!") == dscs[:2]


def test_revoking_removes_the_dsc_and_reports_the_damage(
    csca: keys.KeyPair, signer: keys.KeyPair, dscs: list[x509.Certificate]
) -> None:
    revoked = keys.kid(dscs[1])
    kept = without_dsc(dscs, revoked)
    assert revoked not in {keys.kid(c) for c in kept}
    assert len(kept) == 2
    published = build_trust_list(kept, signer, NOW)
    trust = load_trust_list(published.document, published.signature, csca.certificate, now=NOW)
    assert trust.lookup(revoked) == []
    with pytest.raises(KeyManagementError, match="no DSC"):
        without_dsc(kept, revoked)

    counts = {keys.kid(c): n for c, n in zip(dscs, (10, 2500, 7), strict=True)}
    report = dsc_revocation_report([revoked], counts)
    assert report.affected == {revoked: 2500}
    assert report.total_affected == 2500
    assert "2500 issued certificate(s)" in report.summary()
    assert revoked.hex() in report.summary()


def test_revocation_report_of_an_unused_dsc_and_bad_counts() -> None:
    assert dsc_revocation_report([b"unused!!"], {}).total_affected == 0
    with pytest.raises(InvalidInput):
        dsc_revocation_report([b"kid12345"], {b"kid12345": -1})


@given(
    counts=st.dictionaries(st.binary(min_size=8, max_size=8), st.integers(0, 10**6), max_size=8),
    revoked=st.lists(st.binary(min_size=8, max_size=8), max_size=8),
)
def test_revocation_report_counts_exactly_the_revoked_kids(
    counts: dict[bytes, int], revoked: list[bytes]
) -> None:
    report = dsc_revocation_report(revoked, counts)
    assert set(report.revoked) == set(revoked)
    assert report.total_affected == sum(counts.get(k, 0) for k in set(revoked))

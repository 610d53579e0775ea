"""PKCS#11 signer on a SoftHSM2 token this module creates in a temporary directory.

Skipped with a reason when SoftHSM2 is not installed, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from tests.certificates.softhsm_support import softhsm_token

from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.errors import HsmError
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.pkcs11 import (
    SOFTHSM2_LIBRARY,
    Pkcs11Signer,
    TokenKey,
    certificate_request,
    generate_key,
    load_certificate,
    public_key,
    store_certificate,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)
TOKEN = "vaxlink-test"
PIN = "246810"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh initialised token in a temp dir; SOFTHSM2_CONF points at it meanwhile."""
    with softhsm_token(tmp_path_factory.mktemp("softhsm"), label=TOKEN, pin=PIN) as root:
        yield root


@pytest.fixture(scope="module")
def csca() -> keys.KeyPair:
    return keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)


def _key(label: str, pin: str = PIN) -> TokenKey:
    return TokenKey(SOFTHSM2_LIBRARY, TOKEN, pin, label)


def _verify(cert: x509.Certificate, raw: bytes, data: bytes) -> None:
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))


@pytest.fixture(scope="module")
def dsc_on_token(token: Path, csca: keys.KeyPair) -> tuple[TokenKey, x509.Certificate]:
    """A key generated on the token, certified by the CSCA from the token's CSR."""
    key = _key("dsc-2025-1")
    generate_key(key)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "DSC HSM 2025-1")])
    csr = certificate_request(key, subject)
    assert csr.is_signature_valid
    cert = keys.issue_dsc_from_csr(csca, csr, now=NOW)
    store_certificate(key, cert)
    return key, cert


def test_signature_from_the_token_verifies_with_the_certificate(
    dsc_on_token: tuple[TokenKey, x509.Certificate], csca: keys.KeyPair
) -> None:
    key, cert = dsc_on_token
    assert keys.is_issued_by(cert, csca.certificate)
    with Pkcs11Signer(key) as signer:
        assert isinstance(signer, Signer)
        assert signer.algorithm == ES256
        assert signer.kid == keys.kid(cert)
        assert signer.certificate_der == cert.public_bytes(serialization.Encoding.DER)
        data = b"COSE Sig_structure bytes"
        sig = signer.sign(data)
        assert len(sig) == 64
        _verify(cert, sig, data)
        with pytest.raises(InvalidSignature):
            _verify(cert, sig, data + b"!")
    with pytest.raises(HsmError, match="closed"):
        signer.sign(data)


def test_private_key_never_leaves_the_token(
    dsc_on_token: tuple[TokenKey, x509.Certificate],
) -> None:
    key, _ = dsc_on_token
    lib = pkcs11.lib(str(SOFTHSM2_LIBRARY))
    with lib.get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        query = {
            pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
            pkcs11.Attribute.LABEL: key.key_label,
        }
        (private,) = session.get_objects(query)
        assert private[pkcs11.Attribute.SENSITIVE] is True
        assert private[pkcs11.Attribute.EXTRACTABLE] is False
        assert private[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[pkcs11.Attribute.VALUE]


def test_certificate_is_stored_beside_the_key(
    dsc_on_token: tuple[TokenKey, x509.Certificate],
) -> None:
    key, cert = dsc_on_token
    assert load_certificate(key) == cert
    assert public_key(key) == cert.public_key()


def test_a_certificate_for_another_key_is_refused(
    dsc_on_token: tuple[TokenKey, x509.Certificate], csca: keys.KeyPair
) -> None:
    key, _ = dsc_on_token
    other = keys.create_dsc(csca, now=NOW, common_name="PEM DSC").certificate
    with pytest.raises(HsmError, match="not for the key"):
        store_certificate(key, other)
    with pytest.raises(HsmError, match="does not match"):
        Pkcs11Signer(key, other)


def test_token_errors_are_translated(dsc_on_token: tuple[TokenKey, x509.Certificate]) -> None:
    key, _ = dsc_on_token
    with pytest.raises(HsmError, match="wrong PIN"):
        public_key(_key(key.key_label, pin="000000"))
    with pytest.raises(HsmError, match="found 0"):
        public_key(_key("no-such-key"))
    with pytest.raises(HsmError, match="already has a key"):
        generate_key(key)
    with pytest.raises(HsmError, match="no token"):
        public_key(TokenKey(SOFTHSM2_LIBRARY, "no-such-token", PIN, "x"))
    assert PIN not in repr(key)


def test_missing_module_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HsmError, match="not found"):
        public_key(TokenKey(tmp_path / "nope.so", TOKEN, PIN, "x"))


def test_the_token_signs_a_smart_health_card_and_a_ddcc_qr(
    dsc_on_token: tuple[TokenKey, x509.Certificate],
) -> None:
    """The health cards take the same `Signer`: the DSC key never leaves the HSM for them."""
    from vaxlink.certificates.core import shc
    from vaxlink.certificates.core.ddcc_qr import core_data_set, read_ddcc, sign_ddcc

    from .test_ddcc_profiles import DDCC_RECORD
    from .test_shc import verified_claims

    key, cert = dsc_on_token
    with Pkcs11Signer(key) as signer:
        bundle = shc.fhir_bundle(DDCC_RECORD, family="Nguyễn", given="Thị Thuỷ Đức")
        token = shc.sign_jws(bundle, signer, issuer_url="https://vaxlink.example.vn", issued=NOW)
        text = sign_ddcc(DDCC_RECORD, signer, country="VN", issued=NOW, expires=NOW)
    claims = verified_claims(token, shc.jwks([cert.public_key()]))
    assert claims["vc"]["credentialSubject"]["fhirBundle"] == bundle
    assert read_ddcc(text, cert.public_key()) == core_data_set(DDCC_RECORD)

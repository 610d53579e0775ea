"""Key hierarchy: CSCA, DSC, facility and trust-list certificates, the key directory, rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from typer.testing import CliRunner

from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.errors import KeyManagementError
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys import store as keystore
from vaxlink.certificates.keys.hierarchy import DccType
from vaxlink.certificates.keys.store import KeyStore, Role

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PASS = b"correct horse battery staple"


@pytest.fixture(scope="module")
def csca() -> keys.KeyPair:
    return keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)


def _usage(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def _verify_raw(cert: x509.Certificate, raw: bytes, data: bytes) -> None:
    half = len(raw) // 2
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))


# --- certificates ---------------------------------------------------------------------------


def test_csca_is_a_self_signed_ca_for_certificate_signing_only(csca: keys.KeyPair) -> None:
    cert = csca.certificate
    assert cert.subject == cert.issuer
    assert keys.is_issued_by(cert, cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = _usage(cert)
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc - NOW > timedelta(days=4 * 365)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)[0].value == "VN"
    assert csca.private_key.curve.name == "secp256r1"


def test_csca_on_p384_signs_with_sha384() -> None:
    pair = keys.create_csca(country="VN", organization="MoH", now=NOW, curve="P-384")
    assert pair.private_key.curve.name == "secp384r1"
    assert isinstance(pair.certificate.signature_hash_algorithm, hashes.SHA384)
    assert pair.algorithm == -35


@pytest.mark.parametrize(
    ("types", "oids"),
    [
        ((DccType.VACCINATION,), {keys.OID_DCC_VACCINATION}),
        ((DccType.TEST, DccType.RECOVERY), {keys.OID_DCC_TEST, keys.OID_DCC_RECOVERY}),
    ],
)
def test_dsc_is_issued_by_the_csca_with_the_chosen_dcc_usages(
    csca: keys.KeyPair, types: tuple[DccType, ...], oids: set[x509.ObjectIdentifier]
) -> None:
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC 2025-1", types=types)
    cert = dsc.certificate
    assert keys.is_issued_by(cert, csca.certificate)
    assert keys.extended_key_usages(cert) == oids
    assert keys.dcc_types(cert) == frozenset(types)
    assert _usage(cert).digital_signature
    assert not _usage(cert).key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc == NOW + timedelta(days=keys.DSC_VALIDITY_DAYS)
    assert dsc.private_key.curve.name == "secp256r1"
    assert dsc.algorithm == ES256
    assert cert.issuer == csca.certificate.subject
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)[0].value == "VN"


def test_dsc_without_dcc_usages_may_sign_every_type(csca: keys.KeyPair) -> None:
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC any", types=())
    assert keys.extended_key_usages(dsc.certificate) == frozenset()
    assert keys.dcc_types(dsc.certificate) == frozenset(DccType)


def test_dsc_cannot_outlive_its_csca(csca: keys.KeyPair) -> None:
    with pytest.raises(KeyManagementError, match="expires"):
        keys.create_dsc(csca, now=NOW + timedelta(days=4 * 365 - 10), common_name="late")


def test_times_must_be_timezone_aware(csca: keys.KeyPair) -> None:
    with pytest.raises(KeyManagementError, match="timezone"):
        keys.create_dsc(csca, now=NOW.replace(tzinfo=None), common_name="naive")


def test_bad_country_is_refused() -> None:
    with pytest.raises(KeyManagementError, match="alpha-2"):
        keys.create_csca(country="VNM", organization="MoH", now=NOW)


def test_dsc_for_a_p384_key_is_refused(csca: keys.KeyPair) -> None:
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(KeyManagementError, match="P-256"):
        keys.issue_dsc(csca, other, now=NOW, common_name="wrong curve")


def test_dsc_from_csr_checks_the_request_signature(csca: keys.KeyPair) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "HSM DSC")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    cert = keys.issue_dsc_from_csr(csca, csr, now=NOW)
    assert cert.public_key() == key.public_key()
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "HSM DSC"

    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature's s value
    with pytest.raises(KeyManagementError, match="signature"):
        keys.issue_dsc_from_csr(csca, x509.load_der_x509_csr(bytes(der)), now=NOW)


def test_facility_certificate_has_the_private_approval_usage_only(csca: keys.KeyPair) -> None:
    pair = keys.create_facility_signer(
        csca, facility_code="79001", facility_name="Trạm Y tế phường Bến Nghé", now=NOW
    )
    assert keys.extended_key_usages(pair.certificate) == {keys.OID_FACILITY_APPROVAL}
    assert keys.OID_FACILITY_APPROVAL.dotted_string.startswith("2.25.")
    # not a document signer: an EKU that names no DCC type must not be read as "all types"
    assert keys.OID_DCC_VACCINATION not in keys.extended_key_usages(pair.certificate)
    assert keys.is_issued_by(pair.certificate, csca.certificate)
    org = pair.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    assert org[0].value == "Trạm Y tế phường Bến Nghé"


def test_private_oid_arc_is_the_documented_uuid() -> None:
    import uuid

    arc_uuid = uuid.UUID("6c8f8714-1451-4525-9283-d05adc5fd9f3")
    assert f"2.25.{arc_uuid.int}" == keys.VAXLINK_OID_ARC
    assert keys.OID_TRUST_LIST_SIGNING != keys.OID_FACILITY_APPROVAL


def test_key_pair_signs_raw_r_s_and_satisfies_the_signer_port(csca: keys.KeyPair) -> None:
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC")
    assert isinstance(dsc, Signer)
    sig = dsc.sign(b"payload")
    assert len(sig) == 64
    _verify_raw(dsc.certificate, sig, b"payload")
    assert dsc.kid == hashlib.sha256(dsc.certificate_der).digest()[:8]


# --- kid and DCC usages against the EU public test vectors ----------------------------------


def _cases(dcc_public: Path, *names: str) -> list[dict[str, object]]:
    root = dcc_public
    return [json.loads((root / n).read_text(encoding="utf-8")) for n in names]


def test_kid_matches_the_kid_in_eu_test_messages(dcc_public: Path) -> None:
    cases = _cases(dcc_public, "AT/2DCode/raw/1.json", "FI/2DCode/raw/1.json")
    for case in cases:
        ctx = case["TESTCTX"]
        assert isinstance(ctx, dict)
        cert = x509.load_der_x509_certificate(base64.b64decode(ctx["CERTIFICATE"]))
        message = cbor2.loads(bytes.fromhex(str(case["COSE"])))
        parts = message.value if isinstance(message, cbor2.CBORTag) else message
        header_kid = cbor2.loads(parts[0]).get(4) or parts[1].get(4)
        assert keys.kid(cert) == header_kid


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("NL/2DCode/raw/000-NL-test.json", {DccType.TEST}),
        ("NL/2DCode/raw/216-NL-test+wrong_key.json", {DccType.VACCINATION}),
        ("common/2DCode/raw/CO1.json", set(DccType)),
        ("ES/2DCode/raw/1001.json", set(DccType)),  # TLS usages only: no DCC restriction
    ],
)
def test_dcc_types_reads_deployed_dscs(dcc_public: Path, name: str, allowed: set[DccType]) -> None:
    (case,) = _cases(dcc_public, name)
    ctx = case["TESTCTX"]
    assert isinstance(ctx, dict)
    cert = x509.load_der_x509_certificate(base64.b64decode(ctx["CERTIFICATE"]))
    assert keys.dcc_types(cert) == allowed


# --- key directory --------------------------------------------------------------------------


def test_store_writes_owner_only_files_and_round_trips(tmp_path: Path, csca: keys.KeyPair) -> None:
    store = KeyStore(tmp_path / "keys")
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC")
    key_path = store.save(Role.DSC, dsc)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    for path in (tmp_path / "keys" / "dsc").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert key_path.name == f"{dsc.kid.hex()}.key.pem"
    loaded = store.load(Role.DSC, dsc.kid)
    assert loaded.certificate == dsc.certificate
    assert loaded.private_key.private_numbers() == dsc.private_key.private_numbers()
    with pytest.raises(KeyManagementError, match="overwrite"):
        store.save(Role.DSC, dsc)


def test_csca_key_must_be_encrypted(tmp_path: Path, csca: keys.KeyPair) -> None:
    store = KeyStore(tmp_path)
    with pytest.raises(KeyManagementError, match="passphrase"):
        store.save(Role.CSCA, csca)
    with pytest.raises(KeyManagementError, match="passphrase"):
        store.save(Role.CSCA, csca, passphrase=b"short")
    path = store.save(Role.CSCA, csca, passphrase=PASS)
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert store.latest(Role.CSCA, passphrase=PASS).certificate == csca.certificate
    with pytest.raises(KeyManagementError, match="wrong passphrase"):
        store.load(Role.CSCA, csca.kid, passphrase=b"not the passphrase!")
    with pytest.raises(KeyManagementError, match="passphrase is needed"):
        store.load(Role.CSCA, csca.kid)


def test_store_refuses_a_key_readable_by_others(tmp_path: Path, csca: keys.KeyPair) -> None:
    store = KeyStore(tmp_path)
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC")
    store.save(Role.DSC, dsc).chmod(0o644)
    with pytest.raises(KeyManagementError, match="chmod 600"):
        store.load(Role.DSC, dsc.kid)


def test_store_detects_a_key_that_does_not_match_its_certificate(
    tmp_path: Path, csca: keys.KeyPair
) -> None:
    store = KeyStore(tmp_path)
    first = keys.create_dsc(csca, now=NOW, common_name="one")
    second = keys.create_dsc(csca, now=NOW, common_name="two")
    store.save(Role.DSC, first)
    store.save(Role.DSC, second)
    swapped = tmp_path / "dsc" / f"{first.kid.hex()}.key.pem"
    swapped.unlink()
    swapped.write_bytes((tmp_path / "dsc" / f"{second.kid.hex()}.key.pem").read_bytes())
    swapped.chmod(0o600)
    with pytest.raises(KeyManagementError, match="does not belong"):
        store.load(Role.DSC, first.kid)


def test_rotation_keeps_the_old_dsc_trusted_until_it_expires(
    tmp_path: Path, csca: keys.KeyPair
) -> None:
    store = KeyStore(tmp_path)
    old = keystore.rotate_dsc(store, csca, now=NOW, common_name="DSC 1")
    assert store.active_dsc_kid() == old.kid
    later = NOW + timedelta(days=200)
    new = keystore.rotate_dsc(store, csca, now=later, common_name="DSC 2")
    assert store.active_dsc_kid() == new.kid
    assert {keys.kid(c) for c in store.trusted_dscs(later)} == {old.kid, new.kid}
    after_old_expiry = NOW + timedelta(days=keys.DSC_VALIDITY_DAYS + 1)
    assert {keys.kid(c) for c in store.trusted_dscs(after_old_expiry)} == {new.kid}
    assert store.load(Role.DSC, old.kid).certificate == old.certificate  # kept on file


def test_revoking_a_dsc_removes_it_from_the_list_and_from_service(
    tmp_path: Path, csca: keys.KeyPair
) -> None:
    store = KeyStore(tmp_path)
    old = keystore.rotate_dsc(store, csca, now=NOW, common_name="DSC 1")
    new = keystore.rotate_dsc(store, csca, now=NOW, common_name="DSC 2")
    store.revoke_dsc(new.kid)
    assert store.revoked_dsc_kids() == {new.kid}
    assert [keys.kid(c) for c in store.trusted_dscs(NOW)] == [old.kid]
    with pytest.raises(KeyManagementError, match="no active DSC"):
        store.active_dsc_kid()
    with pytest.raises(KeyManagementError, match="revoked"):
        store.set_active_dsc(new.kid)
    store.set_active_dsc(old.kid)
    assert store.active_dsc_kid() == old.kid


def test_csca_rotation_keeps_the_old_csca_for_its_dscs(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    first = keystore.rotate_csca(store, country="VN", organization="MoH", now=NOW, passphrase=PASS)
    later = NOW + timedelta(days=3 * 365)
    second = keystore.rotate_csca(
        store, country="VN", organization="MoH", now=later, passphrase=PASS
    )
    assert [keys.kid(c) for c in store.certificates(Role.CSCA)] == [first.kid, second.kid]
    assert store.latest(Role.CSCA, passphrase=PASS).kid == second.kid


# --- CLI ------------------------------------------------------------------------------------


def test_cli_builds_a_hierarchy_and_publishes_a_verifiable_trust_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clear_settings: None
) -> None:
    from vaxlink.certificates.cli.keys import app
    from vaxlink.certificates.keys.trustlist import load_trust_list

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))  # the audit log's store
    runner = CliRunner()
    env = {"VAXLINK_CSCA_PASSPHRASE": PASS.decode()}
    kd = ["--key-dir", str(tmp_path / "keys")]

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, *kd], env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    run("init-csca", "--country", "VN", "--organization", "Bộ Y tế")
    again = runner.invoke(
        app, ["init-csca", "--country", "VN", "--organization", "X", *kd], env=env
    )
    assert isinstance(again.exception, KeyManagementError)
    run("issue-dsc", "--name", "DSC 1")
    run("rotate-dsc", "--name", "DSC 2", "--type", "v", "--type", "r")
    from vaxlink import compose
    from vaxlink.auth import service as auth

    with compose.running() as c, c.transaction() as s:  # the site's approver holds its key
        auth.create_user(s, username="duyet.79001", password="plum-harbor-92-violet",
                         role=auth.Role.SITE_APPROVER, unit="ward:00001", facility_code="79001",
                         now=c.clock.now())  # fmt: skip
    secret = tmp_path / "signing.txt"
    secret.write_text("amber lantern 47 quiet harbor\n")
    secret.chmod(0o600)
    run("issue-facility", "--code", "79001", "--name", "Trạm Y tế Bến Nghé",
        "--approver", "duyet.79001", "--passphrase-file", str(secret))  # fmt: skip
    hsm_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "HSM DSC")]))
        .sign(hsm_key, hashes.SHA256())
    )
    csr_path = tmp_path / "dsc.csr.pem"
    csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    run("issue-dsc", "--csr", str(csr_path), "--no-activate")
    no_name = runner.invoke(app, ["issue-dsc", *kd], env=env)
    assert isinstance(no_name.exception, KeyManagementError)

    store = KeyStore(tmp_path / "keys")
    dsc_kids = [keys.kid(c) for c in store.certificates(Role.DSC)]
    assert len(dsc_kids) == 3
    hsm_kid = next(
        keys.kid(c) for c in store.certificates(Role.DSC) if c.public_key() == hsm_key.public_key()
    )
    assert store.active_dsc_kid() != hsm_kid
    report = run("revoke-dsc", hsm_kid.hex(), "--issued", "42")
    assert "42 issued certificate(s)" in report

    run("trust-list", "--out", str(tmp_path / "pub"))
    listing = run("list")
    assert "active" in listing
    assert "revoked" in listing
    assert "facility" in listing

    csca = store.certificates(Role.CSCA)[0]
    trust = load_trust_list(
        (tmp_path / "pub" / "trustlist.json").read_bytes(),
        (tmp_path / "pub" / "trustlist.json.jws").read_text(),
        csca,
        now=datetime.now(UTC),
    )
    assert trust.kids() == set(dsc_kids) - {hsm_kid}
    assert len(trust) == 2

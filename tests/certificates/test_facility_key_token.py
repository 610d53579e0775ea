"""A site's approval key on its approver's PKCS#11 token (SoftHSM2 here): made on the token by
`vaxlink keys issue-facility-token`, unlocked with the token's user PIN as the approver's
signing secret; a wrong PIN, another account or a copy to a second approver are refused.

Skipped with a reason when SoftHSM2 is not installed, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.certificates.softhsm_support import softhsm_token
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.approval.check import verify_approval
from vaxlink.certificates.approval.signing import (
    SigningCredential,
    approve_records,
    unlock_site_key,
)
from vaxlink.certificates.errors import KeyManagementError, SigningPassphraseWrong, SigningRefused
from vaxlink.certificates.keys.hierarchy import kid
from vaxlink.certificates.keys.pkcs11 import SOFTHSM2_LIBRARY, TokenSigner
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import FacilityApproval
from vaxlink.db import transaction

TOKEN = "duyet-f001"
PIN = "482916"
CSCA_PASS = "correct horse battery staple"  # conftest's PASS
D1 = dt.date(2021, 8, 2)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The approver's token, fresh, in a temp dir; SOFTHSM2_CONF points at it meanwhile."""
    with softhsm_token(tmp_path_factory.mktemp("softhsm-facility"), label=TOKEN, pin=PIN) as root:
        yield root


def test_a_site_key_on_the_approvers_token_signs_only_with_its_pin(
    token, world, pki, signing, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    from vaxlink.certificates.cli.keys import app

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_CSCA_PASSPHRASE", CSCA_PASS)
    kd = ["--key-dir", str(tmp_path / "keys")]
    pki.save(tmp_path / "keys")
    store = KeyStore(tmp_path / "keys")
    me = signing("F005", username="duyet.f005")
    colleague = signing("F005", username="pho.f005", passphrase="violet kettle 19 silent meadow")
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    runner = CliRunner()
    result = runner.invoke(app, ["issue-facility-token", "--code", "F005", "--name", "Trạm F005",
                                 "--approver", me.username, "--library", str(SOFTHSM2_LIBRARY),
                                 "--token-label", TOKEN, "--key-label", f"f005-{store_url[:5]}",
                                 "--pin-file", str(pin_file), *kd])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    (cert,) = [c for c in store.certificates(Role.FACILITY)
               if "CN=F005" in c.subject.rfc4514_string().split(",")]  # fmt: skip
    folder = tmp_path / "keys" / "facility"
    assert not list(folder.glob("*.key.pem"))
    assert not list(folder.glob(f"{kid(cert).hex()}.*.wrap.json"))  # only on the token
    record = next(folder.glob("*.duyet.f005.token.json")).read_text()
    assert PIN not in record

    world.citizen("001085000501", "Nguyễn Văn An")
    world.dose("001085000501", 1, D1, facility="F005")
    right = SigningCredential(me.username, PIN)
    now = dt.datetime.now(dt.UTC)  # the CLI issued the certificate at its clock's time
    with transaction(world.engine) as s:
        with pytest.raises(SigningPassphraseWrong):
            unlock_site_key(s, store, "F005", SigningCredential(me.username, "000000"), now=now,
                            secret=None)  # fmt: skip
        with pytest.raises(SigningRefused, match="holds no wrap"):
            unlock_site_key(s, store, "F005", SigningCredential(colleague.username, PIN),
                            now=now, secret=None)  # fmt: skip
        signer = unlock_site_key(s, store, "F005", right, now=now, secret=None)
        assert isinstance(signer, TokenSigner)
        result_ = approve_records(s, signer, facility_code="F005", approver=me.username, now=now)
    assert result_.record_count == 1
    with world.session() as s:
        (approval,) = s.scalars(select(FacilityApproval)
                                .where(FacilityApproval.facility_code == "F005")).all()  # fmt: skip
        assert verify_approval(s, approval.id, cscas=[pki.csca.certificate]).valid
        assert approval.signer_kid == kid(cert).hex()
    # a key on a token cannot be copied to a second approver
    holder_pin = tmp_path / "other.txt"
    holder_pin.write_text(colleague.passphrase + "\n")
    holder_pin.chmod(0o600)
    granted = runner.invoke(app, ["grant-facility", "--code", "F005", "--holder", me.username,
                                  "--approver", colleague.username, "--holder-passphrase-file",
                                  str(pin_file), "--passphrase-file", str(holder_pin), *kd])  # fmt: skip
    assert isinstance(granted.exception, KeyManagementError)
    assert "cannot be copied" in str(granted.exception)
    with world.session() as s:  # the CLI's audit entry, with its operator (tests/test_cli_audit.py)
        (entry,) = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "keys.issue_facility_token")).all()  # fmt: skip
    assert entry.object_id == kid(cert).hex()
    assert str(entry.detail).count("cli:") == 1

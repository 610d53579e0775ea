"""A district's list-signing key on one of its accounts' PKCS#11 token (SoftHSM2 here): made on
the token by `vaxlink keys issue-district-token`, unlocked with the token's user PIN; the list it
signs verifies against the CSCA; a wrong PIN is refused.

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

from vaxlink.auth import service as auth
from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.approval.district import (
    approve_district,
    unlock_district_key,
    verify_district_approval,
)
from vaxlink.certificates.approval.signing import SigningCredential
from vaxlink.certificates.errors import SigningPassphraseWrong
from vaxlink.certificates.keys.hierarchy import kid
from vaxlink.certificates.keys.pkcs11 import SOFTHSM2_LIBRARY, TokenSigner
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.db import transaction

from .conftest import NOW

TOKEN = "ttyt-760"
PIN = "730194"
CSCA_PASS = "correct horse battery staple"  # conftest's PASS
D1, D2 = dt.date(2021, 8, 2), dt.date(2021, 8, 30)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with softhsm_token(tmp_path_factory.mktemp("softhsm-district"), label=TOKEN, pin=PIN) as root:
        yield root


def test_a_district_key_on_a_token_signs_the_list_with_its_pin(
    token, world, pki, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    from vaxlink.certificates.cli.keys import app

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_CSCA_PASSPHRASE", CSCA_PASS)
    pki.save(tmp_path / "keys")
    store = KeyStore(tmp_path / "keys")
    with transaction(world.engine) as s:
        auth.create_user(s, username="ttyt.760", password="plum-harbor-92-violet",
                         role=auth.Role.DISTRICT_HEALTH, unit="district:760", now=NOW)  # fmt: skip
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    result = CliRunner().invoke(app, [
        "issue-district-token", "--code", "760", "--name", "TTYT Quận 1", "--approver",
        "ttyt.760", "--library", str(SOFTHSM2_LIBRARY), "--token-label", TOKEN, "--key-label",
        f"d760-{store_url[:5]}", "--pin-file", str(pin_file), "--key-dir", str(tmp_path / "keys"),
    ])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    (cert,) = store.certificates(Role.DISTRICT)
    folder = tmp_path / "keys" / "district"
    assert not list(folder.glob("*.wrap.json"))  # only on the token
    assert PIN not in next(folder.glob("*.ttyt.760.token.json")).read_text()

    world.citizen("079085000901", "Ngô Văn Nam")
    world.update_citizen("079085000901", district_code="760", ward_code="26734")
    world.dose("079085000901", 1, D1)
    world.dose("079085000901", 2, D2)
    world.approve()
    now = dt.datetime.now(dt.UTC)  # the CLI certified the key at its clock's time
    with transaction(world.engine) as s:
        with pytest.raises(SigningPassphraseWrong):
            unlock_district_key(s, store, "760", SigningCredential("ttyt.760", "000000"),
                                now=now, secret=None)  # fmt: skip
        signer = unlock_district_key(s, store, "760", SigningCredential("ttyt.760", PIN),
                                     now=now, secret=None)  # fmt: skip
        assert isinstance(signer, TokenSigner)
        signed = approve_district(s, signer, district_code="760", approver="ttyt.760", now=now)
    assert signed.entry_count == 2
    with world.session() as s:
        check = verify_district_approval(s, signed.approval_id, cscas=(pki.csca.certificate,))
        (entry,) = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "keys.issue_district_token")).all()  # fmt: skip
    assert check.problems == ()
    assert entry.object_id == kid(cert).hex()

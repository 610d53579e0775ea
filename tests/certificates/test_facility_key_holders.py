"""Keys stay with their holders (issue #14): a site's approval key opens only for one of its
approver accounts, with that account's own signing passphrase.

The store keeps it wrapped per account (scrypt + AES-GCM), never in the clear; a plain key left
from before is refused until wrapped; the account must be an active site approver of that site;
wrong passphrases are counted and lock signing; the CLI issues, grants, revokes and wraps keys,
audited, and `certificates approve` signs as a checked account.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from tests.cleaning.entry_support import SIGNING
from typer.testing import CliRunner

from vaxlink.auth import service as auth
from vaxlink.auth.models import AuditEntry, User
from vaxlink.certificates.approval.signing import (
    PASSPHRASE_LIMIT,
    SigningCredential,
    facility_signer,
    unlock_site_key,
)
from vaxlink.certificates.errors import (
    KeyManagementError,
    PlainFacilityKey,
    SigningLocked,
    SigningPassphraseWrong,
    SigningRefused,
)
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import FacilityApproval
from vaxlink.db import transaction

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
OTHER = "violet kettle 19 silent meadow"
CSCA_PASS = "correct horse battery staple"  # conftest's PASS


def _only_kid(store: KeyStore, code: str) -> bytes:
    (found,) = [keys.kid(c) for c in store.certificates(Role.FACILITY)
                if f"CN={code}" in c.subject.rfc4514_string().split(",")]  # fmt: skip
    return found


# ---- the key store ------------------------------------------------------------------------


def test_a_facility_key_is_kept_only_wrapped_and_opens_for_its_holder(pki, tmp_path) -> None:
    store = pki.save(tmp_path / "keys")
    pair = pki.facility["F001"]
    folder = tmp_path / "keys" / "facility"
    assert not list(folder.glob("*.key.pem"))  # no plain key anywhere
    wrap = folder / f"{pair.kid.hex()}.approver.f001.wrap.json"
    assert (wrap.stat().st_mode & 0o777) == 0o600
    raw = pair.private_key.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())  # fmt: skip
    assert raw[-32:] not in wrap.read_bytes()
    assert json.loads(wrap.read_bytes())["kdf"]["name"] == "scrypt"
    assert store.facility_holders(pair.kid) == ["approver.f001"]
    opened = store.unlock_facility(pair.kid, "approver.f001", SIGNING)
    assert opened.private_key.private_numbers() == pair.private_key.private_numbers()
    with pytest.raises(SigningPassphraseWrong):
        store.unlock_facility(pair.kid, "approver.f001", SIGNING + "x")
    with pytest.raises(KeyManagementError, match="approver's signing passphrase"):
        store.load(Role.FACILITY, pair.kid)
    with pytest.raises(KeyManagementError, match="wrapped"):
        store.save(Role.FACILITY, pair)


def test_a_wrap_opens_only_for_the_account_it_was_made_for(pki, tmp_path) -> None:
    store = pki.save(tmp_path / "keys")
    pair = pki.facility["F001"]
    folder = tmp_path / "keys" / "facility"
    # a copy of approver.f001's wrap renamed for someone else does not open for them
    stolen = folder / f"{pair.kid.hex()}.intruder.wrap.json"
    stolen.write_bytes((folder / f"{pair.kid.hex()}.approver.f001.wrap.json").read_bytes())
    stolen.chmod(0o600)
    with pytest.raises(SigningPassphraseWrong):
        store.unlock_facility(pair.kid, "intruder", SIGNING)
    # a second holder has a wrap of their own, under their own passphrase
    store.add_facility_holder(pair, "approver2.f001", OTHER)
    assert store.unlock_facility(pair.kid, "approver2.f001", OTHER).kid == pair.kid
    with pytest.raises(SigningPassphraseWrong):  # the first holder's passphrase is not theirs
        store.unlock_facility(pair.kid, "approver2.f001", SIGNING)
    store.remove_facility_holder(pair.kid, "intruder")
    store.remove_facility_holder(pair.kid, "approver2.f001")
    with pytest.raises(KeyManagementError, match="last holder"):
        store.remove_facility_holder(pair.kid, "approver.f001")
    store.remove_facility_holder(pair.kid, "approver.f001", last=True)
    assert store.facility_holders(pair.kid) == []


def test_a_plain_key_is_refused_until_wrapped(pki, tmp_path) -> None:
    store = KeyStore(tmp_path / "keys")
    pair = pki.facility["F001"]
    store.save_certificate(Role.FACILITY, pair.certificate)
    plain = tmp_path / "keys" / "facility" / f"{pair.kid.hex()}.key.pem"
    fd = os.open(plain, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, pair.private_key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))  # fmt: skip
    os.close(fd)
    me = SigningCredential("approver.f001", SIGNING)
    with pytest.raises(PlainFacilityKey, match=f"wrap-facility --kid {pair.kid.hex()}"):
        facility_signer(store, "F001", NOW, me)
    store.wrap_plain_facility(pair.kid, "approver.f001", SIGNING)
    assert not plain.exists()
    assert facility_signer(store, "F001", NOW, me).kid == pair.kid


# ---- who may unlock -------------------------------------------------------------------------


def test_only_an_active_approver_of_the_site_unlocks_its_key(world, pki, signing, tmp_path):
    store = pki.save(tmp_path / "keys")
    me = signing("F001")
    assert SIGNING not in repr(me)  # a credential never shows its passphrase
    with world.session() as s:
        assert (
            unlock_site_key(s, store, "F001", me, now=NOW, secret=None).kid
            == pki.facility["F001"].kid
        )
        with pytest.raises(SigningPassphraseWrong):
            unlock_site_key(s, store, "F001", SigningCredential(me.username, OTHER), now=NOW,
                            secret=None)  # fmt: skip
        with pytest.raises(SigningRefused, match="not an active site approver"):
            unlock_site_key(s, store, "F002", me, now=NOW, secret=None)  # another site
    # a health station worker of the site, even given a wrap of the key, cannot sign
    station = signing("F001", username="station.f001", role=auth.Role.HEALTH_STATION)
    store.add_facility_holder(pki.facility["F001"], station.username, SIGNING)
    # an approver account of the site without a wrap cannot either
    colleague = signing("F001", username="colleague.f001")
    with world.session() as s:
        with pytest.raises(SigningRefused, match="not an active site approver"):
            unlock_site_key(s, store, "F001", station, now=NOW, secret=None)
        with pytest.raises(SigningRefused, match="holds no wrap"):
            unlock_site_key(s, store, "F001", colleague, now=NOW, secret=None)
        with pytest.raises(SigningRefused, match="not an active site approver"):
            unlock_site_key(s, store, "F001", SigningCredential("nobody.here", SIGNING),
                            now=NOW, secret=None)  # fmt: skip
    with transaction(world.engine) as s:  # a disabled approver can no longer sign
        user = s.scalars(select(User).where(User.username == me.username)).one()
        auth.set_active(s, user, False, now=NOW)
    with world.session() as s, pytest.raises(SigningRefused):
        unlock_site_key(s, store, "F001", me, now=NOW, secret=None)


def test_wrong_passphrases_are_counted_and_lock_the_account(world, pki, signing, tmp_path):
    store = pki.save(tmp_path / "keys")
    me = signing("F001")
    guess = SigningCredential(me.username, "a guessed passphrase")
    for _ in range(PASSPHRASE_LIMIT.attempts):
        with transaction(world.engine) as s, pytest.raises(SigningPassphraseWrong):
            unlock_site_key(s, store, "F001", guess, now=NOW, secret=b"k")
    with transaction(world.engine) as s, pytest.raises(SigningLocked):
        unlock_site_key(s, store, "F001", guess, now=NOW, secret=b"k")
    with transaction(world.engine) as s, pytest.raises(SigningLocked) as locked:
        unlock_site_key(s, store, "F001", me, now=NOW, secret=b"k")  # the right one waits too
    assert 0 < locked.value.retry_after_seconds <= 15 * 60 + 1
    later = NOW + dt.timedelta(minutes=16)
    with transaction(world.engine) as s:
        assert unlock_site_key(s, store, "F001", me, now=later, secret=b"k").kid


# ---- the CLI --------------------------------------------------------------------------------


def _secret_file(path: Path, value: str, mode: int = 0o600) -> Path:
    path.write_text(value + "\n")
    path.chmod(mode)
    return path


def test_cli_issues_grants_revokes_and_wraps_facility_keys(
    world, pki, signing, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    from vaxlink.certificates.cli.app import app as certificates_app
    from vaxlink.certificates.cli.keys import app

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_CSCA_PASSPHRASE", CSCA_PASS)
    kd = ["--key-dir", str(tmp_path / "keys")]
    pki.save(tmp_path / "keys")
    store = KeyStore(tmp_path / "keys")
    runner = CliRunner()
    first, second = signing("F003", username="first.f003"), signing("F003", username="second.f003")
    station = signing("F003", username="station.f003", role=auth.Role.HEALTH_STATION)
    mine = _secret_file(tmp_path / "first.txt", SIGNING)
    theirs = _secret_file(tmp_path / "second.txt", OTHER)
    issue = ["issue-facility", "--code", "F003", "--name", "Trạm Y tế F003", *kd]

    def run(*args: str, cli=app) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    def refused(*args: str, cli=app) -> BaseException | None:
        result = runner.invoke(cli, list(args))
        assert result.exit_code != 0
        return result.exception

    # only an approver account of the site, with a strong passphrase in a private file
    assert isinstance(refused(*issue, "--approver", station.username, "--passphrase-file",
                              str(mine)), SigningRefused)  # fmt: skip
    loose = _secret_file(tmp_path / "loose.txt", SIGNING, 0o644)
    assert "mode 0600" in str(refused(*issue, "--approver", first.username,
                                      "--passphrase-file", str(loose)))  # fmt: skip
    weak = _secret_file(tmp_path / "weak.txt", "password1234")
    assert "signing passphrase" in str(refused(*issue, "--approver", first.username,
                                               "--passphrase-file", str(weak)))  # fmt: skip
    run(*issue, "--approver", first.username, "--passphrase-file", str(mine))
    key_id = _only_kid(store, "F003")
    assert store.facility_holders(key_id) == [first.username]

    # the second approver cannot sign until granted; the holder's passphrase unlocks the grant
    def approve(who: SigningCredential, secret: Path) -> BaseException | None:
        result = runner.invoke(certificates_app, ["approve", "--facility", "F003", "--approver",
                                                  who.username, "--passphrase-file", str(secret)])  # fmt: skip
        return result.exception

    assert isinstance(approve(second, theirs), SigningRefused)
    grant = ["grant-facility", "--code", "F003", "--holder", first.username, "--approver",
             second.username, *kd]  # fmt: skip
    assert isinstance(refused(*grant, "--holder-passphrase-file", str(theirs),
                              "--passphrase-file", str(theirs)), SigningPassphraseWrong)  # fmt: skip
    run(*grant, "--holder-passphrase-file", str(mine), "--passphrase-file", str(theirs))
    assert store.facility_holders(key_id) == [first.username, second.username]
    assert approve(second, theirs) is None
    assert isinstance(approve(second, mine), SigningPassphraseWrong)  # not their passphrase
    assert isinstance(approve(station, mine), SigningRefused)

    run("revoke-facility-approver", "--code", "F003", "--approver", second.username, *kd)
    assert isinstance(approve(second, theirs), SigningRefused)
    assert isinstance(refused("revoke-facility-approver", "--code", "F003", "--approver",
                              first.username, *kd), KeyManagementError)  # the last holder  # fmt: skip

    # a plain key from before: refused until wrapped, then the plain file is gone
    legacy = keys.create_facility_signer(pki.csca, facility_code="F004", facility_name="F004",
                                         now=NOW - dt.timedelta(days=1))  # fmt: skip
    store.save_certificate(Role.FACILITY, legacy.certificate)
    plain = tmp_path / "keys" / "facility" / f"{legacy.kid.hex()}.key.pem"
    plain.write_bytes(legacy.private_key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))  # fmt: skip
    plain.chmod(0o600)
    f004 = signing("F004", username="first.f004")
    result = runner.invoke(certificates_app, ["approve", "--facility", "F004", "--approver",
                                              f004.username, "--passphrase-file", str(mine)])  # fmt: skip
    assert isinstance(result.exception, PlainFacilityKey)
    run("wrap-facility", "--kid", legacy.kid.hex(), "--approver", f004.username,
        "--passphrase-file", str(mine), *kd)  # fmt: skip
    assert not plain.exists()
    assert store.facility_holders(legacy.kid) == [f004.username]

    with world.session() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
        approvals = s.scalars(select(FacilityApproval)).all()
    for action in ("keys.issue_facility", "keys.grant_facility", "keys.revoke_facility_approver",
                   "keys.wrap_facility", "certificates.approve_refused"):  # fmt: skip
        assert action in actions
    assert {a.approver for a in approvals} <= {second.username}

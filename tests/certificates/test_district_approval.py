"""The district health centre signs the list of its residents' verified records (#16): issuance
requires it when configured; a correction uncovers the person until the district signs again; a
tampered district signature is detected; the district key opens only for the district's own
accounts and wrong passphrases lock them like a site approver's."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from vaxlink.auth import service as auth
from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.approval.district import (
    DistrictVerdicts,
    approve_district,
    check_all_district_approvals,
    coverage_by_district,
    district_signer,
    preview,
    unlock_district_key,
    verify_district_approval,
)
from vaxlink.certificates.approval.signing import PASSPHRASE_LIMIT, SigningCredential
from vaxlink.certificates.console import overview
from vaxlink.certificates.errors import (
    ApprovalError,
    IssuanceInvalid,
    SigningLocked,
    SigningPassphraseWrong,
    SigningRefused,
)
from vaxlink.certificates.issuance.batch import issue_batch, issue_for
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import (
    CertificateKind,
    DistrictApproval,
    DistrictApprovalEntry,
)
from vaxlink.db import transaction

from .conftest import ISSUER, NOW

D1, D2 = dt.date(2021, 8, 2), dt.date(2021, 8, 30)
DISTRICT, OTHER = "760", "761"
PASSPHRASE = "saffron quay 58 hollow lantern"


def _account(world, name: str, district: str, role=auth.Role.DISTRICT_HEALTH) -> SigningCredential:
    with transaction(world.engine) as s:
        auth.create_user(s, username=name, password="plum-harbor-92-violet", role=role,
                         unit=f"district:{district}", now=NOW)  # fmt: skip
    return SigningCredential(name, PASSPHRASE)


@pytest.fixture
def district_keys(pki, tmp_path) -> KeyStore:
    """The test PKI's key directory plus a district key of 760, wrapped for `ttyt.760`."""
    store = pki.save(tmp_path / "keys")
    pair = keys.create_district_signer(
        pki.csca, district_code=DISTRICT, district_name="TTYT Quận 1", now=NOW - dt.timedelta(1)
    )
    store.save_facility(pair, "ttyt.760", PASSPHRASE, role=Role.DISTRICT)
    return store


def _resident(world, citizen_id: str, name: str, district: str = DISTRICT) -> list[int]:
    world.citizen(citizen_id, name)
    world.update_citizen(citizen_id, district_code=district, ward_code="26734")
    return [world.dose(citizen_id, 1, D1), world.dose(citizen_id, 2, D2)]


def _sign(world, store: KeyStore, credential: SigningCredential, district: str = DISTRICT):
    with transaction(world.engine) as s:
        signer = unlock_district_key(s, store, district, credential, now=NOW, secret=None)
        return approve_district(s, signer, district_code=district, approver=credential.username,
                                now=NOW, anchors=(world.pki.csca.certificate,))  # fmt: skip


def _issue(world, **options):
    return issue_batch(world.engine, world.pki.dsc, issuer_name=ISSUER, by="tester", now=NOW,
                       anchors=(world.pki.csca.certificate,), require_district=True,
                       **options)  # fmt: skip


def test_signing_the_district_list_lets_its_residents_be_issued(world, district_keys) -> None:
    me = _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000101", "Nguyễn Văn Án")
    _resident(world, "079085000102", "Trần Thị Bình")
    _resident(world, "079085000103", "Lê Văn Cường", district=OTHER)  # another district's
    world.approve()
    waiting = world.dose("079085000102", 3, dt.date(2022, 1, 5))  # after the site signed
    world.dose("079085000101", 3, dt.date(2022, 2, 1))

    report = _issue(world)  # the setting on, nothing signed by any district
    assert report.issued == 0
    assert report.skipped == {Skip.DISTRICT_APPROVAL_MISSING: 1, Skip.AWAITING_APPROVAL: 2}
    assert world.issue().issued == 1  # without the setting the site's signature is enough

    result = _sign(world, district_keys, me)
    assert result.entry_count == 4  # both residents' two site-approved doses, nobody else's
    assert result.waiting == 2
    assert sum(result.by_place.values()) == 4
    assert result.by_place == {("26734", "F001"): 4}
    assert waiting not in _entries(world, result.approval_id)
    with world.session() as s:
        check = verify_district_approval(s, result.approval_id, cscas=(world.pki.csca.certificate,))
    assert check.problems == ()

    world.approve()  # the site signs the two later doses: still not on the district's list
    report = _issue(world)
    assert report.skipped == {Skip.DISTRICT_APPROVAL_MISSING: 2}
    again = _sign(world, district_keys, me)
    assert (again.entry_count, again.waiting) == (6, 0)
    report = _issue(world)
    assert not report.skipped
    assert {c.citizen_id for c in world.certificates() if c.status == "active"} == {
        "079085000101", "079085000102", "079085000103",
    }  # fmt: skip


def _entries(world, approval_id: int) -> set[int]:
    with world.session() as s:
        return set(s.scalars(select(DistrictApprovalEntry.dose_id)
                             .where(DistrictApprovalEntry.approval_id == approval_id)))  # fmt: skip


def test_a_dose_corrected_after_the_district_signed_is_not_covered_until_signed_again(
    world, district_keys
) -> None:
    me = _account(world, "ttyt.760", DISTRICT)
    d1, _ = _resident(world, "079085000201", "Phạm Văn Dũng")
    world.approve()
    first = _sign(world, district_keys, me)
    world.update_dose(d1, lot_number="FK9999")  # a correction (not even on the certificate)
    world.approve()  # the site signs the corrected record
    with world.session() as s:
        shown = preview(s, DISTRICT)
    assert (shown.last_approval_id, shown.last_count) == (first.approval_id, 2)
    assert (shown.added, shown.changed, shown.removed) == (0, 1, 0)

    with world.session() as s, pytest.raises(IssuanceInvalid, match="district_approval_missing"):
        issue_for(
            s, world.issuer(require_district=True), "079085000201", CertificateKind.VACCINATION
        )
    with world.session() as s:
        (row,) = coverage_by_district(s)
        view = overview(s, district_keys, NOW, require_district=True)
        assert overview(s, district_keys, NOW).districts == ()  # not asked: not counted
    assert (row.district_code, row.people, row.covered, row.waiting) == (DISTRICT, 1, 0, 1)
    assert view.districts == (row,)

    _sign(world, district_keys, me)
    with world.session() as s:
        assert issue_for(s, world.issuer(require_district=True), "079085000201",
                         CertificateKind.VACCINATION).status == "active"  # fmt: skip
        (row,) = coverage_by_district(s)
    assert (row.people, row.covered) == (1, 1)


def test_a_tampered_district_signature_is_detected_refused_and_audited(
    world, district_keys
) -> None:
    me = _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000301", "Võ Thị Én")
    world.approve()
    approval_id = _sign(world, district_keys, me).approval_id
    with transaction(world.engine) as s:
        s.execute(update(DistrictApproval).where(DistrictApproval.id == approval_id)
                  .values(signature=os.urandom(64)))  # fmt: skip

    with world.session() as s:
        (check,) = check_all_district_approvals(s, (world.pki.csca.certificate,))
    assert check.problems == ("the signature does not verify",)
    report = _issue(world)
    assert report.issued == 0
    assert report.skipped == {Skip.DISTRICT_APPROVAL_INVALID: 1}
    assert report.refused_district_approvals == {approval_id: ("the signature does not verify",)}
    with world.session() as s:
        (entry,) = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "certificate.issue_refused"))  # fmt: skip
    assert (entry.object_type, entry.object_id) == ("district_approval", str(approval_id))


def test_a_list_with_an_entry_changed_in_the_table_is_detected(world, district_keys) -> None:
    """Moving a stored entry (another digest) or deleting one breaks the signed list."""
    me = _account(world, "ttyt.760", DISTRICT)
    d1, _ = _resident(world, "079085000311", "Đỗ Văn Phúc")
    world.approve()
    approval_id = _sign(world, district_keys, me).approval_id
    with transaction(world.engine) as s:
        s.execute(update(DistrictApprovalEntry).where(DistrictApprovalEntry.dose_id == d1)
                  .values(dose_version=99))  # fmt: skip
    with world.session() as s:
        check = verify_district_approval(s, approval_id)
    assert "the stored entries do not match the signed list" in check.problems


def test_a_district_key_of_another_district_or_a_site_key_cannot_sign(world, pki, district_keys):
    me = _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000401", "Bùi Văn Giang")
    world.approve()
    site = pki.facility["F001"]
    with world.session() as s, pytest.raises(ApprovalError, match="not a district-approval"):
        approve_district(s, site, district_code=DISTRICT, approver="x", now=NOW)
    signer = district_signer(district_keys, DISTRICT, NOW, me)
    with world.session() as s, pytest.raises(ApprovalError, match="belongs to '760'"):
        approve_district(s, signer, district_code=OTHER, approver="x", now=NOW)


def test_only_the_districts_own_accounts_unlock_its_key(world, district_keys, signing) -> None:
    me = _account(world, "ttyt.760", DISTRICT)
    neighbour = _account(world, "ttyt.761", OTHER)
    site_approver = SigningCredential(signing("F001").username, PASSPHRASE)
    with world.session() as s:
        assert unlock_district_key(s, district_keys, DISTRICT, me, now=NOW, secret=None).kid
    with world.session() as s, pytest.raises(SigningRefused, match="761"):
        unlock_district_key(s, district_keys, DISTRICT, neighbour, now=NOW, secret=None)
    with world.session() as s, pytest.raises(ApprovalError):  # its own district: no key yet
        unlock_district_key(s, district_keys, OTHER, neighbour, now=NOW, secret=None)
    with world.session() as s, pytest.raises(SigningRefused):  # not a district health account
        unlock_district_key(s, district_keys, DISTRICT, site_approver, now=NOW, secret=None)


def test_wrong_passphrases_are_counted_and_lock_the_district_account(world, district_keys):
    me = _account(world, "ttyt.760", DISTRICT)
    guess = SigningCredential(me.username, "a guessed passphrase")
    for _ in range(PASSPHRASE_LIMIT.attempts):
        with transaction(world.engine) as s, pytest.raises(SigningPassphraseWrong):
            unlock_district_key(s, district_keys, DISTRICT, guess, now=NOW, secret=b"k")
    with transaction(world.engine) as s, pytest.raises(SigningLocked):
        unlock_district_key(s, district_keys, DISTRICT, guess, now=NOW, secret=b"k")
    with transaction(world.engine) as s, pytest.raises(SigningLocked):  # the right one waits too
        unlock_district_key(s, district_keys, DISTRICT, me, now=NOW, secret=b"k")
    later = NOW + dt.timedelta(minutes=16)
    with transaction(world.engine) as s:
        assert unlock_district_key(s, district_keys, DISTRICT, me, now=later, secret=b"k").kid


def test_a_district_certificate_not_from_a_trusted_ca_is_refused(world, pki, tmp_path) -> None:
    stranger = keys.create_csca(country="VN", organization="Kẻ lạ", now=NOW - dt.timedelta(1))
    pair = keys.create_district_signer(stranger, district_code=DISTRICT, district_name="Giả",
                                       now=NOW - dt.timedelta(1))  # fmt: skip
    _resident(world, "079085000501", "Hồ Thị Hạnh")
    world.approve()
    with transaction(world.engine) as s:
        result = approve_district(s, pair, district_code=DISTRICT, approver="x", now=NOW)
    with world.session() as s:
        check = verify_district_approval(s, result.approval_id, cscas=(pki.csca.certificate,))
        verdicts = DistrictVerdicts((pki.csca.certificate,))
        verdicts._check(s, {result.approval_id})
    assert check.problems == ("the district certificate was not issued by a trusted CA",)
    assert verdicts.failed() == {result.approval_id: check.problems}
    assert _issue(world).skipped == {Skip.DISTRICT_APPROVAL_INVALID: 1}


def test_the_wrap_is_per_role_and_the_plain_key_is_never_written(pki, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k")
    pair = keys.create_district_signer(pki.csca, district_code=DISTRICT, district_name="TTYT",
                                       now=NOW)  # fmt: skip
    store.save_facility(pair, "ttyt.760", PASSPHRASE, role=Role.DISTRICT)
    files = sorted(p.name for p in (tmp_path / "k" / "district").iterdir())
    assert files == [f"{pair.kid.hex()}.crt.pem", f"{pair.kid.hex()}.ttyt.760.wrap.json"]
    assert store.facility_holders(pair.kid) == []  # not a facility key
    assert store.facility_holders(pair.kid, role=Role.DISTRICT) == ["ttyt.760"]
    with pytest.raises(SigningPassphraseWrong):
        store.unlock_facility(pair.kid, "ttyt.760", "wrong one", role=Role.DISTRICT)


def test_nothing_to_sign_stores_nothing(world, district_keys) -> None:
    me = _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000601", "Lý Văn Khoa")  # no site approval
    result = _sign(world, district_keys, me)
    assert (result.approval_id, result.entry_count, result.waiting) == (None, 0, 2)
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(DistrictApproval)) == 0


def test_cli_signs_the_list_checks_it_and_issuance_follows_the_setting(
    world, district_keys, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    from typer.testing import CliRunner

    from vaxlink.certificates.cli.app import app

    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    monkeypatch.setenv("VAXLINK_REQUIRE_DISTRICT_APPROVAL", "true")
    _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000701", "Mai Văn Lâm")
    world.approve()
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    runner = CliRunner()

    refused = runner.invoke(app, ["issue", "--kind", "v", "--by", "tester"])
    assert refused.exit_code == 0, refused.output
    assert "district_approval_missing" in refused.output

    signed = runner.invoke(app, ["district-approve", "--district", "760", "--approver",
                                 "ttyt.760", "--passphrase-file", str(secret)])  # fmt: skip
    assert signed.exit_code == 0, signed.output
    assert "2 record(s) of district 760 signed by ttyt.760" in signed.output
    ok = runner.invoke(app, ["check-approvals"])
    assert ok.exit_code == 0, ok.output
    assert "All 2 approval(s) verify" in ok.output  # one site's, one district's

    with world.session() as s:
        approval_id = s.scalar(select(DistrictApproval.id))
    with transaction(world.engine) as s:
        s.execute(update(DistrictApproval).where(DistrictApproval.id == approval_id)
                  .values(signature=os.urandom(64)))  # fmt: skip
    failed = runner.invoke(app, ["check-approvals"])
    assert failed.exit_code == 1
    assert f"district #{approval_id}" in failed.output
    assert "signature does not verify" in failed.output

    other = runner.invoke(app, ["district-approve", "--district", "761", "--approver",
                                "ttyt.760", "--passphrase-file", str(secret)])  # fmt: skip
    assert other.exit_code != 0  # another district's list: refused, and audited
    with world.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert "certificates.district_approve" in actions
    assert "certificates.district_approve_refused" in actions


def test_reissue_after_a_correction_waits_for_the_district(world, district_keys) -> None:
    from vaxlink.certificates.issuance.sweep import reissue_changed

    me = _account(world, "ttyt.760", DISTRICT)
    _, d2 = _resident(world, "079085000801", "Tạ Văn Minh")
    world.approve()
    _sign(world, district_keys, me)
    assert _issue(world).issued == 1
    old = world.active("079085000801")
    world.update_dose(d2, vaccination_date=dt.date(2021, 8, 31))  # the certified dose corrected
    world.approve()

    def sweep():
        return reissue_changed(world.engine, world.pki.dsc, issuer_name=ISSUER, by="tester",
                               now=NOW, anchors=(world.pki.csca.certificate,),
                               require_district=True)  # fmt: skip

    report = sweep()
    assert report.skipped == {Skip.DISTRICT_APPROVAL_MISSING: 1}
    assert world.active("079085000801").id == old.id  # left as is until the district signs
    _sign(world, district_keys, me)
    report = sweep()
    assert (report.revoked, report.issued, dict(report.skipped)) == (1, 1, {})
    assert world.active("079085000801").id != old.id


def test_a_renewal_needs_the_district_list_like_a_first_issue(world, district_keys) -> None:
    """Renewal is an issue: with the district condition on, a person whose district list no longer
    verifies keeps the old certificate (skipped, counted) instead of a fresh 12 months."""
    from vaxlink.certificates.issuance.sweep import renew_expiring

    me = _account(world, "ttyt.760", DISTRICT)
    _resident(world, "079085000901", "Lò Thị Hoa")
    world.approve()
    approval_id = _sign(world, district_keys, me).approval_id
    assert _issue(world).issued == 1
    old = world.active("079085000901")
    with transaction(world.engine) as s:
        s.execute(update(DistrictApproval).where(DistrictApproval.id == approval_id)
                  .values(signature=os.urandom(64)))  # fmt: skip
    later = old.exp - dt.timedelta(days=10)

    def renew(require_district: bool):
        return renew_expiring(world.engine, world.pki.dsc, issuer_name=ISSUER, by="tester",
                              now=later, within_days=30, anchors=(world.pki.csca.certificate,),
                              require_district=require_district)  # fmt: skip

    report = renew(True)
    assert (report.issued, dict(report.skipped)) == (0, {Skip.DISTRICT_APPROVAL_INVALID: 1})
    assert world.active("079085000901").id == old.id
    report = renew(False)
    assert report.issued == 1
    assert world.active("079085000901").id != old.id


def test_signing_in_steps_commits_chunks_and_signs_the_same_list(world, district_keys) -> None:
    """From the web the list is filled a chunk of residents per transaction after the answer:
    the result is the list `approve_district` would sign; while it runs nothing counts it and a
    second signing is refused; a run that fails leaves nothing behind; one left by a dead run is
    discarded by the next."""
    from vaxlink.certificates.approval.district import (
        STALE_AFTER,
        SigningInProgress,
        continue_district_approval,
        start_district_approval,
        stored_so_far,
    )

    me = _account(world, "ttyt.760", DISTRICT)
    for i in range(5):
        _resident(world, f"07908500110{i}", f"Người Số {i}")
    world.approve()
    with transaction(world.engine) as s:
        signer = unlock_district_key(s, district_keys, DISTRICT, me, now=NOW, secret=None)
        job = start_district_approval(s, signer, district_code=DISTRICT, approver=me.username,
                                      now=NOW)  # fmt: skip
    with world.session() as s:
        assert stored_so_far(s, job) == 0
        assert preview(s, DISTRICT).last_approval_id is None  # a pending list is not a signature
        assert list(check_all_district_approvals(s)) == []
    with transaction(world.engine) as s, pytest.raises(SigningInProgress):
        start_district_approval(s, signer, district_code=DISTRICT, approver=me.username, now=NOW)
    result = continue_district_approval(world.engine, signer, job,
                                        anchors=(world.pki.csca.certificate,), chunk=2)  # fmt: skip
    assert (result.approval_id, result.entry_count) == (job, 10)
    with world.session() as s:
        assert stored_so_far(s, job) is None
        assert verify_district_approval(s, job, cscas=(world.pki.csca.certificate,)).problems == ()
    assert _issue(world).issued == 5

    class Broken:  # a signer whose token fails at the last step
        algorithm, kid, certificate_der = signer.algorithm, signer.kid, signer.certificate_der

        def sign(self, data: bytes) -> bytes:
            raise OSError("token removed")

    with transaction(world.engine) as s:
        failing = start_district_approval(s, signer, district_code=DISTRICT,
                                          approver=me.username, now=NOW)  # fmt: skip
    with pytest.raises(OSError, match="token removed"):
        continue_district_approval(world.engine, Broken(), failing, chunk=2)  # type: ignore[arg-type]
    with world.session() as s:
        assert s.get(DistrictApproval, failing) is None
        assert s.scalar(select(func.count()).select_from(DistrictApprovalEntry)
                        .where(DistrictApprovalEntry.approval_id == failing)) == 0  # fmt: skip

    with transaction(world.engine) as s:
        dead = start_district_approval(s, signer, district_code=DISTRICT, approver=me.username,
                                       now=NOW)  # fmt: skip
    later = NOW + STALE_AFTER + dt.timedelta(minutes=1)
    with transaction(world.engine) as s:
        again = start_district_approval(s, signer, district_code=DISTRICT, approver=me.username,
                                        now=later)  # fmt: skip
    with world.session() as s:  # (SQLite may give the new one the dead one's id)
        pending = s.scalars(select(DistrictApproval.id).where(DistrictApproval.signature == b""))
        assert list(pending) == [again]
        assert stored_so_far(s, again) == 0
    assert dead > job

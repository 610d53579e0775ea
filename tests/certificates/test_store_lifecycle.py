"""Certificate life cycle: corrections revoke, new doses and renewals supersede, DSC withdrawal."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList
from vaxlink.certificates.errors import CertificateNotFound, IssuanceInvalid, TransitionInvalid
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.issuance.lifecycle import dsc_report, expire_lapsed, revoke, transition
from vaxlink.certificates.issuance.sweep import reissue_changed, reissue_for_dsc, renew_expiring
from vaxlink.certificates.models import TRANSITIONS, CertificateStatus
from vaxlink.certificates.verification.result import verification_result
from vaxlink.certificates.verification.store import StoreRevocationList, revocation_document
from vaxlink.db import transaction

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
LATER = NOW + dt.timedelta(days=20)
ISSUER = "Ministry of Health of Viet Nam"


def _sweep_args(**more):
    return {"issuer_name": ISSUER, "by": "tester", **more}


def _check(world, certificate, clock=LATER):
    trust = InMemoryTrustList([world.pki.dsc.certificate, world.pki.dsc2.certificate])
    with world.session() as s:
        return verification_result(
            certificate.hc1, trust, clock=clock, revocation=StoreRevocationList(s)
        )


def test_a_corrected_name_revokes_the_old_certificate_and_issues_a_new_one(
    world, fully_vaccinated
) -> None:
    fully_vaccinated("001085000101", "Nguyễn Văn Tuấn")
    fully_vaccinated("001085000102", "Trần Thị Yến")
    world.approve()
    world.issue()
    old = world.active("001085000101")
    untouched = world.active("001085000102")
    world.update_citizen("001085000101", full_name="Nguyễn Văn Tuấn Anh")
    report = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (report.checked, report.unchanged, report.revoked, report.issued) == (2, 1, 1, 1)
    assert report.superseded == 0
    new = world.active("001085000101")
    assert new.payload["nam"]["gn"] == "Văn Tuấn Anh"
    assert new.replaces_id == old.id
    assert new.created_reason == "correction"
    assert new.uvci != old.uvci
    stale = next(c for c in world.certificates("001085000101") if c.id == old.id)
    assert stale.status == "revoked"
    assert (stale.status_changed_by, stale.status_changed_at) == ("tester", LATER)
    assert stale.status_reason == "the person's data was corrected"
    result = _check(world, old)
    assert not result.valid
    assert result.failure is not None
    assert result.failure.code == "revoked"
    assert _check(world, new).valid
    assert world.active("001085000102").id == untouched.id
    with world.session() as s:
        document = revocation_document(s, now=LATER)
    offline = InMemoryRevocationList(hashes=[base64.b64decode(h) for h in document["hashes"]])
    assert document["count"] == 1
    assert offline.is_revoked(old.uvci)
    assert not offline.is_revoked(new.uvci)
    again = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (again.unchanged, again.issued, again.revoked) == (2, 0, 0)


def test_a_corrected_dose_waits_for_approval_then_is_reissued(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000111", "Lý Văn Quang")
    world.approve()
    world.issue()
    old = world.active("001085000111")
    world.update_dose(old.dose_id, vaccination_date=dt.date(2021, 9, 1))
    waiting = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert waiting.skipped == {Skip.AWAITING_APPROVAL: 1}
    assert world.active("001085000111").id == old.id
    world.approve(now=LATER)
    done = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (done.revoked, done.issued) == (1, 1)
    assert world.active("001085000111").payload["v"][0]["dt"] == "2021-09-01"


def test_a_lot_number_fix_reapproved_keeps_the_certificate(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000121", "Hồ Thị Xuân")
    world.approve()
    world.issue()
    old = world.active("001085000121")
    world.update_dose(old.dose_id, lot_number="FK9999")  # not on the certificate
    world.approve(now=LATER)
    report = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (report.unchanged, report.revoked, report.issued) == (1, 0, 0)


def test_a_new_dose_supersedes_without_revoking(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000131", "Kiều Văn Sơn")
    world.approve()
    world.issue()
    old = world.active("001085000131")
    world.dose("001085000131", 3, dt.date(2022, 2, 1))
    world.approve(now=LATER)
    report = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (report.superseded, report.revoked, report.issued) == (1, 0, 1)
    new = world.active("001085000131")
    assert (new.payload["v"][0]["dn"], new.payload["v"][0]["sd"]) == (3, 3)
    assert new.created_reason == "new_dose"
    assert _check(world, old).valid  # 2/2 is still true and still in the person's hands


def test_doses_linked_away_withdraw_the_certificate(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000141", "Tạ Thị Uyên")
    world.approve()
    world.issue()
    old = world.active("001085000141")
    for certificate_dose in {c.dose_id for c in world.certificates("001085000141")}:
        assert certificate_dose is not None
    with world.session() as s:
        from sqlalchemy import select

        from vaxlink.records.models import DoseRecord

        doses = s.scalars(select(DoseRecord.id).where(DoseRecord.citizen_id == "001085000141"))
        ids = list(doses)
    for dose_id in ids:
        world.update_dose(dose_id, status="invalid")
    report = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (report.revoked, report.issued) == (1, 0)
    assert [c.status for c in world.certificates("001085000141")] == ["revoked"]
    assert not _check(world, old).valid


def test_renewal_supersedes_and_extends(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000151", "Lâm Văn Vinh")
    fully_vaccinated("001085000152", "Châu Thị Xoan")
    world.approve()
    world.issue()
    world.issue(now=NOW + dt.timedelta(days=200))  # nobody new: a no-op
    old = world.active("001085000151")
    soon = old.exp - dt.timedelta(days=20)
    report = renew_expiring(world.engine, world.pki.dsc, within_days=30, now=soon, **_sweep_args())
    assert (report.superseded, report.issued, report.revoked) == (2, 2, 0)
    new = world.active("001085000151")
    assert new.exp > old.exp
    assert (new.created_reason, new.generation, new.replaces_id) == ("renewal", 1, old.id)
    assert new.content_digest == old.content_digest
    assert new.uvci != old.uvci
    assert _check(world, old, clock=soon).valid  # superseded, not revoked
    nothing = renew_expiring(world.engine, world.pki.dsc, within_days=30, now=soon, **_sweep_args())
    assert nothing.checked == 0
    with pytest.raises(IssuanceInvalid):
        renew_expiring(world.engine, world.pki.dsc, within_days=0, now=soon, **_sweep_args())


def test_expired_certificates_are_marked_and_renewal_skips_what_cannot_extend(
    world, fully_vaccinated, pki
) -> None:
    fully_vaccinated("001085000161", "Quách Văn Yên")
    world.approve()
    world.issue()
    old = world.active("001085000161")
    with transaction(world.engine) as s:
        assert expire_lapsed(s, old.exp + dt.timedelta(seconds=1)) == 1
    assert world.certificates("001085000161")[0].status == "expired"
    # Expired: the next batch issues again. Near its DSC's end, it is cut to the DSC's validity.
    end = pki.dsc.certificate.not_valid_after_utc
    assert world.issue(now=end - dt.timedelta(days=100)).issued == 1
    fresh = world.active("001085000161")
    assert fresh.exp == end
    # A renewal would not extend anything: it is left for a DSC rotation.
    report = renew_expiring(
        world.engine, pki.dsc, within_days=30, now=end - dt.timedelta(days=20), **_sweep_args()
    )
    assert report.skipped == {"cannot_extend": 1}
    assert world.active("001085000161").id == fresh.id


def test_transition_table_and_manual_revocation(world, fully_vaccinated) -> None:
    assert TRANSITIONS[CertificateStatus.REVOKED] == frozenset()
    assert TRANSITIONS[CertificateStatus.EXPIRED] == frozenset()
    assert TRANSITIONS[CertificateStatus.SUPERSEDED] == {CertificateStatus.REVOKED}
    fully_vaccinated("001085000171", "Mạc Thị Ánh")
    world.approve()
    world.issue()
    uvci = world.active("001085000171").uvci
    with transaction(world.engine) as s:
        certificate = revoke(s, uvci, reason="reported stolen", by="tester", now=LATER)
        assert certificate.status == "revoked"
        with pytest.raises(TransitionInvalid, match="is revoked"):
            revoke(s, uvci, reason="again", by="tester", now=LATER)
        with pytest.raises(TransitionInvalid):
            transition(certificate, CertificateStatus.ACTIVE, by="t", reason="r", now=LATER)
        with pytest.raises(TransitionInvalid, match="reason"):
            revoke(s, uvci, reason=" ", by="tester", now=LATER)
        with pytest.raises(CertificateNotFound):
            revoke(s, "URN:UVCI:01:VN:NOPE#A", reason="x", by="tester", now=LATER)
    with world.session() as s:  # closed: a session left to the garbage collector leaks its
        revocations = StoreRevocationList(s)  # PostgreSQL connection
        assert not revocations.is_revoked("URN:UVCI:01:VN:NOPE#A")
        assert revocations.is_revoked(uvci)


def test_dsc_withdrawal_is_reported_and_its_certificates_reissued(
    world, fully_vaccinated, pki, tmp_path
) -> None:
    for i in range(3):
        fully_vaccinated(f"00108500018{i}", f"Giáp Văn {i}")
    world.approve()
    world.issue()
    keystore = pki.save(tmp_path / "keys")
    keystore.revoke_dsc(pki.dsc.kid)
    with world.session() as s:
        report = dsc_report(s, pki.dsc.kid, now=LATER)
    assert report.active == {"v": 3}
    assert report.total_active == 3
    with pytest.raises(IssuanceInvalid, match="itself"):
        reissue_for_dsc(world.engine, pki.dsc, pki.dsc.kid, now=LATER, **_sweep_args())
    done = reissue_for_dsc(world.engine, pki.dsc2, pki.dsc.kid, now=LATER, **_sweep_args())
    assert (done.checked, done.superseded, done.issued, done.revoked) == (3, 3, 3, 0)
    trust = InMemoryTrustList(keystore.trusted_dscs(LATER))
    for certificate in world.certificates():
        result = verification_result(certificate.hc1, trust, clock=LATER)
        if certificate.status == "active":
            assert certificate.kid == pki.dsc2.kid.hex()
            assert certificate.created_reason == "dsc_replaced"
            assert result.valid, result.failure
        else:
            assert certificate.status == "superseded"
            assert result.failure is not None
            assert result.failure.code == "unknown_kid"
    with world.session() as s:
        after = dsc_report(s, pki.dsc.kid, now=LATER)
    assert (after.total_active, after.superseded_unexpired) == (0, 3)


def test_recovery_correction_revokes_a_later_infection_supersedes(world) -> None:
    from vaxlink.certificates.issuance.recovery import record_recovery
    from vaxlink.certificates.models import CertificateKind

    def enter(day: dt.date, now: dt.datetime) -> None:
        with transaction(world.engine) as s:
            record_recovery(
                s, citizen_id="001085000191", first_positive=day, station_code="TYT-1",
                recorded_by="Lê Thị B", now=now,
            )  # fmt: skip

    world.citizen("001085000191", "Văn Thị Ngọc")
    enter(dt.date(2025, 2, 10), NOW)
    world.issue(kind=CertificateKind.RECOVERY)
    first = world.active("001085000191", "r")
    enter(dt.date(2025, 2, 12), LATER)  # the station typed the wrong date: a correction
    fixed = reissue_changed(world.engine, world.pki.dsc, now=LATER, **_sweep_args())
    assert (fixed.revoked, fixed.superseded, fixed.issued) == (1, 0, 1)
    second = world.active("001085000191", "r")
    assert second.payload["r"][0]["fr"] == "2025-02-12"
    assert not _check(world, first).valid
    much_later = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    enter(dt.date(2025, 9, 20), much_later)  # infected again after the first recovery ended
    again = reissue_changed(world.engine, world.pki.dsc, now=much_later, **_sweep_args())
    assert (again.revoked, again.superseded, again.issued) == (0, 1, 1)
    third = world.active("001085000191", "r")
    assert third.created_reason == "new_recovery"
    assert third.payload["r"][0]["fr"] == "2025-09-20"

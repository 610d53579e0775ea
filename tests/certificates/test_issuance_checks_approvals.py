"""Issuance re-verifies every approval a certificate rests on (#14): a forged, tampered, foreign or
untrusted approval gets no certificate, the refusal is reported and audited, and
`check-approvals` names each broken approval."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.approval.check import check_all_approvals
from vaxlink.certificates.approval.signing import (
    MANIFEST_VERSION,
    RECORD_COLUMNS,
    approve_records,
    fingerprint,
    manifest_bytes,
    record_digest,
)
from vaxlink.certificates.cli.app import app
from vaxlink.certificates.errors import IssuanceInvalid
from vaxlink.certificates.issuance.batch import issue_for
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.models import ApprovalRecord, CertificateKind, FacilityApproval
from vaxlink.db import transaction
from vaxlink.records.models import DoseRecord

from .conftest import NOW

D1, D2 = dt.date(2021, 8, 2), dt.date(2021, 8, 30)


def _forge_signature(world, approval_id: int) -> None:
    with transaction(world.engine) as s:
        s.execute(
            update(FacilityApproval)
            .where(FacilityApproval.id == approval_id)
            .values(signature=os.urandom(64))
        )


def _audited_refusals(world) -> list[AuditEntry]:
    with world.session() as s:
        return list(s.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificate.issue_refused")
        ))  # fmt: skip


def test_a_forged_approval_signature_gets_no_certificate_and_is_audited(
    world, fully_vaccinated
) -> None:
    fully_vaccinated("001085000401", "Nguyễn Văn Án")
    fully_vaccinated("001085000402", "Trần Thị Bình")
    approval_id = world.approve().approval_id
    _forge_signature(world, approval_id)

    report = world.issue()
    assert report.issued == 0
    assert report.skipped == {Skip.APPROVAL_INVALID: 2}
    assert report.refused_approvals == {approval_id: ("the signature does not verify",)}
    assert world.certificates() == []
    (entry,) = _audited_refusals(world)  # one entry per broken approval, not per person
    assert entry.object_type == "facility_approval"
    assert entry.object_id == str(approval_id)

    with world.session() as s, pytest.raises(IssuanceInvalid, match="approval_invalid"):
        issue_for(s, world.issuer(), "001085000401", CertificateKind.VACCINATION)  # online path


def test_a_sound_approval_issued_again_after_a_forged_one_is_found(world, fully_vaccinated):
    """Re-approving with the site's real key restores issuance: the forged approval is not
    trusted, the new one is."""
    fully_vaccinated("001085000403", "Lê Văn Cường")
    forged = world.approve().approval_id
    _forge_signature(world, forged)
    assert world.issue().issued == 0
    with transaction(world.engine) as s:  # the site signs again (a new version of the records)
        s.execute(update(DoseRecord).values(version=DoseRecord.version + 1))
    assert world.approve().record_count == 2
    report = world.issue()
    assert report.issued == 1
    assert report.refused_approvals == {}


def test_an_approval_by_a_key_of_an_untrusted_ca_is_refused(world, fully_vaccinated, pki):
    fully_vaccinated("001085000404", "Phạm Thị Dung")
    rogue = keys.create_csca(country="VN", organization="Giả mạo", now=NOW - dt.timedelta(days=1))
    impostor = keys.create_facility_signer(
        rogue, facility_code="F001", facility_name="F001", now=NOW - dt.timedelta(days=1)
    )
    with transaction(world.engine) as s:
        approval_id = approve_records(
            s, impostor, facility_code="F001", approver="Kẻ giả", now=NOW
        ).approval_id
    report = world.issue()
    assert report.issued == 0
    assert report.refused_approvals == {
        approval_id: ("the facility certificate was not issued by a trusted CA",)
    }


def test_a_site_cannot_vouch_for_another_sites_doses(world, pki) -> None:
    """A genuine, correctly signed approval of F002 that lists a dose given at F001."""
    world.citizen("001085000405", "Hoàng Văn Em")
    dose_id = world.dose("001085000405", 1, D1)
    signer = pki.facility["F002"]
    with transaction(world.engine) as s:
        row = s.execute(select(*RECORD_COLUMNS).where(DoseRecord.id == dose_id)).one()
        assert row.facility_code == "F001"
        digest = record_digest(row)
        approved_at = NOW.replace(microsecond=0)
        manifest = manifest_bytes(facility_code="F002", approver="Trạm F002",
                                  approved_at=approved_at,
                                  signer_fingerprint=fingerprint(signer.certificate_der),
                                  records=[(row.record_id, digest)])  # fmt: skip
        approval = FacilityApproval(
            facility_code="F002", manifest_version=MANIFEST_VERSION,
            manifest_digest=hashlib.sha256(manifest).hexdigest(), record_count=1,
            signature=signer.sign(manifest), signer_kid=signer.kid.hex(),
            signer_fingerprint=fingerprint(signer.certificate_der),
            signer_certificate=signer.certificate_der, approver="Trạm F002", approved_at=approved_at,
        )  # fmt: skip
        s.add(approval)
        s.flush()
        s.execute(insert(ApprovalRecord), [{"approval_id": approval.id, "dose_id": dose_id,
                                            "record_id": row.record_id, "record_digest": digest}])  # fmt: skip
        approval_id = approval.id
    with world.session() as s:  # the approval itself holds: it is only the wrong site
        assert [c.problems for c in check_all_approvals(s, [pki.csca.certificate])] == [()]
    report = world.issue()
    assert report.issued == 0
    assert report.skipped == {Skip.APPROVAL_INVALID: 1}
    assert approval_id not in report.refused_approvals  # sound, but not for this dose


def test_check_approvals_names_each_broken_approval(
    world, fully_vaccinated, pki, store_url, tmp_path, monkeypatch, clear_settings
) -> None:
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", store_url)
    pki.save(tmp_path / "keys")
    fully_vaccinated("001085000406", "Vũ Thị Giang")
    world.citizen("001085000407", "Đỗ Văn Hải")
    world.dose("001085000407", 1, D1, facility="F002")
    good = world.approve("F001").approval_id
    bad = world.approve("F002").approval_id
    runner = CliRunner()
    ok = runner.invoke(app, ["check-approvals"])
    assert ok.exit_code == 0, ok.output
    assert "All 2 approval(s) verify" in ok.output

    _forge_signature(world, bad)
    failed = runner.invoke(app, ["check-approvals"])
    assert failed.exit_code == 1
    assert f"#{bad}" in failed.output
    assert f"#{good}" not in failed.output
    assert "signature does not verify" in failed.output
    with world.session() as s:
        verdicts = {c.approval_id: c.problems for c in check_all_approvals(s)}
    assert verdicts[good] == ()
    assert verdicts[bad] == ("the signature does not verify",)

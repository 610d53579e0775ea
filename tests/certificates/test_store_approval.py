"""Facility approval over the store: sign, verify later, and lose the approval when a record moves."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, update
from tests.cleaning.entry_support import SIGNING
from tests.store_support import captured_queries, plan

from vaxlink.certificates.approval.check import ApprovalState, approval_state, verify_approval
from vaxlink.certificates.approval.signing import (
    SigningCredential,
    approve_records,
    facility_signer,
    manifest_bytes,
)
from vaxlink.certificates.errors import ApprovalError, CertificateNotFound
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.models import ApprovalRecord, FacilityApproval
from vaxlink.db import transaction

D1 = dt.date(2021, 8, 2)
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest


def test_approval_signs_only_the_facilitys_verified_records_and_verifies(world, pki) -> None:
    world.citizen("001085000001", "Nguyễn Văn An")
    signed = [
        world.dose("001085000001", 1, D1),
        world.dose("001085000001", 2, D1, status="auto_linked"),
    ]
    others = [
        world.dose("001085000001", 3, D1, status="review"),
        world.dose(None, 1, D1, status="verified"),
        world.dose("001085000001", 1, D1, facility="F002"),
        world.dose("001085000001", 1, D1, status="pending"),
    ]
    result = world.approve("F001")
    assert result.record_count == 2
    assert result.approval_id is not None
    with world.session() as s:
        assert [approval_state(s, i) for i in signed] == [ApprovalState.APPROVED] * 2
        assert {approval_state(s, i) for i in others} == {ApprovalState.NEVER}
        check = verify_approval(s, result.approval_id, cscas=[pki.csca.certificate])
        approval = s.get(FacilityApproval, result.approval_id)
        assert approval is not None
        assert approval.approver == "Lê Thị B"
        assert (
            approval.signer_fingerprint
            == hashlib.sha256(pki.facility["F001"].certificate_der).hexdigest()
        )
        assert approval.record_count == 2
    assert check.valid, check.problems
    assert check.changed_records == ()
    assert world.approve("F001").record_count == 0  # nothing new to sign


def test_a_changed_record_loses_its_approval_until_approved_again(world) -> None:
    world.citizen("001085000002", "Trần Thị Bình")
    first = world.dose("001085000002", 1, D1)
    second = world.dose("001085000002", 2, D1)
    approval = world.approve().approval_id
    world.update_dose(first, lot_number="FK0000")  # an ORM update bumps `version`
    with world.session() as s:
        assert approval_state(s, first) is ApprovalState.CHANGED
        assert approval_state(s, second) is ApprovalState.APPROVED
        check = verify_approval(s, approval)
    assert check.valid  # the signature still holds over what was approved …
    assert len(check.changed_records) == 1  # … but it no longer covers this record
    again = world.approve()
    assert again.record_count == 1
    with world.session() as s:
        assert approval_state(s, first) is ApprovalState.APPROVED
        assert verify_approval(s, again.approval_id).changed_records == ()


def test_a_version_bump_alone_loses_the_approval(world, cert_store) -> None:
    world.citizen("001085000003", "Lê Văn Cường")
    dose = world.dose("001085000003", 1, D1)
    world.approve()
    with transaction(cert_store) as s:
        from vaxlink.records.models import DoseRecord

        s.execute(update(DoseRecord).where(DoseRecord.id == dose).values(version=2))
    with world.session() as s:
        assert approval_state(s, dose) is ApprovalState.CHANGED


def test_tampering_with_the_stored_approval_is_detected(world, pki) -> None:
    world.citizen("001085000004", "Phạm Thị Dung")
    dose = world.dose("001085000004", 1, D1)
    approval_id = world.approve().approval_id
    with transaction(world.engine) as s:
        s.execute(
            update(ApprovalRecord)
            .where(ApprovalRecord.dose_id == dose)
            .values(record_digest="0" * 64)
        )
    with world.session() as s:
        check = verify_approval(s, approval_id)
    assert not check.valid
    assert "the stored records do not match the signed manifest" in check.problems

    with transaction(world.engine) as s:
        approval = s.get(FacilityApproval, approval_id)
        assert approval is not None
        links = s.execute(
            select(ApprovalRecord.record_id, ApprovalRecord.record_digest).where(
                ApprovalRecord.approval_id == approval_id
            )
        ).all()
        manifest = manifest_bytes(
            facility_code="F001",
            approver=approval.approver,
            approved_at=approval.approved_at,
            signer_fingerprint=approval.signer_fingerprint,
            records=[tuple(link) for link in links],
        )
        approval.manifest_digest = hashlib.sha256(manifest).hexdigest()  # cover the tracks
    with world.session() as s:
        check = verify_approval(s, approval_id)
    assert not check.valid
    assert check.problems == ("the signature does not verify",)


def test_approval_needs_the_facilitys_own_valid_key(world, pki, tmp_path) -> None:
    world.citizen("001085000005", "Hoàng Văn Em")
    world.dose("001085000005", 1, D1)
    with transaction(world.engine) as s, pytest.raises(ApprovalError, match="belongs to 'F002'"):
        approve_records(s, pki.facility["F002"], facility_code="F001", approver="X", now=NOW)
    with transaction(world.engine) as s, pytest.raises(ApprovalError, match="not a facility"):
        approve_records(s, pki.dsc, facility_code="F001", approver="X", now=NOW)
    with transaction(world.engine) as s, pytest.raises(ApprovalError, match="approver"):
        approve_records(s, pki.facility["F001"], facility_code="F001", approver=" ", now=NOW)
    store = pki.save(tmp_path / "keys")
    me = SigningCredential("approver.f001", SIGNING)  # the wrap pki.save makes
    assert facility_signer(store, "F001", NOW, me).kid == pki.facility["F001"].kid
    with pytest.raises(ApprovalError, match="issue-facility"):
        facility_signer(KeyStore(tmp_path / "empty"), "F001", NOW, me)


def test_an_untrusted_ca_and_unknown_ids_are_reported(world) -> None:
    world.citizen("001085000006", "Vũ Thị Giang")
    world.dose("001085000006", 1, D1)
    approval_id = world.approve().approval_id
    other = keys.create_csca(country="VN", organization="Khác", now=NOW)
    with world.session() as s:
        check = verify_approval(s, approval_id, cscas=[other.certificate])
        assert check.problems == ("the facility certificate was not issued by a trusted CA",)
        with pytest.raises(CertificateNotFound):
            verify_approval(s, 999_999)
        with pytest.raises(CertificateNotFound):
            approval_state(s, 999_999)


def test_signing_reads_the_site_s_approvable_doses_through_their_index(world) -> None:
    # The index holds approvable doses only (partial); SQLite uses it only if the query repeats
    # its WHERE term, so the query sent is explained as it is, on each store.
    world.citizen("001085000001", "Nguyễn Văn An")
    world.dose("001085000001", 1, D1)
    world.dose("001085000001", 2, D1, status="pending")
    with captured_queries(world.engine, lambda sql: "FROM dose_record" in sql
                          and "facility_code" in sql.split("WHERE")[-1]) as sent:  # fmt: skip
        assert world.approve("F001").record_count == 1
    assert sent
    with world.engine.begin() as conn:
        shown = plan(conn, *sent[0])
    assert "ix_dose_record_approvable" in shown, shown

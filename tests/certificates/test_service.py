"""The front door: the operations other domains (and the flows) call instead of reaching inside.

`approve_doses`/`approve_dose` sign given doses with each site's own key (the site's own tools;
a citizen report's correction never calls them), `reissue_person` brings one person's certificate
in line with their records in the caller's transaction, or says which dose waits for which site,
and `freshness` tells pages the same. Also: the pure core loads nothing of the store or the web.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from vaxlink.certificates import service
from vaxlink.certificates.errors import SigningPassphraseWrong
from vaxlink.certificates.models import ApprovalRecord, FacilityApproval
from vaxlink.db import transaction

D1, D2 = dt.date(2021, 8, 2), dt.date(2021, 8, 30)
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
LATER = NOW + dt.timedelta(days=10)


def test_approve_doses_signs_each_site_with_its_own_key_and_skips_the_rest(
    world, pki, signing, tmp_path
) -> None:
    world.citizen("001085000301", "Nguyễn Văn An")
    at_f1 = world.dose("001085000301", 1, D1)
    at_f2 = world.dose("001085000301", 2, D2, facility="F002")
    not_linked = world.dose(None, 1, D1)
    in_review = world.dose("001085000301", 3, D2, status="review")
    keys = pki.save(tmp_path / "keys")
    f1, f2 = signing("F001"), signing("F002")
    with transaction(world.engine) as s, pytest.raises(service.ApprovalError, match="F002"):
        service.approve_doses(s, keys, [at_f1, at_f2], credential=f1, now=NOW)  # not F002's
    with transaction(world.engine) as s:
        results = service.approve_doses(
            s,
            keys,
            [at_f1, not_linked, in_review],
            credential=f1,
            now=NOW,
            note="after a report",
        ) + service.approve_doses(s, keys, [at_f2], credential=f2, now=NOW, note="after a report")
    assert [(r.facility_code, r.record_count) for r in results] == [("F001", 1), ("F002", 1)]
    with world.session() as s:
        states = [service.approval_state(s, i) for i in (at_f1, at_f2, not_linked, in_review)]
        approvals = s.scalars(select(FacilityApproval).order_by(FacilityApproval.id)).all()
        for approval in approvals:
            assert service.verify_approval(s, approval.id, cscas=[pki.csca.certificate]).valid
    approved, never = service.ApprovalState.APPROVED, service.ApprovalState.NEVER
    assert states == [approved, approved, never, never]
    assert [a.signer_kid for a in approvals] == [
        pki.facility[f].kid.hex() for f in ("F001", "F002")
    ]
    assert [a.approver for a in approvals] == [f1.username, f2.username]
    assert {a.note for a in approvals} == {"after a report"}
    with transaction(world.engine) as s:  # approved as they stand: nothing to sign again
        assert service.approve_doses(s, keys, [at_f1, at_f2], credential=f1, now=NOW) == []


def test_approve_dose_returns_the_approval_or_none(world, pki, signing, tmp_path) -> None:
    world.citizen("001085000302", "Trần Thị Bình")
    dose = world.dose("001085000302", 1, D1)
    keys = pki.save(tmp_path / "keys")
    me = signing()
    with transaction(world.engine) as s:
        approval_id = service.approve_dose(s, keys, dose, credential=me, now=NOW)
        again = service.approve_dose(s, keys, dose, credential=me, now=NOW)
    assert approval_id is not None
    assert again is None
    with world.session() as s:
        assert s.scalars(select(ApprovalRecord.dose_id)).all() == [dose]
    world.update_dose(dose, lot_number="FK1234")  # a correction: approved no longer
    with transaction(world.engine) as s:
        renewed = service.approve_dose(s, keys, dose, credential=me, now=LATER)
    assert renewed is not None
    assert renewed != approval_id


def test_approve_dose_refuses_a_dose_without_a_site_and_a_site_without_a_key(
    world, pki, signing, tmp_path
) -> None:
    world.citizen("001085000303", "Lê Văn Cường")
    no_site = world.dose("001085000303", 1, D1, facility="")
    no_key = world.dose("001085000303", 2, D2, facility="F999")
    keys = pki.save(tmp_path / "keys")
    with transaction(world.engine) as s, pytest.raises(service.ApprovalError, match="no vaccin"):
        service.approve_dose(s, keys, no_site, credential=signing(), now=NOW)
    f999 = signing("F999")
    with transaction(world.engine) as s, pytest.raises(service.ApprovalError, match="F999"):
        service.approve_dose(s, keys, no_key, credential=f999, now=NOW)


def test_approve_dose_refuses_without_the_approvers_passphrase(
    world, pki, signing, tmp_path
) -> None:
    world.citizen("001085000304", "Phạm Thị Dung")
    dose = world.dose("001085000304", 1, D1)
    keys = pki.save(tmp_path / "keys")
    me = signing()
    guess = service.SigningCredential(me.username, "a guessed passphrase 1")
    with transaction(world.engine) as s, pytest.raises(SigningPassphraseWrong):
        service.approve_dose(s, keys, dose, credential=guess, now=NOW)
    with world.session() as s:
        assert s.scalars(select(ApprovalRecord.dose_id)).all() == []


def test_reissue_person_issues_keeps_and_replaces_after_a_correction(
    world, fully_vaccinated
) -> None:
    citizen = fully_vaccinated("001085000304", "Phạm Thị Dung")
    world.approve()
    with transaction(world.engine) as s:
        first = service.reissue_person(s, world.issuer(), citizen)
        first_uvci = first.uvci
    with transaction(world.engine) as s:  # nothing changed: the same certificate
        assert service.reissue_person(s, world.issuer(), citizen).uvci == first_uvci
    world.update_citizen(citizen, full_name="Phạm Thị Dung Anh")
    with transaction(world.engine) as s:
        second = service.reissue_person(s, world.issuer(now=LATER), citizen)
        assert second.payload["nam"]["gn"] == "Thị Dung Anh"
        second_uvci = second.uvci
    assert second_uvci != first_uvci
    statuses = {c.uvci: c.status for c in world.certificates(citizen)}
    assert statuses == {first_uvci: "revoked", second_uvci: "active"}


def test_reissue_person_raises_when_no_certificate_can_stand(world) -> None:
    citizen = world.citizen("001085000305", "Hoàng Văn Em")
    dose = world.dose(citizen, 1, D1)
    world.approve()
    world.issue()
    world.update_dose(dose, citizen_id=None, status="review")  # linked to nobody now
    with transaction(world.engine) as s, pytest.raises(service.IssuanceInvalid, match="withdrawn"):
        service.reissue_person(s, world.issuer(now=LATER), citizen)


def test_reissue_person_refuses_while_a_dose_waits_for_its_site_and_freshness_says_which(
    world, fully_vaccinated
) -> None:
    citizen = fully_vaccinated("001085000307", "Vũ Thị Hoa")
    world.approve()
    world.issue()
    old = world.active(citizen)
    with world.session() as s:
        fresh = service.freshness(s, citizen)
    assert (fresh.agrees, fresh.disagrees, fresh.ready, fresh.pending) == (True, False, True, ())
    # a newer booster at F002, not signed yet: the certificate is still true, only behind
    booster = world.dose(citizen, 3, dt.date(2022, 1, 10), facility="F002")
    with world.session() as s:
        fresh = service.freshness(s, citizen)
    assert (fresh.agrees, fresh.disagrees, fresh.ready) == (False, False, False)
    assert [(p.dose_id, p.why) for p in fresh.pending] == [(booster, service.Waiting.NEVER)]
    # the dose the certificate attests is corrected: the certificate now disagrees
    dose2 = old.dose_id
    world.update_dose(dose2, vaccination_date=dt.date(2021, 8, 31), version=2)
    with world.session() as s:
        fresh = service.freshness(s, citizen)
    assert fresh.disagrees
    assert [(p.dose_id, p.facility_code, p.why) for p in fresh.pending] == [
        (dose2, "F001", service.Waiting.CHANGED), (booster, "F002", service.Waiting.NEVER),
    ]
    assert fresh.message() == (
        "the dose of 31/08/2021 waits for the signature of site F001; "
        "the dose of 10/01/2022 waits for the signature of site F002"
    )
    with transaction(world.engine) as s, pytest.raises(
        service.IssuanceInvalid, match=r"the dose of 31/08/2021 waits for the signature of site F001"
    ):
        service.reissue_person(s, world.issuer(now=LATER), citizen)
    assert world.active(citizen).uvci == old.uvci  # kept, never re-signed for the sites
    world.approve("F001", now=LATER)
    world.approve("F002", now=LATER)
    with transaction(world.engine) as s:
        new = service.reissue_person(s, world.issuer(now=LATER), citizen)
        assert new.payload["v"][0]["dt"] == "2022-01-10"  # the newest dose, now signed
        new_uvci = new.uvci
    assert {c.uvci: c.status for c in world.certificates(citizen)}[old.uvci] == "revoked"
    with world.session() as s:
        fresh = service.freshness(s, citizen)
    assert fresh.agrees
    assert fresh.certificate is not None
    assert fresh.certificate.uvci == new_uvci


def test_the_store_that_cannot_answer_fails_closed_at_the_edge(world, pki, tmp_path) -> None:
    world.citizen("001085000306", "Đỗ Thị Giang")
    world.dose("001085000306", 1, D1)
    world.approve()
    world.issue()
    certificate = world.active("001085000306")
    trust = service.InMemoryTrustList([pki.dsc.certificate])
    gone = create_engine(f"sqlite:///{tmp_path}/no/such/folder/store.db")  # cannot be opened
    broken = service.StoreRevocationList(Session(gone))
    with pytest.raises(service.VerifierFault) as fault:
        service.verify(certificate.hc1, trust, clock=LATER, revocation=broken)
    assert fault.value.step == service.Step.REVOCATION
    result = service.verification_result(certificate.hc1, trust, clock=LATER, revocation=broken)
    assert (result.valid, result.failure and result.failure.code) == (False, "internal_error")


@pytest.mark.parametrize(
    "module",
    [
        "vaxlink.certificates.core.conformance",
        "vaxlink.certificates.core.fhir",
        "vaxlink.certificates.core.issue",
        "vaxlink.certificates.core.verify",
        "vaxlink.certificates.verification.result",
    ],
)
def test_the_pure_core_loads_no_store_web_or_cli(module: str) -> None:
    forbidden = ("sqlalchemy", "fastapi", "starlette", "typer", "vaxlink.db", "vaxlink.web")
    code = (
        f"import sys, {module}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r} "
        f"or m.startswith(('vaxlink.db', 'vaxlink.web')) or m.endswith('.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

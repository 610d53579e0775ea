"""Issuance over the store: certificates verify, follow the EU schema, and batches are restartable."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from vaxlink.certificates.core.trust import InMemoryTrustList
from vaxlink.certificates.core.uvci import parse_uvci, uvci_from_seed
from vaxlink.certificates.errors import (
    HsmError,
    IssuanceInvalid,
    KeyUsageInvalid,
    RecoveryInvalid,
)
from vaxlink.certificates.issuance.batch import issue_batch, issue_for
from vaxlink.certificates.issuance.content import Skip
from vaxlink.certificates.issuance.recovery import record_recovery
from vaxlink.certificates.keys.hierarchy import create_dsc
from vaxlink.certificates.models import Certificate, CertificateKind
from vaxlink.certificates.verification.result import verification_result
from vaxlink.certificates.verification.store import StoreRevocationList
from vaxlink.db import transaction
from vaxlink.standards import eu_schema

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest
CLOCK = NOW + dt.timedelta(days=1)
SCHEMA = Draft202012Validator(eu_schema("1.3.0"))


def _trust(pki) -> InMemoryTrustList:
    return InMemoryTrustList([pki.dsc.certificate, pki.dsc2.certificate])


def test_issued_certificates_verify_and_follow_the_eu_schema(world, pki) -> None:
    world.citizen("001085000011", "Nguyễn Thị Thủy", "1985-03-14")
    world.dose("001085000011", 1, dt.date(2021, 8, 2), vaccine="Vaxzevria")
    world.dose("001085000011", 2, dt.date(2021, 9, 13), vaccine="Vaxzevria")
    world.citizen("001090000012", "Trần Văn Bảo", "1990")
    world.dose("001090000012", 1, dt.date(2021, 8, 2))
    world.dose("001090000012", 2, dt.date(2021, 9, 1))
    world.dose("001090000012", 3, dt.date(2022, 3, 1), vaccine="Spikevax")  # booster
    world.citizen("001070000013", "Lê Văn Cần", "1970-07")
    world.dose("001070000013", 1, dt.date(2021, 10, 2), vaccine="Jcovden")
    world.approve()
    report = world.issue()
    assert report.issued == 3
    assert report.skipped == Counter()
    trust = _trust(pki)
    with world.session() as s:
        revocation = StoreRevocationList(s)
        for certificate in world.certificates():
            result = verification_result(certificate.hc1, trust, clock=CLOCK, revocation=revocation)
            assert result.valid, result.failure
            assert result.payload == certificate.payload
            assert len(result.fields) == 11
            assert list(SCHEMA.iter_errors(certificate.payload)) == []
            assert certificate.kid == pki.dsc.kid.hex()
            assert certificate.exp.year == 2026  # 12 months
            parse_uvci(certificate.uvci)
            assert certificate.uvci.startswith("URN:UVCI:01:VN:")
    entries = {c.citizen_id: c.payload["v"][0] for c in world.certificates()}
    assert (entries["001085000011"]["dn"], entries["001085000011"]["sd"]) == (2, 2)
    assert entries["001085000011"]["mp"] == "EU/1/21/1529"
    assert (entries["001090000012"]["dn"], entries["001090000012"]["sd"]) == (3, 3)
    assert entries["001090000012"]["dt"] == "2022-03-01"
    assert entries["001090000012"]["mp"] == "EU/1/20/1507"
    assert (entries["001070000013"]["dn"], entries["001070000013"]["sd"]) == (1, 1)
    assert entries["001085000011"]["is"] == "Ministry of Health of Viet Nam"
    assert entries["001085000011"]["co"] == "VN"
    first = world.active("001085000011")
    assert first.payload["nam"] == {
        "fn": "Nguyễn",
        "fnt": "NGUYEN",
        "gn": "Thị Thủy",
        "gnt": "THI<THUY",
    }  # from the registry, not from the dose record ("Nguyen Van A")
    assert first.payload["dob"] == "1985-03-14"
    assert world.active("001090000012").payload["dob"] == "1990"


def test_people_not_ready_are_skipped_with_a_reason(world) -> None:
    world.citizen("001085000021", "Phạm Văn Đức")
    world.dose("001085000021", 1, dt.date(2021, 8, 2))
    world.dose("001085000021", 2, dt.date(2021, 9, 2), facility="F002")  # F002 has not approved
    world.dose("001085000022", 1, dt.date(2021, 8, 2))  # not in the registry
    world.citizen("001085000023", "Võ Thị Hà", "1985-02-30")  # impossible date of birth
    world.dose("001085000023", 1, dt.date(2021, 8, 2))
    world.approve("F001")
    report = world.issue()
    assert report.issued == 0
    assert report.skipped == {
        Skip.AWAITING_APPROVAL: 1,
        Skip.NOT_IN_REGISTRY: 1,
        Skip.INVALID_DATA: 1,
    }
    world.approve("F002")
    assert world.issue().issued == 1
    assert world.active("001085000021").payload["v"][0]["dn"] == 2


def test_a_rerun_issues_nothing_new_and_uvcis_are_deterministic(world, fully_vaccinated) -> None:
    for i in range(5):
        fully_vaccinated(f"00108500003{i}", f"Nguyễn Văn Số {i}")
    world.approve()
    assert world.issue(chunk_size=2).issued == 5
    again = world.issue(chunk_size=2)
    assert (again.looked_at, again.already_active, again.issued) == (5, 5, 0)
    for certificate in world.certificates():
        seed = f"{certificate.citizen_id}|v|{certificate.content_digest}|0"
        assert certificate.uvci == uvci_from_seed(seed)
        assert certificate.generation == 0


class FailingSigner:
    """A DSC whose token fails after `ok` signatures (an HSM dropping out mid-batch)."""

    def __init__(self, inner, ok: int) -> None:
        self.inner, self.left = inner, ok
        self.kid, self.algorithm = inner.kid, inner.algorithm
        self.certificate_der = inner.certificate_der

    def sign(self, data: bytes) -> bytes:
        if self.left == 0:
            raise HsmError("the token stopped answering")
        self.left -= 1
        return self.inner.sign(data)


def test_a_crash_mid_batch_then_a_rerun_leaves_no_duplicates_and_no_gaps(
    world, fully_vaccinated, pki
) -> None:
    people = [fully_vaccinated(f"0010850001{i:02d}", f"Đặng Văn {i}") for i in range(11)]
    world.approve()
    with pytest.raises(HsmError):
        world.issue(signer=FailingSigner(pki.dsc, ok=7), chunk_size=3)
    issued = world.certificates()
    assert len(issued) == 6  # two whole chunks committed, the third rolled back
    assert [c.citizen_id for c in issued] == people[:6]
    report = world.issue(chunk_size=3)
    assert (report.already_active, report.issued) == (6, 5)
    everything = world.certificates()
    assert sorted(c.citizen_id for c in everything) == people
    assert len({c.uvci for c in everything}) == len(people)
    with world.session() as s:
        counts = s.execute(
            select(Certificate.citizen_id, func.count()).group_by(Certificate.citizen_id)
        ).all()
    assert {n for _, n in counts} == {1}
    assert world.issue(chunk_size=3).issued == 0


def test_one_active_certificate_per_person_is_enforced_by_the_store(
    world, fully_vaccinated
) -> None:
    fully_vaccinated("001085000041", "Bùi Thị Lan")
    world.approve()
    world.issue()
    original = world.active("001085000041")
    with transaction(world.engine) as s:
        row = {
            c.name: getattr(original, c.key)
            for c in Certificate.__table__.columns
            if c.name != "id"
        } | {"uvci": "URN:UVCI:01:VN:DUPLICATE#X"}
        s.add(Certificate(**row))
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            s.flush()
        s.rollback()


def test_issue_for_one_person_online(world, fully_vaccinated) -> None:
    fully_vaccinated("001085000051", "Đỗ Văn Minh")
    world.citizen("001085000052", "Ngô Thị Nga")
    world.approve()
    with transaction(world.engine) as s:
        certificate = issue_for(s, world.issuer(), "001085000051", CertificateKind.VACCINATION)
        assert certificate.status == "active"
        again = issue_for(s, world.issuer(), "001085000051", CertificateKind.VACCINATION)
        assert again.id == certificate.id
        with pytest.raises(IssuanceInvalid, match="no_records"):
            issue_for(s, world.issuer(), "001085000052", CertificateKind.VACCINATION)


def test_recovery_certificates(world, pki) -> None:
    world.citizen("001085000061", "Dương Thị Oanh")
    world.citizen("001085000062", "Mai Văn Phúc")
    with transaction(world.engine) as s:
        entry = record_recovery(
            s, citizen_id="001085000061", first_positive=dt.date(2025, 2, 10),
            station_code="TYT-26734", recorded_by="Lê Thị B", now=NOW,
        )  # fmt: skip
        assert (entry.valid_from, entry.valid_until) == (dt.date(2025, 2, 21), dt.date(2025, 8, 9))
        record_recovery(
            s, citizen_id="001085000062", first_positive=dt.date(2024, 6, 1),
            station_code="TYT-26734", recorded_by="Lê Thị B", now=NOW,
        )  # fmt: skip
        with pytest.raises(RecoveryInvalid, match="future"):
            record_recovery(
                s, citizen_id="001085000061", first_positive=dt.date(2025, 3, 5),
                station_code="TYT-26734", recorded_by="Lê Thị B", now=NOW,
            )  # fmt: skip
        with pytest.raises(RecoveryInvalid, match="registry"):
            record_recovery(
                s, citizen_id="001085009999", first_positive=dt.date(2025, 2, 10),
                station_code="TYT-26734", recorded_by="Lê Thị B", now=NOW,
            )  # fmt: skip
    report = world.issue(kind=CertificateKind.RECOVERY)
    assert report.issued == 1
    assert report.skipped == {Skip.RECOVERY_ENDED: 1}
    certificate = world.active("001085000061", "r")
    entry_r = certificate.payload["r"][0]
    assert (entry_r["fr"], entry_r["df"], entry_r["du"]) == (
        "2025-02-10",
        "2025-02-21",
        "2025-08-09",
    )
    assert certificate.exp == dt.datetime(2025, 8, 10, tzinfo=dt.UTC)  # not past the recovery
    assert list(SCHEMA.iter_errors(certificate.payload)) == []
    result = verification_result(certificate.hc1, _trust(pki), clock=CLOCK)
    assert result.valid, result.failure
    assert [f.key for f in result.fields][2:4] == ["disease", "first_positive"]
    only_v = create_dsc(pki.csca, now=NOW - dt.timedelta(days=1), common_name="v only")
    with pytest.raises(KeyUsageInvalid, match="may not sign type 'r'"):
        issue_batch(
            world.engine, only_v, issuer_name="X", by="t", kind=CertificateKind.RECOVERY, now=NOW
        )

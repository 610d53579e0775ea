"""Issuance on synthetic data: real-looking Vietnamese names, dates and schedules all give valid DCCs.

The linkage engine is built elsewhere, so doses are linked by the generator's ground truth.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import insert

from vaxlink.certificates.approval.signing import approve_records
from vaxlink.certificates.core.trust import InMemoryTrustList
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.verification.result import verification_result
from vaxlink.db import transaction
from vaxlink.identity import DateParseError, parse_date
from vaxlink.records.models import DoseRecord
from vaxlink.records.vaccines import lookup
from vaxlink.registry.models import Citizen
from vaxlink.standards import eu_schema
from vaxlink.synth.generate import SynthResult, generate

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)  # as in conftest


@pytest.fixture(scope="module")
def synthetic() -> SynthResult:
    return generate(60, seed=2021)


def _date(text: str | None) -> dt.date | None:
    """A vaccination date as sites write it (ISO or day first), or None when it is not a day."""
    try:
        return parse_date(text or "", what="vaccination date").as_date()
    except (DateParseError, ValueError):
        return None


def _load(world, synthetic: SynthResult) -> set[str]:
    """Citizens and their linkable doses (by ground truth); returns the facility codes."""
    truth = {r["record_id"]: r for r in synthetic.truth.to_pylist()}
    citizens, doses = [], []
    for r in synthetic.registry.to_pylist():
        citizens.append({
            "citizen_id": r["citizen_id"], "full_name": r["full_name"], "name_folded": "x",
            "name_key": "x", "date_of_birth": r["date_of_birth"], "dob_precision": "day",
            "sex": r["sex"], "province_code": r["province_code"], "row_hash": "x",
            "batch_id": world.batch_id, "source_row": 0,
        })  # fmt: skip
    for n, r in enumerate(synthetic.doses.to_pylist()):
        vaccine, day, link = (
            lookup(r["vaccine"] or ""),
            _date(r["vaccination_date"]),
            truth[r["record_id"]],
        )
        if vaccine is None or day is None or not link["in_registry"] or day > NOW.date():
            continue
        primary = r["dose_number"] <= vaccine.primary_doses
        doses.append({
            "record_id": r["record_id"], "batch_id": world.batch_id, "source_row": n,
            "row_hash": "x", "full_name": r["full_name"] or "", "name_folded": "x", "id_kind": "x",
            "vaccine_key": vaccine.key, "vaccine_mp": vaccine.mp, "lot_number": r["lot_number"],
            "vaccination_date": day, "dose_number": r["dose_number"],
            "dose_category": "primary" if primary else "booster",
            "dose_sequence": r["dose_number"] if primary else r["dose_number"] - vaccine.primary_doses,
            "facility_code": r["facility_code"], "status": "verified",
            "citizen_id": link["citizen_id"], "version": 1,
        })  # fmt: skip
    with transaction(world.engine) as s:
        s.execute(insert(Citizen), citizens)
        s.execute(insert(DoseRecord), doses)
    return {d["facility_code"] for d in doses}


def test_synthetic_population_gets_valid_certificates(world, pki, synthetic) -> None:
    facilities = _load(world, synthetic)
    assert len(facilities) > 5
    with transaction(world.engine) as s:
        for code in sorted(facilities):
            signer = keys.create_facility_signer(
                pki.csca, facility_code=code, facility_name=code, now=NOW - dt.timedelta(hours=1)
            )
            approve_records(s, signer, facility_code=code, approver="Trưởng trạm", now=NOW)
    report = world.issue(chunk_size=16)
    assert report.issued >= 40
    assert set(report.skipped) <= {"no_records"}
    schema = Draft202012Validator(eu_schema("1.3.0"))
    trust = InMemoryTrustList([pki.dsc.certificate])
    doses = Counter()
    for certificate in world.certificates():
        result = verification_result(certificate.hc1, trust, clock=NOW + dt.timedelta(days=1))
        assert result.valid, (result.failure, certificate.payload)
        assert list(schema.iter_errors(certificate.payload)) == []
        entry = certificate.payload["v"][0]
        doses[(entry["dn"], entry["sd"])] += 1
        assert entry["dn"] <= entry["sd"]
    assert len(doses) > 1  # several schedules: primary series and boosters

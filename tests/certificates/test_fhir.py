"""FHIR (R4B) DDCC:VS export: a valid document Bundle that round-trips through the library."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from vaxlink.certificates.core.fhir import (
    EXT_BRAND,
    EXT_COUNTRY,
    EXT_MARKET_AUTHORIZATION,
    EXT_VALID_FROM,
    Coding,
    DdccVaccination,
    build_ddcc_bundle,
    ddcc_bundle_json,
)
from vaxlink.certificates.errors import DocumentRenderError

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
EC_REGISTER = "https://ec.europa.eu/health/documents/community-register"
EMA_SPOR = "https://spor.ema.europa.eu/v1/organisations"
RECORD = DdccVaccination(
    name="Nguyễn Thị Thuỷ Đức",
    birth_date=date(1985, 3, 14),
    identifier="001085012345",
    identifier_system="urn:oid:2.16.704.1.1",  # an example national-ID system
    vaccine=Coding("http://snomed.info/sct", "1119349007", "SARS-CoV-2 mRNA vaccine"),
    brand=Coding(EC_REGISTER, "EU/1/20/1528", "Comirnaty"),
    manufacturer=Coding(EMA_SPOR, "ORG-100030215", "Biontech Manufacturing GmbH"),
    lot_number="FK8891",
    vaccination_date=date(2021, 9, 1),
    dose_number=2,
    total_doses=2,
    disease=Coding("http://snomed.info/sct", "840539006", "COVID-19"),
    country="VNM",
    centre="Trạm Y tế phường Bến Nghé",
    issuer="Bộ Y tế",
    certificate_id="URN:UVCI:01:VN:8F3K2M9Q4R7T1X#Q",
    valid_from=date(2021, 9, 15),
)


def _resources(bundle_json: str) -> dict[str, Any]:
    data = json.loads(bundle_json)
    return {e["resource"]["resourceType"]: e["resource"] for e in data["entry"]}


def test_json_round_trips_through_the_fhir_parser_with_the_lot_number() -> None:
    text = ddcc_bundle_json(RECORD, now=NOW)
    assert '"lotNumber": "FK8891"' in text
    parsed = Bundle.model_validate_json(text)
    assert parsed.type == "document"
    entries: list[Any] = parsed.entry or []
    immunization = next(
        e.resource for e in entries if e.resource.get_resource_type() == "Immunization"
    )
    assert immunization.lotNumber == "FK8891"
    assert parsed.model_dump_json(indent=2) == text


def test_bundle_carries_the_ddcc_core_data_set() -> None:
    text = ddcc_bundle_json(RECORD, now=NOW)
    data = json.loads(text)
    res = _resources(text)
    assert list(res) == ["Composition", "Patient", "Immunization", "Organization"]
    assert data["identifier"]["value"] == RECORD.certificate_id
    patient, imm, comp = res["Patient"], res["Immunization"], res["Composition"]
    assert patient["name"] == [{"use": "official", "text": "Nguyễn Thị Thuỷ Đức"}]
    assert patient["birthDate"] == "1985-03-14"
    assert patient["identifier"] == [{"system": "urn:oid:2.16.704.1.1", "value": "001085012345"}]
    assert imm["vaccineCode"]["coding"][0]["code"] == "1119349007"
    assert imm["occurrenceDateTime"] == "2021-09-01"
    assert imm["location"] == {"display": "Trạm Y tế phường Bến Nghé"}
    (applied,) = imm["protocolApplied"]
    assert applied["doseNumberPositiveInt"] == 2
    assert applied["seriesDosesPositiveInt"] == 2
    assert applied["targetDisease"][0]["coding"][0]["code"] == "840539006"
    ext = {e["url"]: e for e in imm["extension"]}
    assert ext[EXT_BRAND]["valueCoding"]["code"] == "EU/1/20/1528"
    assert ext[EXT_MARKET_AUTHORIZATION]["valueCoding"]["code"] == "ORG-100030215"
    assert ext[EXT_COUNTRY]["valueCode"] == "VNM"
    assert ext[EXT_VALID_FROM]["valueDate"] == "2021-09-15"
    assert res["Organization"]["name"] == "Bộ Y tế"
    assert comp["identifier"]["value"] == RECORD.certificate_id


def test_references_resolve_inside_the_bundle() -> None:
    data = json.loads(ddcc_bundle_json(RECORD, now=NOW))
    urls = {e["fullUrl"]: e["resource"]["resourceType"] for e in data["entry"]}
    res = {e["resource"]["resourceType"]: e["resource"] for e in data["entry"]}
    assert urls[res["Immunization"]["patient"]["reference"]] == "Patient"
    assert urls[res["Composition"]["subject"]["reference"]] == "Patient"
    assert urls[res["Composition"]["author"][0]["reference"]] == "Organization"
    assert urls[res["Composition"]["section"][0]["entry"][0]["reference"]] == "Immunization"
    # same record, same ids: a re-export does not mint new resources
    assert ddcc_bundle_json(RECORD, now=NOW) == ddcc_bundle_json(RECORD, now=NOW)


def test_partial_birth_date_and_no_manufacturer() -> None:
    record = dataclasses.replace(RECORD, birth_date="1985", manufacturer=None, valid_from=None)
    res = _resources(ddcc_bundle_json(record, now=NOW))
    assert res["Patient"]["birthDate"] == "1985"
    assert "manufacturer" not in res["Immunization"]
    assert len(res["Immunization"]["extension"]) == 2


@pytest.mark.parametrize(
    "change",
    [{"dose_number": 0}, {"birth_date": "14/03/1985"}],
)
def test_invalid_values_are_caught_by_fhir_validation(change: dict[str, object]) -> None:
    with pytest.raises(DocumentRenderError, match="not valid FHIR"):
        build_ddcc_bundle(dataclasses.replace(RECORD, **change), now=NOW)  # type: ignore[arg-type]


def test_clock_must_be_timezone_aware() -> None:
    with pytest.raises(DocumentRenderError, match="timezone"):
        build_ddcc_bundle(RECORD, now=NOW.replace(tzinfo=None))

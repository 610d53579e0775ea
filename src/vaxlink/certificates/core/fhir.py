"""FHIR export of one vaccination in the WHO DDCC:VS core data set.

A FHIR `document` Bundle: Composition (the certificate: id, issuer), Patient, Immunization,
Organization (issuer). Built and validated with `fhir.resources.R4B` (FHIR 4.3; the Immunization,
Patient and Bundle resources are normative and identical to R4 4.0.1). DDCC-specific elements use
the WHO DDCC implementation guide's extensions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from vaxlink.certificates.errors import DocumentRenderError

DDCC_BASE = "http://worldhealthorganization.github.io/ddcc/StructureDefinition/"
EXT_BRAND = DDCC_BASE + "DDCCEventBrand"
EXT_MARKET_AUTHORIZATION = DDCC_BASE + "DDCCVaccineMarketAuthorization"
EXT_COUNTRY = DDCC_BASE + "DDCCCountryOfEvent"
EXT_VALID_FROM = DDCC_BASE + "DDCCVaccineValidFrom"
LOINC = "http://loinc.org"
#: UVCIs are the certificate identifiers vaxlink issues.
UVCI_SYSTEM = "urn:EUDCC:UVCI"


@dataclass(frozen=True)
class Coding:
    """A code from a code system (SNOMED CT, ICD-11, EU DCC value sets, ...)."""

    system: str
    code: str
    display: str | None = None

    def as_fhir(self) -> dict[str, str]:
        """The FHIR Coding element."""
        out = {"system": self.system, "code": self.code}
        if self.display:
            out["display"] = self.display
        return out


@dataclass(frozen=True)
class DdccVaccination:
    """One dose as the DDCC:VS core data set describes it."""

    name: str
    birth_date: date | str  # a partial date "1985" or "1985-03" is allowed
    identifier: str
    identifier_system: str
    vaccine: Coding
    brand: Coding
    manufacturer: Coding | None
    lot_number: str
    vaccination_date: date
    dose_number: int
    total_doses: int
    disease: Coding
    country: str  # ISO 3166-1 (DDCC prefers alpha-3, e.g. VNM)
    centre: str
    issuer: str
    certificate_id: str
    certificate_id_system: str = UVCI_SYSTEM
    valid_from: date | None = None


def _uuid(record: DdccVaccination, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{record.certificate_id}#{part}')}"


def _immunization(r: DdccVaccination, patient: str) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = [
        {"url": EXT_BRAND, "valueCoding": r.brand.as_fhir()},
        {"url": EXT_COUNTRY, "valueCode": r.country},
    ]
    if r.manufacturer is not None:
        extensions.append(
            {"url": EXT_MARKET_AUTHORIZATION, "valueCoding": r.manufacturer.as_fhir()}
        )
    if r.valid_from is not None:
        extensions.append({"url": EXT_VALID_FROM, "valueDate": r.valid_from.isoformat()})
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "extension": extensions,
        "status": "completed",
        "vaccineCode": {"coding": [r.vaccine.as_fhir()]},
        "patient": {"reference": patient},
        "occurrenceDateTime": r.vaccination_date.isoformat(),
        "location": {"display": r.centre},
        "lotNumber": r.lot_number,
        "protocolApplied": [
            {
                "targetDisease": [{"coding": [r.disease.as_fhir()]}],
                "doseNumberPositiveInt": r.dose_number,
                "seriesDosesPositiveInt": r.total_doses,
            }
        ],
    }
    if r.manufacturer is not None:
        resource["manufacturer"] = {"display": r.manufacturer.display or r.manufacturer.code}
    return resource


def build_ddcc_bundle(record: DdccVaccination, *, now: datetime) -> Bundle:
    """The DDCC:VS document Bundle for one dose, validated by the FHIR models."""
    if now.tzinfo is None:
        raise DocumentRenderError("`now` must be timezone-aware")
    patient, immunization, issuer, composition = (
        _uuid(record, p) for p in ("patient", "immunization", "issuer", "composition")
    )
    birth = record.birth_date
    resources = [
        (
            composition,
            {
                "resourceType": "Composition",
                "identifier": {
                    "system": record.certificate_id_system,
                    "value": record.certificate_id,
                },
                "status": "final",
                "type": {
                    "coding": [
                        {
                            "system": LOINC,
                            "code": "82593-5",
                            "display": "Immunization summary report",
                        }
                    ]
                },
                "subject": {"reference": patient},
                "date": now.isoformat(),
                "author": [{"reference": issuer}],
                "title": "International Certificate of Vaccination or Prophylaxis",
                "section": [
                    {
                        "code": {"coding": [{"system": LOINC, "code": "11369-6"}]},
                        "entry": [{"reference": immunization}],
                    }
                ],
            },
        ),
        (
            patient,
            {
                "resourceType": "Patient",
                "identifier": [{"system": record.identifier_system, "value": record.identifier}],
                "name": [{"text": record.name}],
                "birthDate": birth.isoformat() if isinstance(birth, date) else birth,
            },
        ),
        (immunization, _immunization(record, patient)),
        (issuer, {"resourceType": "Organization", "name": record.issuer}),
    ]
    data = {
        "resourceType": "Bundle",
        "identifier": {"system": record.certificate_id_system, "value": record.certificate_id},
        "type": "document",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": url, "resource": res} for url, res in resources],
    }
    try:
        return Bundle.model_validate(data)
    except ValidationError as exc:
        raise DocumentRenderError(f"FHIR export is not valid FHIR: {exc}") from exc


def ddcc_bundle_json(record: DdccVaccination, *, now: datetime) -> str:
    """The DDCC:VS Bundle as FHIR JSON."""
    return build_ddcc_bundle(record, now=now).model_dump_json(indent=2)

"""FHIR export of one vaccination in the WHO DDCC:VS core data set, and of one recovery.

A FHIR `document` Bundle: Composition (the certificate: id, issuer), Patient, Immunization,
Organization (issuer); for a recovery, a Condition (resolved COVID-19, onset = first positive test)
in place of the Immunization and the validity as the Composition's event period. Built and validated
with `fhir.resources.R4B` (FHIR 4.3; the Immunization, Patient and Bundle resources are normative and
identical to R4 4.0.1). The vaccination Bundle and its resources claim the WHO DDCC IG's profiles
(`meta.profile`, canonical http://smart.who.int/ddcc) and meet their constraints, which
`profiles.ProfileSet` checks from `vaxlink/standards/who_ddcc/profiles.json`. WHO DDCC has no
recovery document, so the recovery Bundle claims no profile.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from vaxlink.certificates.errors import DocumentRenderError

#: The WHO DDCC IG's canonical base (sushi-config `canonical`), its StructureDefinitions below it.
DDCC_IG = "http://smart.who.int/ddcc"
DDCC_BASE = DDCC_IG + "/StructureDefinition/"
PROFILE_DOCUMENT = DDCC_BASE + "DDCCVSDocument"
PROFILE_COMPOSITION = DDCC_BASE + "DDCCVSComposition"
PROFILE_PATIENT = DDCC_BASE + "DDCCPatient"
PROFILE_IMMUNIZATION = DDCC_BASE + "DDCCImmunization"
PROFILE_ORGANIZATION = DDCC_BASE + "DDCCOrganization"
COMPOSITION_CATEGORY = DDCC_IG + "/CodeSystem/DDCCCompositionCategoryCodeSystem"
#: The Composition title the DDCC profile fixes.
DDCC_TITLE = "Digital Documentation of COVID-19 Certificate (DDCC)"
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
    #: More codings of the disease (e.g. ICD-11 RA01 beside SNOMED CT 840539006).
    disease_also: tuple[Coding, ...] = ()
    #: The certificate's validity (the Composition's event period).
    certificate_valid_from: datetime | None = None
    certificate_valid_until: datetime | None = None


def _meta(profile: str) -> dict[str, list[str]]:
    return {"profile": [profile]}


def _uuid(record: DdccVaccination | DdccRecovery, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{record.certificate_id}#{part}')}"


def _immunization(r: DdccVaccination, patient: str, issuer: str) -> dict[str, Any]:
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
        "meta": _meta(PROFILE_IMMUNIZATION),
        "extension": extensions,
        "status": "completed",
        "vaccineCode": {"coding": [r.vaccine.as_fhir()]},
        "patient": {"reference": patient},
        "occurrenceDateTime": r.vaccination_date.isoformat(),
        "location": {"display": r.centre},
        "lotNumber": r.lot_number,
        "protocolApplied": [
            {
                "authority": {"reference": issuer},
                "targetDisease": [{"coding": [c.as_fhir() for c in (r.disease, *r.disease_also)]}],
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
    composition_resource: dict[str, Any] = {
        "resourceType": "Composition",
        "meta": _meta(PROFILE_COMPOSITION),
        "identifier": {"system": record.certificate_id_system, "value": record.certificate_id},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "82593-5",
                             "display": "Immunization summary report"}]},
        "category": [{"coding": [{"system": COMPOSITION_CATEGORY, "code": "ddcc-vs",
                                  "display": "DDCC:VS"}]}],
        "subject": {"reference": patient},
        "date": now.isoformat(),
        "author": [{"reference": issuer}],
        "title": DDCC_TITLE,
        "attester": [{"mode": "official", "party": {"reference": issuer}}],
        "section": [{
            "code": {"coding": [{"system": LOINC, "code": "11369-6"}]},
            "focus": {"reference": immunization},
            "entry": [{"reference": immunization}],
        }],
    }  # fmt: skip
    period = {
        k: v.isoformat()
        for k, v in (("start", record.certificate_valid_from),
                     ("end", record.certificate_valid_until))
        if v is not None
    }  # fmt: skip
    if period:
        composition_resource["event"] = [{"period": period}]
    resources = [
        (composition, composition_resource),
        (
            patient,
            {
                "resourceType": "Patient",
                "meta": _meta(PROFILE_PATIENT),
                "identifier": [{"system": record.identifier_system, "value": record.identifier}],
                "name": [{"use": "official", "text": record.name}],
                "birthDate": birth.isoformat() if isinstance(birth, date) else birth,
            },
        ),
        (immunization, _immunization(record, patient, issuer)),
        (
            issuer,
            {
                "resourceType": "Organization",
                "meta": _meta(PROFILE_ORGANIZATION),
                "name": record.issuer,
            },
        ),
    ]
    identifier = {"system": record.certificate_id_system, "value": record.certificate_id}
    # DDCCDocument's link[hcid]: the health certificate identifier, here the UVCI (a URN).
    extra = {
        "meta": _meta(PROFILE_DOCUMENT),
        "link": [{"relation": "publication", "url": record.certificate_id}],
    }
    return _document(identifier, resources, now, extra)


def _document(
    identifier: dict[str, str],
    resources: Sequence[tuple[str, object]],
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> Bundle:
    """A FHIR document Bundle of `resources` (full URL, resource), validated."""
    data = {
        "resourceType": "Bundle",
        **(extra or {}),
        "identifier": identifier,
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


# ---- recovery ------------------------------------------------------------------------------------

#: WHO DDCC has no recovery data set; the recovery is a FHIR `Condition` (the disease, resolved,
#: its onset the first positive test), the certificate's validity the Composition's event period.
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


@dataclass(frozen=True)
class DdccRecovery:
    """One recovery as an EU DCC `r` entry states it (disease, first positive test, validity)."""

    name: str
    birth_date: date | str
    identifier: str
    identifier_system: str
    disease: Coding
    first_positive: date
    country: str  # ISO 3166-1 (alpha-3 as for vaccinations, e.g. VNM)
    issuer: str
    valid_from: date
    valid_until: date
    certificate_id: str
    certificate_id_system: str = UVCI_SYSTEM


def _condition(r: DdccRecovery, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "extension": [{"url": EXT_COUNTRY, "valueCode": r.country}],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "resolved"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [r.disease.as_fhir()]},
        "subject": {"reference": patient},
        "onsetDateTime": r.first_positive.isoformat(),
    }


def build_recovery_bundle(record: DdccRecovery, *, now: datetime) -> Bundle:
    """The recovery certificate as a FHIR document Bundle, validated by the FHIR models."""
    if now.tzinfo is None:
        raise DocumentRenderError("`now` must be timezone-aware")
    if record.valid_until < record.valid_from:
        raise DocumentRenderError("a recovery certificate cannot end before it starts")
    patient, condition, issuer, composition = (
        _uuid(record, p) for p in ("patient", "condition", "issuer", "composition")
    )
    birth = record.birth_date
    identifier = {"system": record.certificate_id_system, "value": record.certificate_id}
    resources = [
        (composition, {
            "resourceType": "Composition",
            "identifier": identifier,
            "status": "final",
            "type": {"coding": [{"system": LOINC, "code": "60591-5",
                                 "display": "Patient summary Document"}]},
            "subject": {"reference": patient},
            "date": now.isoformat(),
            "author": [{"reference": issuer}],
            "title": "Certificate of Recovery from COVID-19",
            "event": [{"period": {"start": record.valid_from.isoformat(),
                                  "end": record.valid_until.isoformat()}}],
            "section": [{"code": {"coding": [{"system": LOINC, "code": "11450-4"}]},
                         "entry": [{"reference": condition}]}],
        }),
        (patient, {
            "resourceType": "Patient",
            "identifier": [{"system": record.identifier_system, "value": record.identifier}],
            "name": [{"text": record.name}],
            "birthDate": birth.isoformat() if isinstance(birth, date) else birth,
        }),
        (condition, _condition(record, patient)),
        (issuer, {"resourceType": "Organization", "name": record.issuer}),
    ]  # fmt: skip
    return _document(identifier, resources, now)


def recovery_bundle_json(record: DdccRecovery, *, now: datetime) -> str:
    """The recovery Bundle as FHIR JSON."""
    return build_recovery_bundle(record, now=now).model_dump_json(indent=2)

"""The DDCC:VS Bundle meets the WHO DDCC IG's profiles: the data-driven checker finds nothing in
what vaxlink builds, and finds each break made on purpose (so it can fail)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from vaxlink.certificates.core.fhir import (
    PROFILE_DOCUMENT,
    PROFILE_IMMUNIZATION,
    Coding,
    ddcc_bundle_json,
)
from vaxlink.certificates.core.profiles import ProfileSet, matches, select
from vaxlink.certificates.core.vaccine_codes import icd11_disease, icd11_vaccine
from vaxlink.standards import eu_valueset, who_ddcc

from .test_fhir import NOW, RECORD

PROFILES = ProfileSet(who_ddcc("profiles"))
DDCC_RECORD = dataclasses.replace(
    RECORD,
    vaccine=icd11_vaccine("1119349007") or RECORD.vaccine,
    disease_also=tuple(c for c in [icd11_disease("840539006")] if c),
    certificate_valid_from=NOW,
    certificate_valid_until=NOW.replace(year=2026),
)


def _bundle() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ddcc_bundle_json(DDCC_RECORD, now=NOW))
    return data


def _resource(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind
    )
    return found


def test_the_bundle_meets_every_ddcc_profile_without_a_warning() -> None:
    bundle = _bundle()
    assert PROFILES.check_bundle(bundle, PROFILE_DOCUMENT) == []
    Bundle.model_validate(bundle)  # and it is valid FHIR
    claimed = {
        e["resource"]["resourceType"]: e["resource"]["meta"]["profile"] for e in bundle["entry"]
    }
    assert claimed == {
        "Composition": ["http://smart.who.int/ddcc/StructureDefinition/DDCCVSComposition"],
        "Patient": ["http://smart.who.int/ddcc/StructureDefinition/DDCCPatient"],
        "Immunization": ["http://smart.who.int/ddcc/StructureDefinition/DDCCImmunization"],
        "Organization": ["http://smart.who.int/ddcc/StructureDefinition/DDCCOrganization"],
    }
    assert bundle["meta"]["profile"] == [PROFILE_DOCUMENT]
    assert bundle["link"] == [{"relation": "publication", "url": RECORD.certificate_id}]
    imm = _resource(bundle, "Immunization")
    assert imm["vaccineCode"]["coding"] == [
        {"system": "http://id.who.int/icd11/mms", "code": "XM0GQ8",
         "display": "COVID-19 vaccine, RNA based"}
    ]  # fmt: skip
    codes = [c["code"] for c in imm["protocolApplied"][0]["targetDisease"][0]["coding"]]
    assert codes == ["840539006", "RA01"]


def _drop(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        node: Any = bundle
        for step in path[:-1]:
            node = (
                _resource(bundle, step)
                if isinstance(step, str) and step[0].isupper()
                else node[step]
            )
        del node[path[-1]]

    return change


def _set(kind: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        _resource(bundle, kind)[key] = value

    return change


def _without_entry(kind: str) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != kind]

    return change


def _two_codings(bundle: dict[str, Any]) -> None:
    _resource(bundle, "Immunization")["vaccineCode"]["coding"].append(
        {"system": "http://snomed.info/sct", "code": "1119349007"}
    )


BREAKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "no hcid link": (_drop(["link"]), "link[relation=publication]"),
    "no identifier": (_drop(["identifier"]), "identifier"),
    "wrong title": (_set("Composition", "title", "Vaccination certificate"), "title"),
    "no category": (_drop(["Composition", "category"]), "category"),
    "no attester": (_drop(["Composition", "attester"]), "attester"),
    "name without use": (_set("Patient", "name", [{"text": "A B"}]), "name[use=official]"),
    "no birth date": (_drop(["Patient", "birthDate"]), "birthDate"),
    "no centre": (_drop(["Immunization", "location"]), "location"),
    "no authority": (
        lambda b: _resource(b, "Immunization")["protocolApplied"][0].pop("authority"),
        "protocolApplied.authority",
    ),
    "two vaccine codings": (_two_codings, "vaccineCode.coding"),
    "no immunization": (
        _without_entry("Immunization"),
        "entry[resource.resourceType=Immunization]",
    ),
    "no brand": (
        lambda b: _resource(b, "Immunization")["extension"].pop(0),
        "extension[url=http://smart.who.int/ddcc/StructureDefinition/DDCCEventBrand]",
    ),
    "patient claims no profile": (_drop(["Patient", "meta"]), "meta.profile"),
    "subject dangles": (_set("Composition", "subject", {"reference": "urn:uuid:0"}), "subject"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_break_of_a_profile_is_an_error(name: str) -> None:
    change, where = BREAKS[name]
    bundle = copy.deepcopy(_bundle())
    change(bundle)
    issues = PROFILES.check_bundle(bundle, PROFILE_DOCUMENT)
    errors = [i for i in issues if i.severity == "error"]
    assert any(i.path == where for i in errors), [str(i) for i in issues]


def test_a_code_outside_a_preferred_value_set_is_a_warning() -> None:
    record = dataclasses.replace(
        DDCC_RECORD, vaccine=Coding("http://snomed.info/sct", "1119349007"), disease_also=()
    )
    bundle = json.loads(ddcc_bundle_json(record, now=NOW))
    issues = PROFILES.check_bundle(bundle, PROFILE_DOCUMENT)
    assert {(i.severity, i.path) for i in issues} == {
        ("warning", "vaccineCode"), ("warning", "protocolApplied.targetDisease")
    }  # fmt: skip
    assert all(i.profile == PROFILE_IMMUNIZATION for i in issues)


def test_paths_filters_and_patterns() -> None:
    doc = {"a": [{"k": {"v": "x"}, "b": 1}, {"k": {"v": "y"}, "b": 2}], "u": {"c": [3, 4]}}
    assert select(doc, "a[k.v=y].b") == [2]
    assert select(doc, "u.c") == [3, 4]
    assert select(doc, "a[k.v=z]") == []
    assert matches({"coding": [{"system": "s", "code": "c", "display": "d"}]},
                   {"coding": [{"system": "s", "code": "c"}]})  # fmt: skip
    assert not matches({"coding": [{"system": "s", "code": "other"}]}, {"coding": [{"code": "c"}]})
    with pytest.raises(ValueError, match="bad profile path"):
        select(doc, "a..b")


def test_the_data_files_agree_with_each_other_and_with_the_eu_value_sets() -> None:
    profiles, codes = who_ddcc("profiles"), who_ddcc("codes")
    vaccines = set(
        profiles["valueSets"]["http://smart.who.int/ddcc/ValueSet/WHODDCCVaccinesCOVID19"][
            "http://id.who.int/icd11/mms"
        ]
    )
    assert {v["icd11"][0] for v in codes["vaccine_type"].values()} <= vaccines
    # every EU code mapped is a code of the EU value sets vaxlink issues from
    assert set(codes["vaccine_type"]) <= set(eu_valueset("vaccine-prophylaxis")["valueSetValues"])
    assert set(codes["product"]) <= set(eu_valueset("vaccine-medicinal-product")["valueSetValues"])
    assert set(codes["disease"]) <= set(eu_valueset("disease-agent-targeted")["valueSetValues"])
    # every EU vaccine type has a DDCC code, so vaccineCode never misses its preferred value set
    assert set(codes["vaccine_type"]) == set(eu_valueset("vaccine-prophylaxis")["valueSetValues"])
    for url, spec in profiles["profiles"].items():
        assert url.startswith(profiles["ig"] + "/StructureDefinition/")
        for rule in spec["rules"]:
            select({}, rule["path"])  # every path parses
            for key in ("profile", "target"):
                assert key not in rule or rule[key] in profiles["profiles"]

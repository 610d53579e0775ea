"""What a verifier reads of the two further forms once their signature held: the WHO DDCC:VS core
data set (hcert key 2, `ddcc_qr`) and the SMART Health Card's FHIR Bundle (`shc`), checked for
the facts a verifier shows and turned into the same labelled fields as an EU DCC's.

Pure: no I/O. Each check raises `HealthDataInvalid` naming what is missing or misshapen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from vaxlink.certificates.core.display import DisplayField, display_fields
from vaxlink.certificates.errors import HealthDataInvalid
from vaxlink.standards import eu_valueset, who_ddcc

#: Formats a verification result names (`Verified.format`).
DCC: Final = "dcc"
DDCC: Final = "ddcc"
SHC: Final = "shc"
#: The EU DCC certificate type a DDCC:VS or SMART Health Card restates: a vaccination, so the
#: DSC's extended key usage must allow `v` as it must for a vaccination DCC.
VACCINATION_KIND: Final = "v"
#: More immunizations than any card of one person's doses holds: the rest is not a health card.
MAX_ENTRIES: Final = 32
_SHC_TYPE: Final = "https://smarthealth.cards#health-card"
_DATE: Final = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def _text(value: object, what: str, *, limit: int = 256) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise HealthDataInvalid(f"{what} is missing or not text")
    return value


def _map(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise HealthDataInvalid(f"{what} is missing or not an object")
    return value


def _date(value: object, what: str) -> str:
    """A FHIR date or dateTime's date part (YYYY, YYYY-MM or YYYY-MM-DD), as written."""
    text = _text(value, what, limit=40)
    day = text[:10] if len(text) > 10 and text[10] == "T" else text
    if not _DATE.fullmatch(day):
        raise HealthDataInvalid(f"{what} is not a date")
    return day


def _code(value: object, what: str) -> str:
    return _text(_map(value, what).get("code"), f"{what} code", limit=64)


@cache
def _displays() -> dict[str, str]:
    """ICD-11 and CVX codes of the DDCC/SHC mapping -> their display (for the fields shown)."""
    codes = who_ddcc("codes")
    out = {pair[0]: pair[1] for k in ("disease", "vaccine_type", "product")
           for entry in codes[k].values() for pair in entry.values()}  # fmt: skip
    out[codes["cvx_unknown"][0]] = codes["cvx_unknown"][1]
    return out


def _shown(code: str, valueset: str | None = None) -> str:
    """A code with its display when one is known (EU value set first, then ICD-11/CVX)."""
    if valueset is not None:
        entry = eu_valueset(valueset)["valueSetValues"].get(code)
        if entry:
            return str(entry["display"])
    display = _displays().get(code)
    return f"{display} ({code})" if display else code


# ---- WHO DDCC:VS core data set -----------------------------------------------------------------


def check_ddcc(data: Mapping[str, Any]) -> str:
    """Check the DDCC:VS core data set holds what a verifier shows; returns its `hcid` (the
    certificate id the revocation list names)."""
    _text(data.get("name"), "the DDCC name")
    _date(data.get("birthDate"), "the DDCC birthDate")
    vaccination = _map(data.get("vaccination"), "the DDCC vaccination")
    _code(vaccination.get("vaccine"), "the DDCC vaccine")
    _date(vaccination.get("date"), "the DDCC vaccination date")
    dose = vaccination.get("dose")
    if isinstance(dose, bool) or not isinstance(dose, int) or not 0 < dose < 100:
        raise HealthDataInvalid("the DDCC dose number is missing or out of range")
    certificate = _map(data.get("certificate"), "the DDCC certificate")
    return _text(_map(certificate.get("hcid"), "the DDCC hcid").get("value"), "the DDCC hcid")


def _or_empty(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def ddcc_fields(data: Mapping[str, Any]) -> tuple[DisplayField, ...]:
    """The labelled fields of a DDCC:VS core data set (keys as an EU DCC's, English labels)."""
    vaccination = _or_empty(data.get("vaccination"))
    certificate = _or_empty(data.get("certificate"))

    def code(entry: object) -> str:
        return str(entry.get("code", "")) if isinstance(entry, Mapping) else ""

    def value(entry: object) -> str:
        return str(entry.get("value", "")) if isinstance(entry, Mapping) else ""

    issuer = certificate.get("issuer")
    total = vaccination.get("totalDoses", "?")
    fields = [
        DisplayField("name", "Surname(s) and forename(s)", str(data.get("name", ""))),
        DisplayField("date_of_birth", "Date of birth", str(data.get("birthDate", ""))),
        DisplayField("disease", "Disease or agent targeted", _shown(code(vaccination.get("disease")))),
        DisplayField("vaccine_prophylaxis", "Vaccine/prophylaxis",
                     _shown(code(vaccination.get("vaccine")))),
        DisplayField("product", "Vaccine medicinal product",
                     _shown(code(vaccination.get("brand")), "vaccine-medicinal-product")),
        DisplayField("manufacturer", "Vaccine marketing authorisation holder or manufacturer",
                     _shown(code(vaccination.get("maholder")), "vaccine-mah-manf")),
        DisplayField("dose", "Number in a series of doses / overall number of doses",
                     f"{vaccination.get('dose', '?')}/{total}"),
        DisplayField("vaccination_date", "Date of vaccination", str(vaccination.get("date", ""))),
        DisplayField("country", "Member State or third country of vaccination",
                     code(vaccination.get("country"))),
        DisplayField("issuer", "Certificate issuer",
                     value(issuer.get("identifier")) if isinstance(issuer, Mapping) else ""),
        DisplayField("certificate_id", "Unique certificate identifier",
                     value(certificate.get("hcid"))),
    ]  # fmt: skip
    return tuple(f for f in fields if f.value not in ("", "/?"))


# ---- SMART Health Card ---------------------------------------------------------------------------


def _resources(claims: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    vc = _map(claims.get("vc"), "the card's vc")
    types = vc.get("type")
    if not isinstance(types, list) or _SHC_TYPE not in types:
        raise HealthDataInvalid("the card's vc does not name the type health-card")
    subject = _map(vc.get("credentialSubject"), "the card's credentialSubject")
    bundle = _map(subject.get("fhirBundle"), "the card's fhirBundle")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_ENTRIES:
        raise HealthDataInvalid("the card's bundle has no entries, or too many")
    return [_map(_map(e, "a bundle entry").get("resource"), "a bundle resource") for e in entries]


def check_shc(claims: Mapping[str, Any]) -> None:
    """Check the card's bundle holds one Patient (name, birth date) and its immunizations."""
    resources = _resources(claims)
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise HealthDataInvalid("the card's bundle does not hold exactly one Patient")
    if not _patient_name(patients[0]):
        raise HealthDataInvalid("the card's Patient has no name")
    _date(patients[0].get("birthDate"), "the card's Patient birthDate")
    immunizations = [r for r in resources if r.get("resourceType") == "Immunization"]
    if not immunizations:
        raise HealthDataInvalid("the card's bundle holds no Immunization")
    for immunization in immunizations:
        coding = _map(immunization.get("vaccineCode"), "an Immunization vaccineCode").get("coding")
        if not isinstance(coding, list) or not coding:
            raise HealthDataInvalid("an Immunization has no vaccine coding")
        _code(coding[0], "an Immunization vaccine")
        _date(immunization.get("occurrenceDateTime"), "an Immunization occurrenceDateTime")


def _patient_name(patient: Mapping[str, Any]) -> str:
    names = patient.get("name")
    name = names[0] if isinstance(names, list) and names else {}
    if not isinstance(name, Mapping):
        return ""
    given = name.get("given")
    given_text = " ".join(str(g) for g in given) if isinstance(given, list) else ""
    family = str(name.get("family") or "")
    written = ", ".join(p for p in (family, given_text) if p)
    return written or str(name.get("text") or "")


def shc_fields(claims: Mapping[str, Any]) -> tuple[DisplayField, ...]:
    """The labelled fields of a SMART Health Card: the person, then each immunization."""
    try:
        resources = _resources(claims)
    except HealthDataInvalid:
        return ()
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), {})
    fields = [
        DisplayField("name", "Surname(s) and forename(s)", _patient_name(patient)),
        DisplayField("date_of_birth", "Date of birth", str(patient.get("birthDate", ""))),
    ]
    for immunization in (r for r in resources if r.get("resourceType") == "Immunization"):
        vaccine = immunization.get("vaccineCode")
        coding = vaccine.get("coding") if isinstance(vaccine, Mapping) else None
        first = coding[0] if isinstance(coding, list) and coding else {}
        code = str(first.get("code", "")) if isinstance(first, Mapping) else ""
        day = str(immunization.get("occurrenceDateTime", ""))[:10]
        fields += [DisplayField("product", "Vaccine medicinal product", _shown(code)),
                   DisplayField("vaccination_date", "Date of vaccination", day)]  # fmt: skip
    fields.append(DisplayField("issuer", "Certificate issuer", str(claims.get("iss", ""))))
    return tuple(fields)


def fields_of(form: str | None, payload: Mapping[str, Any]) -> tuple[DisplayField, ...]:
    """The labelled fields a verifier shows of a payload of form `form` (`DCC` when None)."""
    if form == DDCC:
        return ddcc_fields(payload)
    if form == SHC:
        return shc_fields(payload)
    return display_fields(payload)

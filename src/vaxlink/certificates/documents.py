"""A person's current certificate as the citizen apps receive it: JSON, bilingual PDF, FHIR DDCC."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from vaxlink.certificates.core.display import display_fields
from vaxlink.certificates.core.fhir import Coding, DdccVaccination, ddcc_bundle_json
from vaxlink.certificates.errors import CertificateNotFound
from vaxlink.certificates.issuance.batch import active_of
from vaxlink.certificates.models import Certificate, CertificateKind
from vaxlink.certificates.pdf import CertificateDisplay, render_certificate_pdf
from vaxlink.records.service import DoseRecord
from vaxlink.standards import eu_valueset

#: Naming system of Vietnamese citizen ID numbers in FHIR exports (vaxlink's own URI until the
#: national naming system is published).
CITIZEN_ID_SYSTEM: Final = "https://vaxlink.dev/fhir/NamingSystem/vn-citizen-id"
#: ISO 3166-1 alpha-3, which DDCC prefers for the country of vaccination.
COUNTRY_ALPHA3: Final = {"VN": "VNM"}


def current_certificate(
    session: Session, citizen_id: str, kind: CertificateKind = CertificateKind.VACCINATION
) -> Certificate:
    """The person's active certificate of this type."""
    certificate = active_of(session, kind, [citizen_id]).get(citizen_id)
    if certificate is None:
        what = "vaccination" if kind is CertificateKind.VACCINATION else "recovery"
        raise CertificateNotFound(f"this person has no active {what} certificate")
    return certificate


def certificate_view(certificate: Certificate) -> dict[str, Any]:
    """What an app shows and stores: the QR text, its identifier, validity and labelled fields."""
    return {
        "uvci": certificate.uvci,
        "kind": certificate.kind,
        "status": certificate.status,
        "hc1": certificate.hc1,
        "issued_at": certificate.iat.isoformat(),
        "expires_at": certificate.exp.isoformat(),
        "fields": [
            {"key": f.key, "label": f.label, "value": f.value}
            for f in display_fields(certificate.payload)
        ],
    }


def _entry(certificate: Certificate) -> dict[str, Any]:
    if certificate.kind != CertificateKind.VACCINATION.value:
        raise CertificateNotFound("documents are made for vaccination certificates only")
    entry: dict[str, Any] = certificate.payload["v"][0]
    return entry


def _display(certificate: Certificate) -> CertificateDisplay:
    entry = _entry(certificate)
    payload, nam = certificate.payload, certificate.payload["nam"]
    shown = {f.key: f.value for f in display_fields(payload)}
    return CertificateDisplay(
        name=" ".join(n for n in (nam.get("fn"), nam.get("gn")) if n),
        transliterated_name="<<".join(n for n in (nam.get("fnt"), nam.get("gnt")) if n),
        date_of_birth=payload["dob"],
        disease=shown["disease"],
        vaccine_prophylaxis=shown["vaccine_prophylaxis"],
        product=shown["product"],
        manufacturer=shown["manufacturer"],
        dose_number=entry["dn"],
        total_doses=entry["sd"],
        date_of_vaccination=entry["dt"],
        country=shown["country"],
        issuer=entry["is"],
        certificate_id=entry["ci"],
    )


def certificate_pdf(certificate: Certificate) -> bytes:
    """The bilingual A4 PDF with the signed QR code."""
    return render_certificate_pdf(_display(certificate), certificate.hc1)


def _coding(valueset: str, code: str) -> Coding:
    entry = eu_valueset(valueset)["valueSetValues"].get(code, {})
    return Coding(entry.get("system", f"urn:eu-dcc:{valueset}"), code, entry.get("display"))


def certificate_fhir(session: Session, certificate: Certificate, *, now: datetime) -> str:
    """The WHO DDCC:VS FHIR document Bundle (JSON) of the certificate's dose."""
    entry = _entry(certificate)
    nam = certificate.payload["nam"]
    dose = session.get(DoseRecord, certificate.dose_id) if certificate.dose_id else None
    record = DdccVaccination(
        name=" ".join(n for n in (nam.get("fn"), nam.get("gn")) if n),
        birth_date=certificate.payload["dob"],
        identifier=certificate.citizen_id,
        identifier_system=CITIZEN_ID_SYSTEM,
        vaccine=_coding("vaccine-prophylaxis", entry["vp"]),
        brand=_coding("vaccine-medicinal-product", entry["mp"]),
        manufacturer=_coding("vaccine-mah-manf", entry["ma"]),
        lot_number=(dose.lot_number if dose is not None else None) or "not recorded",
        vaccination_date=date.fromisoformat(entry["dt"]),
        dose_number=entry["dn"],
        total_doses=entry["sd"],
        disease=_coding("disease-agent-targeted", entry["tg"]),
        country=COUNTRY_ALPHA3.get(entry["co"], entry["co"]),
        centre=(dose.facility_code if dose is not None else None) or "not recorded",
        issuer=entry["is"],
        certificate_id=certificate.uvci,
    )
    return ddcc_bundle_json(record, now=now)

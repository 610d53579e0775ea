"""A person's current certificate as the citizen apps receive it: JSON, bilingual PDF, FHIR DDCC,
the WHO DDCC:VS QR and a SMART Health Card.

Vaccination (`v`) and recovery (`r`) certificates alike: each document dispatches on the kind."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from vaxlink.certificates.core.ddcc_qr import sign_ddcc
from vaxlink.certificates.core.display import display_fields
from vaxlink.certificates.core.fhir import (
    Coding,
    DdccRecovery,
    DdccVaccination,
    ddcc_bundle_json,
    recovery_bundle_json,
)
from vaxlink.certificates.core.shc import NOT_RECORDED, fhir_bundle, rid, sign_jws
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.core.trust import uvci_hash
from vaxlink.certificates.core.vaccine_codes import icd11_disease, icd11_vaccine
from vaxlink.certificates.errors import CertificateNotFound
from vaxlink.certificates.issuance.batch import active_of
from vaxlink.certificates.models import Certificate, CertificateKind
from vaxlink.certificates.pdf import CertificateDisplay, RecoveryDisplay, render_certificate_pdf
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


def _entry(
    certificate: Certificate, kind: CertificateKind = CertificateKind.VACCINATION
) -> dict[str, Any]:
    if certificate.kind != kind.value or not certificate.payload.get(kind.value):
        raise CertificateNotFound(f"not a {kind.name.lower()} certificate")
    entry: dict[str, Any] = certificate.payload[kind.value][0]
    return entry


def _names(certificate: Certificate) -> tuple[str, str]:
    """(the written name, the ICAO transliteration) of the holder."""
    nam = certificate.payload["nam"]
    return (" ".join(n for n in (nam.get("fn"), nam.get("gn")) if n),
            "<<".join(n for n in (nam.get("fnt"), nam.get("gnt")) if n))  # fmt: skip


def _recovery_display(certificate: Certificate) -> RecoveryDisplay:
    entry = _entry(certificate, CertificateKind.RECOVERY)
    shown = {f.key: f.value for f in display_fields(certificate.payload)}
    name, transliterated = _names(certificate)
    return RecoveryDisplay(
        name=name, transliterated_name=transliterated,
        date_of_birth=certificate.payload["dob"], disease=shown["disease"],
        first_positive=entry["fr"], country=shown["country"], issuer=entry["is"],
        valid_from=entry["df"], valid_until=entry["du"], certificate_id=entry["ci"],
    )  # fmt: skip


def _display(certificate: Certificate) -> CertificateDisplay | RecoveryDisplay:
    if certificate.kind == CertificateKind.RECOVERY.value:
        return _recovery_display(certificate)
    entry = _entry(certificate)
    payload = certificate.payload
    shown = {f.key: f.value for f in display_fields(payload)}
    name, transliterated = _names(certificate)
    return CertificateDisplay(
        name=name,
        transliterated_name=transliterated,
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


def _recovery_fhir(certificate: Certificate, *, now: datetime) -> str:
    entry = _entry(certificate, CertificateKind.RECOVERY)
    record = DdccRecovery(
        name=_names(certificate)[0],
        birth_date=certificate.payload["dob"],
        identifier=certificate.citizen_id,
        identifier_system=CITIZEN_ID_SYSTEM,
        disease=_coding("disease-agent-targeted", entry["tg"]),
        first_positive=date.fromisoformat(entry["fr"]),
        country=COUNTRY_ALPHA3.get(entry["co"], entry["co"]),
        issuer=entry["is"],
        valid_from=date.fromisoformat(entry["df"]),
        valid_until=date.fromisoformat(entry["du"]),
        certificate_id=certificate.uvci,
    )
    return recovery_bundle_json(record, now=now)


def certificate_fhir(session: Session, certificate: Certificate, *, now: datetime) -> str:
    """The FHIR document Bundle (JSON) of the certificate: WHO DDCC:VS for a dose, a Condition
    bundle for a recovery."""
    if certificate.kind == CertificateKind.RECOVERY.value:
        return _recovery_fhir(certificate, now=now)
    record = ddcc_record(session, certificate)
    return ddcc_bundle_json(record, now=now)


def ddcc_record(session: Session, certificate: Certificate) -> DdccVaccination:
    """The DDCC:VS core data set of a vaccination certificate: the EU payload's facts with the
    ICD-11 codes WHO DDCC binds, the lot number and centre from the dose record."""
    entry = _entry(certificate)
    dose = session.get(DoseRecord, certificate.dose_id) if certificate.dose_id else None
    eu_vaccine = _coding("vaccine-prophylaxis", entry["vp"])
    icd_disease = icd11_disease(entry["tg"])
    return DdccVaccination(
        name=_names(certificate)[0],
        birth_date=certificate.payload["dob"],
        identifier=certificate.citizen_id,
        identifier_system=CITIZEN_ID_SYSTEM,
        vaccine=icd11_vaccine(entry["vp"]) or eu_vaccine,
        brand=_coding("vaccine-medicinal-product", entry["mp"]),
        manufacturer=_coding("vaccine-mah-manf", entry["ma"]),
        lot_number=(dose.lot_number if dose is not None else None) or NOT_RECORDED,
        vaccination_date=date.fromisoformat(entry["dt"]),
        dose_number=entry["dn"],
        total_doses=entry["sd"],
        disease=_coding("disease-agent-targeted", entry["tg"]),
        country=COUNTRY_ALPHA3.get(entry["co"], entry["co"]),
        centre=(dose.facility_code if dose is not None else None) or NOT_RECORDED,
        issuer=entry["is"],
        certificate_id=certificate.uvci,
        disease_also=(icd_disease,) if icd_disease else (),
        certificate_valid_from=_utc(certificate.iat),
        certificate_valid_until=_utc(certificate.exp),
    )


def _utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite hands back naive datetimes)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---- the same dose as a WHO DDCC:VS QR and as a SMART Health Card ----------------------------


def certificate_ddcc_qr(session: Session, certificate: Certificate, signer: Signer) -> str:
    """The signed `HC1:` text of the WHO DDCC:VS core data set (hcert key 2), valid as long as
    the EU DCC it restates."""
    entry = _entry(certificate)
    return sign_ddcc(ddcc_record(session, certificate), signer, country=entry["co"],
                     issued=_utc(certificate.iat), expires=_utc(certificate.exp))  # fmt: skip


def certificate_shc(
    session: Session, certificate: Certificate, signer: Signer, *, issuer_url: str
) -> str:
    """The SMART Health Card (compact JWS) of the dose, `nbf` the certificate's issue time."""
    record = ddcc_record(session, certificate)
    nam = certificate.payload["nam"]
    bundle = fhir_bundle(record, family=nam.get("fn") or "", given=nam.get("gn") or "")
    return sign_jws(bundle, signer, issuer_url=issuer_url, issued=_utc(certificate.iat),
                    expires=_utc(certificate.exp),
                    revocation_id=rid(uvci_hash(certificate.uvci)))  # fmt: skip

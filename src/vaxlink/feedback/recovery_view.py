"""The citizen's recovery certificate in the portal, beside the vaccination one: its QR, the date of
the first positive test, its validity and the PDF download (`/c/recovery-certificate.pdf`).

Kept apart from the vaccination card (`feedback/_certificate.html`): its own context function, its
own template include (`feedback/_recovery.html`) and its own strings (registered by `web/app.py`).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request
from sqlalchemy.orm import Session

from vaxlink.certificates.service import CertificateKind, active_of, display_fields
from vaxlink.feedback.qrcache import qr_data_uri
from vaxlink.feedback.webutil import settings_of

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "feedback.recovery.title": "Chứng nhận khỏi bệnh COVID-19",
        "feedback.recovery.first_positive": "Ngày xét nghiệm dương tính đầu tiên",
        "feedback.recovery.valid_from": "Có giá trị từ ngày",
        "feedback.recovery.valid_until": "Có giá trị đến ngày",
        "feedback.recovery.country": "Quốc gia xét nghiệm",
        "feedback.recovery.download_pdf": "Tải chứng nhận khỏi bệnh (PDF)",
    },
    "en": {
        "feedback.recovery.title": "COVID-19 recovery certificate",
        "feedback.recovery.first_positive": "Date of first positive test",
        "feedback.recovery.valid_from": "Valid from",
        "feedback.recovery.valid_until": "Valid until",
        "feedback.recovery.country": "Country of test",
        "feedback.recovery.download_pdf": "Download the recovery certificate (PDF)",
    },
}


def recovery_context(request: Request, db: Session, citizen_id: str) -> dict[str, Any]:
    """`recovery`: the citizen's active recovery certificate (or None, and the page shows no
    recovery card), with its QR and the ISO dates of its `r` entry, for `feedback/_recovery.html`."""
    certificate = active_of(db, CertificateKind.RECOVERY, [citizen_id]).get(citizen_id)
    if certificate is None:
        return {"recovery": None}
    entry = certificate.payload["r"][0]
    return {
        "recovery": {
            "uvci": certificate.uvci,
            "qr": qr_data_uri(certificate.hc1, settings_of(request).data_dir),
            "first_positive": str(entry.get("fr", "")),
            "valid_from": str(entry.get("df", "")),
            "valid_until": str(entry.get("du", "")),
            # the country's name from the EU value set, as the vaccination card shows it
            "country": next((f.value for f in display_fields(certificate.payload)
                             if f.key == "country"), entry.get("co", "")),
        }
    }

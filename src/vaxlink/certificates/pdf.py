"""The printable certificate: a bilingual (Vietnamese/English) A4 PDF with the signed QR, for a
vaccination (`CertificateDisplay`) or a recovery (`RecoveryDisplay`), from the same template.

Rendered from a Jinja2 template by `vaxlink.pdf` (WeasyPrint, Noto Sans found on disk and
embedded, nothing downloaded: only `data:` URLs and files of the templates and fonts are read).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vaxlink import pdf
from vaxlink.catalogue import text_in
from vaxlink.certificates.errors import DocumentRenderError
from vaxlink.certificates.pdf_strings import STRINGS
from vaxlink.certificates.qrimage import qr_svg
from vaxlink.pdf import FontFaces, templates

TEMPLATES = Path(__file__).parent / "templates"


def _both(key: str) -> tuple[str, str]:
    """The catalogue's text of `certificates.pdf.<key>` (installed, else built in), vi and en."""
    return (text_in(STRINGS, "vi", f"certificates.pdf.{key}"),
            text_in(STRINGS, "en", f"certificates.pdf.{key}"))  # fmt: skip


@dataclass(frozen=True)
class CertificateDisplay:
    """The human-readable fields printed beside the QR (EU DCC vaccination display set)."""

    name: str
    transliterated_name: str
    date_of_birth: date | str
    disease: str
    vaccine_prophylaxis: str
    product: str
    manufacturer: str
    dose_number: int
    total_doses: int
    date_of_vaccination: date | str
    country: str
    issuer: str
    certificate_id: str


@dataclass(frozen=True)
class RecoveryDisplay:
    """The human-readable fields printed beside the QR (EU DCC recovery display set)."""

    name: str
    transliterated_name: str
    date_of_birth: date | str
    disease: str
    first_positive: date | str
    country: str
    issuer: str
    valid_from: date | str
    valid_until: date | str
    certificate_id: str


def find_fonts(font_dir: Path | None = None) -> FontFaces:
    """Noto Sans regular and bold, from `font_dir` or the usual system folders."""
    return pdf.find_fonts(font_dir, error=DocumentRenderError)


def _text(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _rows(d: CertificateDisplay) -> list[tuple[str, str, str]]:
    if not d.dose_number >= 1 or not d.total_doses >= 1:
        raise DocumentRenderError("dose number and total doses must be at least 1")
    return [
        (*_both("disease"), d.disease),
        (*_both("vaccine_prophylaxis"), d.vaccine_prophylaxis),
        (*_both("product"), d.product),
        (*_both("manufacturer"), d.manufacturer),
        (*_both("dose"), f"{d.dose_number}/{d.total_doses}"),
        (*_both("date_of_vaccination"), _text(d.date_of_vaccination)),
        (*_both("country_of_vaccination"), d.country),
        (*_both("issuer"), d.issuer),
    ]


def _recovery_rows(d: RecoveryDisplay) -> list[tuple[str, str, str]]:
    if _text(d.valid_until) < _text(d.valid_from):
        raise DocumentRenderError("a recovery certificate cannot end before it starts")
    return [
        (*_both("disease_recovered"), d.disease),
        (*_both("first_positive"), _text(d.first_positive)),
        (*_both("country_of_test"), d.country),
        (*_both("issuer"), d.issuer),
        (*_both("valid_from"), _text(d.valid_from)),
        (*_both("valid_until"), _text(d.valid_until)),
    ]


def render_certificate_html(
    display: CertificateDisplay | RecoveryDisplay, hc1: str, *, font_dir: Path | None = None
) -> str:
    """The certificate as a standalone HTML page (fonts by file URL, QR inline as SVG)."""
    if not hc1.startswith("HC1:"):
        raise DocumentRenderError("the QR payload must be an `HC1:` string")
    fonts = find_fonts(font_dir)
    qr = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(hc1, border=0)).decode("ascii")
    d = {
        "name": display.name,
        "transliterated_name": display.transliterated_name,
        "date_of_birth": _text(display.date_of_birth),
        "certificate_id": display.certificate_id,
        "country": display.country,
        "issuer": display.issuer,
    }
    return (
        templates(TEMPLATES)
        .get_template("certificate.html.j2")
        .render(
            d=d,
            rows=_recovery_rows(display)
            if isinstance(display, RecoveryDisplay)
            else _rows(display),
            kind="r" if isinstance(display, RecoveryDisplay) else "v",
            both=_both,
            qr_src=qr,
            fonts=fonts.urls(),
        )
    )


def render_certificate_pdf(
    display: CertificateDisplay | RecoveryDisplay, hc1: str, *, font_dir: Path | None = None
) -> bytes:
    """The certificate as PDF bytes (A4, one page, fonts embedded)."""
    html = render_certificate_html(display, hc1, font_dir=font_dir)
    fonts = find_fonts(font_dir)
    return pdf.render_pdf(html, base_dir=TEMPLATES, fonts=fonts, error=DocumentRenderError)

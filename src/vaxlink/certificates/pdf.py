"""The printable certificate: a bilingual (Vietnamese/English) A4 PDF with the signed QR.

Rendered by WeasyPrint from a Jinja2 template. The font is Noto Sans, found on disk at run time
(Debian: fonts-noto-core) and embedded in the PDF; nothing is downloaded. Only `file:` and
`data:` URLs are fetched while rendering.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from vaxlink.certificates.errors import DocumentRenderError
from vaxlink.certificates.qrimage import qr_svg

TEMPLATES = Path(__file__).parent / "templates"
#: Where distributions install Noto Sans; the first folder holding both faces wins.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),  # Debian, Ubuntu: fonts-noto-core
    Path("/usr/share/fonts/noto"),  # Arch, Alpine
    Path("/usr/share/fonts/google-noto"),  # Fedora, RHEL
    Path("/usr/share/fonts/google-noto-vf"),
)
FONT_FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf")


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
class FontFaces:
    """Regular and bold font files used for the certificate."""

    regular: Path
    bold: Path


def find_fonts(font_dir: Path | None = None) -> FontFaces:
    """Noto Sans regular and bold, from `font_dir` or the usual system folders."""
    folders = (Path(font_dir),) if font_dir is not None else FONT_DIRS
    for folder in folders:
        paths = [folder / name for name in FONT_FILES]
        if all(p.is_file() for p in paths):
            return FontFaces(*paths)
    raise DocumentRenderError(
        f"Noto Sans ({', '.join(FONT_FILES)}) not found in {', '.join(map(str, folders))}: "
        "install the Debian package fonts-noto-core (full Vietnamese coverage)"
    )


def _text(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _rows(d: CertificateDisplay) -> list[tuple[str, str, str]]:
    if not d.dose_number >= 1 or not d.total_doses >= 1:
        raise DocumentRenderError("dose number and total doses must be at least 1")
    return [
        ("Bệnh được phòng", "Disease or agent targeted", d.disease),
        ("Loại vắc xin", "Vaccine / prophylaxis", d.vaccine_prophylaxis),
        ("Tên vắc xin", "Vaccine medicinal product", d.product),
        ("Nhà sản xuất", "Manufacturer / marketing authorisation holder", d.manufacturer),
        ("Mũi tiêm", "Dose number / total in series", f"{d.dose_number}/{d.total_doses}"),
        ("Ngày tiêm", "Date of vaccination", _text(d.date_of_vaccination)),
        ("Quốc gia tiêm chủng", "Member State / country of vaccination", d.country),
        ("Đơn vị cấp", "Certificate issuer", d.issuer),
    ]


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_certificate_html(
    display: CertificateDisplay, hc1: str, *, font_dir: Path | None = None
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
        _environment()
        .get_template("certificate.html.j2")
        .render(
            d=d,
            rows=_rows(display),
            qr_src=qr,
            fonts={"regular": fonts.regular.as_uri(), "bold": fonts.bold.as_uri()},
        )
    )


def render_certificate_pdf(
    display: CertificateDisplay, hc1: str, *, font_dir: Path | None = None
) -> bytes:
    """The certificate as PDF bytes (A4, one page, fonts embedded)."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    html = render_certificate_html(display, hc1, font_dir=font_dir)
    fetcher = URLFetcher(allowed_protocols={"file", "data"})
    try:
        pdf = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher).write_pdf(
            font_config=FontConfiguration()
        )
    except Exception as exc:  # WeasyPrint raises bare exceptions from deep inside layout
        raise DocumentRenderError(f"PDF rendering failed: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise DocumentRenderError("WeasyPrint returned no PDF")
    return pdf

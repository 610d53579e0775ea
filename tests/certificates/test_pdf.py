"""Bilingual PDF certificate: Vietnamese text survives, fonts are embedded, the QR scans back.

Reads the PDF with poppler-utils (pdftotext, pdftoppm, pdffonts); skipped with a reason when they
are missing, except in CI (CI=true), where that fails.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from vaxlink.certificates.errors import DocumentRenderError
from vaxlink.certificates.pdf import (
    CertificateDisplay,
    find_fonts,
    render_certificate_html,
    render_certificate_pdf,
)
from vaxlink.certificates.qrimage import read_qr

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
DISPLAY = CertificateDisplay(
    name="Nguyễn Thị Thuỷ Đức",
    transliterated_name="NGUYEN<THI<THUY<DUC",
    date_of_birth=date(1985, 3, 14),
    disease="COVID-19",
    vaccine_prophylaxis="SARS-CoV-2 mRNA vaccine",
    product="Comirnaty",
    manufacturer="BioNTech Manufacturing GmbH",
    dose_number=2,
    total_doses=3,
    date_of_vaccination=date(2021, 9, 1),
    country="Việt Nam (VN)",
    issuer="Bộ Y tế · Ministry of Health of Viet Nam",
    certificate_id="URN:UVCI:01:VN:8F3K2M9Q4R7T1X#Q",
)
HC1 = "HC1:" + "".join(random.Random(5).choice(BASE45) for _ in range(596))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (apt-get install poppler-utils)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _run(*args: str) -> str:
    done = subprocess.run([_tool(args[0]), *args[1:]], check=True, capture_output=True)
    return done.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "certificate.pdf"
    path.write_bytes(render_certificate_pdf(DISPLAY, HC1))
    return path


def test_one_a4_page(pdf_path: Path) -> None:
    info = _run("pdfinfo", str(pdf_path))
    assert "Pages:           1" in info
    assert "595.276 x 841.89 pts (A4)" in info


def test_vietnamese_text_comes_out_intact(pdf_path: Path) -> None:
    text = unicodedata.normalize("NFC", _run("pdftotext", "-enc", "UTF-8", str(pdf_path), "-"))
    for expected in (
        "Nguyễn Thị Thuỷ Đức",
        "NGUYEN<THI<THUY<DUC",
        "Giấy chứng nhận tiêm chủng COVID-19",
        "COVID-19 Vaccination Certificate",
        "Ngày sinh",
        "Date of birth",
        "1985-03-14",
        "Bệnh được phòng",
        "SARS-CoV-2 mRNA vaccine",
        "Comirnaty",
        "BioNTech Manufacturing GmbH",
        "2/3",
        "2021-09-01",
        "Việt Nam (VN)",
        "Bộ Y tế · Ministry of Health of Viet Nam",
        "URN:UVCI:01:VN:8F3K2M9Q4R7T1X#Q",
    ):
        assert expected in text, expected


def test_fonts_are_embedded_noto(pdf_path: Path) -> None:
    rows = _run("pdffonts", str(pdf_path)).splitlines()[2:]
    assert rows, "no fonts in the PDF"
    for row in rows:
        assert "VaxlinkSans" in row, row  # only our @font-face: no silent fallback
        assert " yes yes yes " in row, row  # embedded, subset, with a Unicode map


def test_qr_decodes_from_the_rendered_page(pdf_path: Path, tmp_path: Path) -> None:
    _run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_path), str(tmp_path / "page"))
    assert read_qr(tmp_path / "page.png") == HC1


def test_noto_sans_covers_every_vietnamese_letter() -> None:
    bases = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    letters = {unicodedata.normalize("NFC", b + t) for b in bases for t in tones} | {"đ"}
    letters |= {c.upper() for c in letters}
    assert len(letters) == 2 * (12 * 6 + 1)
    for path in (find_fonts().regular, find_fonts().bold):
        with TTFont(path) as font:
            cmap = font.getBestCmap()
        missing = sorted(c for c in letters if ord(c) not in cmap)
        assert not missing, (path, missing)


def test_fields_are_escaped_not_interpreted() -> None:
    evil = dataclasses.replace(DISPLAY, name="<img src=x onerror=alert(1)>")
    html = render_certificate_html(evil, HC1)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(DocumentRenderError, match="fonts-noto-core"):
        render_certificate_pdf(DISPLAY, HC1, font_dir=tmp_path)


def test_payload_must_be_hc1() -> None:
    with pytest.raises(DocumentRenderError, match="HC1"):
        render_certificate_html(DISPLAY, "not a certificate")

"""QR images: segno at error correction Q, decoded back with zxing-cpp."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vaxlink.certificates.errors import QrNotFound
from vaxlink.certificates.qrimage import make_qr, qr_png, qr_svg, read_qr, write_qr
from vaxlink.errors import InvalidInput

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def hc1_like(length: int = 600, seed: int = 7) -> str:
    rnd = random.Random(seed)
    return "HC1:" + "".join(rnd.choice(BASE45) for _ in range(length - 4))


def test_png_round_trip_of_a_600_character_hc1_string(tmp_path: Path) -> None:
    text = hc1_like()
    assert len(text) == 600
    png = qr_png(text)
    assert png.startswith(b"\x89PNG")
    assert read_qr(png) == text
    path = write_qr(text, tmp_path / "qr.png")
    assert read_qr(path) == text
    assert read_qr(str(path)) == text


def test_error_correction_is_q_in_the_image_itself() -> None:
    text = hc1_like()
    qr = make_qr(text)
    assert qr.error == "Q"
    assert qr.mode == "alphanumeric"
    assert not qr.is_micro
    with Image.open(io.BytesIO(qr_png(text))) as image:
        (found,) = zxingcpp.read_barcodes(image.convert("L"))
    assert found.ec_level == "Q"


def test_svg_is_a_standalone_document_of_the_same_symbol(tmp_path: Path) -> None:
    text = hc1_like()
    svg = qr_svg(text, scale=2, border=4)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    modules = make_qr(text).symbol_size(scale=2, border=4)
    assert (int(float(root.attrib["width"])), int(float(root.attrib["height"]))) == modules
    assert write_qr(text, tmp_path / "qr.svg").read_bytes() == qr_svg(text)


def test_reads_a_rotated_shrunk_noisy_photo() -> None:
    text = hc1_like(seed=11)
    with Image.open(io.BytesIO(qr_png(text, scale=6))) as image:
        photo = image.convert("L").rotate(90, expand=True).resize((560, 560))
    rnd = random.Random(3)
    pixels = photo.load()
    assert pixels is not None
    for _ in range(1500):
        x, y = rnd.randrange(560), rnd.randrange(560)
        pixels[x, y] = 128
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=80)
    assert read_qr(out.getvalue()) == text


def test_no_qr_in_the_image_is_a_clear_error(tmp_path: Path) -> None:
    blank = io.BytesIO()
    Image.new("L", (300, 300), 255).save(blank, format="PNG")
    with pytest.raises(QrNotFound, match="no QR code found"):
        read_qr(blank.getvalue())
    with pytest.raises(QrNotFound, match="not a readable raster image"):
        read_qr(b"%PDF-1.7 not an image")
    with pytest.raises(QrNotFound, match="not found"):
        read_qr(tmp_path / "missing.png")


def test_unknown_image_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\.png or \.svg"):
        write_qr("HC1:ABC", tmp_path / "qr.gif")


@settings(max_examples=15, deadline=None)
@given(st.text(alphabet=BASE45, min_size=1, max_size=300))
def test_any_base45_text_round_trips(body: str) -> None:
    text = "HC1:" + body
    assert read_qr(qr_png(text)) == text

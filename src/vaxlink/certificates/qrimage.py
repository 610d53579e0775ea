"""QR images of `HC1:` strings (and `shc:/` ones): drawn with segno (error correction Q), read
back with zxing-cpp.

EU DCC asks for error correction level Q; an HC1 string is Base45, whose alphabet is exactly the
QR alphanumeric set, so segno encodes it in alphanumeric mode without being told.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError
from segno import consts

from vaxlink.certificates.errors import QrNotFound
from vaxlink.errors import InvalidInput

#: Pixels per QR module and quiet-zone width (modules) used unless the caller says otherwise.
DEFAULT_SCALE = 4
DEFAULT_BORDER = 4
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def make_qr(text: str) -> segno.QRCode:
    """The QR symbol for `text` at error correction level Q (never raised: scanners expect Q)."""
    return segno.make_qr(text, error="q", boost_error=False)


def qr_png(text: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER) -> bytes:
    """PNG bytes of the QR for `text`, black on white."""
    out = io.BytesIO()
    make_qr(text).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER) -> bytes:
    """SVG bytes of the QR for `text` (a standalone document, UTF-8)."""
    out = io.BytesIO()
    make_qr(text).save(out, kind="svg", scale=scale, border=border, xmldecl=True)
    return out.getvalue()


def shc_qr_png(text: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER) -> bytes:
    """PNG of a SMART Health Card QR: `shc:/` in byte mode, the digits in numeric mode (two
    segments, as the SHC spec asks), error correction L or higher."""
    prefix, digits = text[:5], text[5:]
    if prefix != "shc:/" or not digits.isdigit():
        raise InvalidInput("a SMART Health Card QR text is `shc:/` and digits")
    out = io.BytesIO()
    # segno takes a list of (content, mode) segments; inside it, modes are its int constants
    segments = [(prefix, consts.MODE_BYTE), (digits, consts.MODE_NUMERIC)]
    symbol = segno.make_qr(segments, error="l")  # type: ignore[arg-type]  # stubs omit lists
    symbol.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def write_qr(text: str, path: Path, *, scale: int = DEFAULT_SCALE) -> Path:
    """Write the QR to `path` as PNG or SVG, by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(qr_png(text, scale=scale))
    elif suffix == ".svg":
        path.write_bytes(qr_svg(text, scale=scale))
    else:
        raise InvalidInput(f"QR image must be .png or .svg, not {suffix or 'no suffix'!r}")
    return path


def read_qr(source: str | Path | bytes) -> str:
    """The text of the first QR code in a raster image (a path, or the image file's bytes)."""
    label = "image bytes" if isinstance(source, bytes) else str(source)
    try:
        if isinstance(source, bytes):
            image = Image.open(io.BytesIO(source))
        else:
            image = Image.open(Path(source))
        with image:
            image.load()
            found = zxingcpp.read_barcodes(image.convert("L"), formats=_QR_ONLY)
    except FileNotFoundError as exc:
        raise QrNotFound(f"{label}: file not found") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise QrNotFound(f"{label} is not a readable raster image (PNG, JPEG, …)") from exc
    texts = [b.text for b in found if b.valid and b.text]
    if not texts:
        raise QrNotFound(
            f"no QR code found in {label}: photograph the whole code, flat and in focus"
        )
    return texts[0]

"""Verify what a person submits (the QR's text: `HC1:` or `shc:/`, or a photo of the QR code) into
a structured result.

Shared by the verify endpoint and the verifier page. Every input gives a result dictionary, never
an exception: an unreadable photo fails at the step `image` with its own code.
"""

from __future__ import annotations

import io
import warnings
from datetime import datetime
from typing import Any, Final

from PIL import Image

from vaxlink.certificates.core.trust import RevocationSource, TrustSource
from vaxlink.certificates.errors import CertificateError, QrNotFound
from vaxlink.certificates.qrimage import read_qr
from vaxlink.certificates.verification.result import (
    Failure,
    VerificationResult,
    verification_result,
)

#: The largest photo of a QR code accepted (a phone photo; an HC1 text is under 8 KiB).
UPLOAD_LIMIT: Final = 8 * 1024 * 1024
#: Photos larger than this many pixels are refused before decoding (a phone photo is ~12-50 MP
#: only at full resolution; apps send less).
MAX_IMAGE_PIXELS: Final = 50_000_000
IMAGE_STEP: Final = "image"
#: What Pillow and zxing-cpp raise on hostile or damaged files (UnidentifiedImageError and
#: "truncated" are OSErrors; some plugins raise SyntaxError or EOFError on bad headers).
_UNREADABLE: Final = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    RuntimeError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def qr_text(data: bytes) -> str:
    """The text of the QR code in an image file's bytes; refuses images too large to decode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except _UNREADABLE as exc:
        raise QrNotFound("the file is not a readable image (PNG, JPEG, …)") from exc
    if width * height > MAX_IMAGE_PIXELS:
        raise QrNotFound(f"the image is {width}x{height} pixels; send a smaller photo")
    try:
        return read_qr(data)
    except _UNREADABLE as exc:  # a decoder fault on a hostile file is still just "no QR"
        raise QrNotFound("no QR code could be read from the image") from exc


def _image_failure(error: CertificateError) -> dict[str, Any]:
    result = VerificationResult(False, Failure(error.code, str(error))).to_dict()
    result["failed_step"] = IMAGE_STEP
    return result


def verify_submission(
    *,
    text: str | None,
    image: bytes | None,
    trust: TrustSource,
    revocation: RevocationSource,
    clock: datetime,
) -> dict[str, Any]:
    """The structured verification result of a QR text (`HC1:` or `shc:/`), or else of the QR
    in an image."""
    if not text and image:
        try:
            text = qr_text(image)
        except CertificateError as exc:
            return _image_failure(exc)
    text = (text or "").strip()
    return verification_result(text, trust, clock=clock, revocation=revocation).to_dict()

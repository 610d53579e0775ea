"""Attachments to reports: size-limited, type judged from the bytes, stored outside the web root.

Only JPEG, PNG and PDF are kept, decided by their magic bytes (the file name and the browser's
declared type are ignored), so an HTML page or a program renamed `.jpg` is refused. Files go to
`<data_dir>/feedback/attachments/` under random names; only the store knows which ticket they
belong to.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from vaxlink.feedback.errors import AttachmentRefused
from vaxlink.feedback.models import Attachment

MAX_FILES: Final = 3
_PNG: Final = b"\x89PNG\r\n\x1a\n"


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are (JPEG, PNG, PDF), else None."""
    if data.startswith(b"\xff\xd8\xff") and len(data) > 4:
        return "image/jpeg"
    if data.startswith(_PNG) and data[12:16] == b"IHDR":
        return "image/png"
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]:
        return "application/pdf"
    return None


def attachment_dir(data_dir: Path) -> Path:
    """Where attachment bytes live (never under the static files)."""
    return data_dir / "feedback" / "attachments"


def check(data: bytes, *, max_bytes: int) -> str:
    """The content type of an acceptable file, else `AttachmentRefused` saying why."""
    if len(data) == 0:
        raise AttachmentRefused("the attached file is empty", key="feedback.err.empty")
    if len(data) > max_bytes:
        raise AttachmentRefused(
            f"the attached file is larger than {max_bytes // (1024 * 1024) or 1} MB",
            key="feedback.err.size",
        )
    kind = sniff(data)
    if kind is None:
        raise AttachmentRefused(
            "attach a photo (JPEG or PNG) or a PDF; this file is neither", key="feedback.err.type"
        )
    return kind


def store_attachment(
    session: Session,
    ticket_id: int,
    data: bytes,
    *,
    data_dir: Path,
    max_bytes: int,
    now: datetime,
) -> Attachment:
    """Check and keep one file for a ticket."""
    kind = check(data, max_bytes=max_bytes)
    folder = attachment_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16)
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    row = Attachment(
        ticket_id=ticket_id,
        stored_name=name,
        content_type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def read_attachment(row: Attachment, *, data_dir: Path) -> bytes:
    """The bytes of a stored attachment."""
    if not row.stored_name.isalnum():
        raise AttachmentRefused("the stored file name is not valid")
    return (attachment_dir(data_dir) / row.stored_name).read_bytes()

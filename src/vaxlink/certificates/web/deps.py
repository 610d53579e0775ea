"""Request dependencies of the certificate routes: the time and key store (the composition
root's), trust, bounded body reading."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from vaxlink.certificates.errors import RequestTooLarge
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.verification.store import KeyStoreTrust, StoreRevocationList
from vaxlink.certificates.verification.submission import UPLOAD_LIMIT, verify_submission
from vaxlink.errors import InvalidInput
from vaxlink.web.deps import container
from vaxlink.web.deps import now as clock

#: An HC1 or shc:/ text is at most 8 KiB; JSON around it stays far below this.
JSON_LIMIT: Final = 16 * 1024


__all__ = ["JSON_LIMIT", "Submission", "clock", "key_store", "read_limited", "submitted",
           "trust_source", "verify_in_store"]  # fmt: skip


def key_store(request: Request) -> KeyStore:
    """The issuer's key directory: the composition root's."""
    return container(request).key_store


def trust_source(request: Request, store: Annotated[KeyStore, Depends(key_store)]) -> KeyStoreTrust:
    """The published DSCs, cached on the app for a minute."""
    state = request.app.state
    cached: KeyStoreTrust | None = getattr(state, "certificates_trust", None)
    if cached is None:
        cached = KeyStoreTrust(store, clock=container(request).clock)
        state.certificates_trust = cached
    return cached


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the request is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(f"the request is larger than {limit} bytes")
    return bytes(body)


def _replayed(request: Request, body: bytes) -> Request:
    """A request whose body is `body` again, so Starlette's form parser can read it."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


async def submitted(request: Request) -> tuple[str | None, bytes | None, dict[str, str]]:
    """(HC1 text, image bytes, other form fields) from a JSON body or a multipart upload."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(await read_limited(request, JSON_LIMIT))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput("the body is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("hc1"), str):
            raise InvalidInput('send {"hc1": "HC1:..."}')
        return data["hc1"], None, {}
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        body = await read_limited(request, UPLOAD_LIMIT)
        form = await _replayed(request, body).form(max_files=1, max_fields=8)
        text, image, fields = None, None, {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "image":
                    image = await value.read()
            elif name == "hc1":
                text = value
            else:
                fields[name] = value
        await form.close()
        return text, image or None, fields
    raise InvalidInput('send JSON {"hc1": ...} or a multipart form with `hc1` or `image`')


Submission = Annotated[tuple[str | None, bytes | None, dict[str, str]], Depends(submitted)]


def verify_in_store(
    db: Session, trust: KeyStoreTrust, now: datetime, text: str | None, image: bytes | None
) -> dict[str, Any]:
    """Verify against the published DSCs and the store's revocations."""
    return verify_submission(
        text=text, image=image, trust=trust, revocation=StoreRevocationList(db), clock=now
    )

"""Approval pages (APPROVE): a site approver's queue of verified doses, signing, signed manifests.

Scoped to the approver's own vaccination site (`facility_code`). Included by
`vaxlink.cleaning.entry_pages`, whose strings it uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import require
from vaxlink.auth.service import Permission, Principal
from vaxlink.certificates.approval import queue
from vaxlink.certificates.errors import (
    ApprovalError,
    KeyManagementError,
    SigningLocked,
    SigningPassphraseWrong,
    SigningRefused,
)
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.web.deps import clock, key_store
from vaxlink.ratelimit import secret_of
from vaxlink.web import deps, i18n
from vaxlink.web.deps import container, session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """The site's doses awaiting its head's signature (up to the home page's cap)."""
    return queue.waiting_count(db, principal, cap=WAITING_CAP)


NAV: Final = (NavItem("/approval", "approval.nav", Permission.APPROVE, order=35, waiting=_waiting),)

router = APIRouter(tags=["approval"], include_in_schema=False)
Approver = Annotated[Principal, Depends(require(Permission.APPROVE))]
Db = Annotated[Session, Depends(session, scope="function")]


@router.get("/approval", response_class=HTMLResponse)
def approval_queue(
    request: Request,
    principal: Approver,
    db: Db,
    after: Annotated[int, Query(ge=0)] = 0,
    signed: Annotated[int | None, Query()] = None,
    n: Annotated[int | None, Query(ge=0)] = None,
    error: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """The facility's verified doses awaiting signature, one page at a time."""
    page = queue.pending_page(db, principal, after=after, now=deps.now(request))
    return render(
        request, "approval/queue.html",
        {"page": page, "after": after, "signed": signed, "signed_n": n, "error": error},
    )  # fmt: skip


#: The message (a key of the page's strings) each signing refusal shows; others show their text.
_REFUSALS: Final = (
    (SigningPassphraseWrong, "approval.passphrase_wrong"),
    (SigningLocked, "approval.passphrase_locked"),
    (SigningRefused, "approval.no_key"),
)


@router.post("/approval/sign")
def approval_sign(
    request: Request,
    principal: Approver,
    db: Db,
    keys: Annotated[KeyStore, Depends(key_store)],
    now: Annotated[dt.datetime, Depends(clock)],
    dose_id: Annotated[list[int] | None, Form()] = None,
    scope: Annotated[str, Form()] = "selected",
    note: Annotated[str, Form(max_length=500)] = "",
    passphrase: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Sign the selected doses (or every waiting one) with the facility's key, unlocked with the
    approver's own signing passphrase (never echoed back; wrong ones are counted per account)."""
    ids = None if scope == "all" else list(dose_id or [])
    error_key: str | None = None
    try:
        if not passphrase:
            error_key = "approval.passphrase_missing"
            raise ApprovalError("the signing passphrase is missing")
        result = queue.sign(
            db, principal, keys, passphrase=passphrase, dose_ids=ids, now=now, note=note,
            secret=secret_of(container(request).settings),
        )  # fmt: skip
    except (ApprovalError, KeyManagementError) as exc:
        for kind, key in _REFUSALS:
            if isinstance(exc, kind):
                error_key = key
                break
        response = render(
            request, "approval/queue.html",
            {"page": queue.pending_page(db, principal, now=now), "after": 0, "error": i18n.error_text(i18n.language(request), exc),
             "error_key": error_key, "signed": None, "signed_n": None},
            status=exc.http_status,
        )  # fmt: skip
        if isinstance(exc, SigningLocked):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    if result.approval_id is None:
        return RedirectResponse("/approval?n=0", status_code=303)
    # reports whose new certificate waited for this signature are settled in this transaction
    deps.container(request).after_approval(db, approval_id=result.approval_id, actor=principal,
                                           by=f"{principal.username} (approval #{result.approval_id})")  # fmt: skip
    return RedirectResponse(
        f"/approval/manifests/{result.approval_id}?n={result.record_count}", status_code=303
    )


@router.get("/approval/manifests", response_class=HTMLResponse)
def approval_manifests(
    request: Request,
    principal: Approver,
    db: Db,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The facility's signed approvals, newest first."""
    rows, older = queue.manifests(db, principal, before=before)
    return render(request, "approval/manifests.html", {"rows": rows, "older": older})


@router.get("/approval/manifests/{approval_id}", response_class=HTMLResponse)
def approval_manifest(
    request: Request,
    principal: Approver,
    db: Db,
    approval_id: int,
    n: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """One approval, re-verified now: signature, key, and records changed since."""
    detail = queue.manifest(db, principal, approval_id, now=deps.now(request))
    return render(request, "approval/manifest.html", {"detail": detail, "signed_n": n})

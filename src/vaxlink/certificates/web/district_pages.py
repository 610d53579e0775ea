"""The district health centre's page (DISTRICT_APPROVE): what its signature would cover, what
moved since its last one, and signing the list with its own wrap of the district key.

A district account signs only its own district (its unit): a form naming another district is
refused (403) and audited (`certificates.district_approve_refused`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Annotated, Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.auth.deps import require
from vaxlink.auth.service import Permission, Principal
from vaxlink.certificates.approval.district import (
    DistrictPreview,
    SigningInProgress,
    continue_district_approval,
    district_of_approval,
    preview,
    start_district_approval,
    stored_so_far,
    unlock_district_key,
)
from vaxlink.certificates.approval.signing import SigningCredential
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import (
    ApprovalError,
    KeyManagementError,
    SigningLocked,
    SigningPassphraseWrong,
    SigningRefused,
)
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.web.deps import clock, key_store
from vaxlink.clock import Clock
from vaxlink.db import transaction
from vaxlink.errors import Forbidden, NotFound
from vaxlink.geo.codes import Level
from vaxlink.ratelimit import secret_of
from vaxlink.web.deps import container, session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render

log = logging.getLogger(__name__)


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """Verified doses of the district's residents its last signed list does not hold as they
    stand (new, changed or gone since): what its next signature covers."""
    if principal.unit.level is not Level.DISTRICT:
        return 0
    shown = preview(db, principal.unit.code)
    moved = shown.added + shown.changed + shown.removed
    return min(shown.verified if shown.last_approval_id is None else moved, WAITING_CAP)


NAV: Final = (
    NavItem("/district/approval", "district.nav", Permission.DISTRICT_APPROVE, order=36,
            waiting=_waiting),
)  # fmt: skip

router = APIRouter(tags=["district"], include_in_schema=False)
DistrictHealth = Annotated[Principal, Depends(require(Permission.DISTRICT_APPROVE))]
Db = Annotated[Session, Depends(session, scope="function")]

#: The message (a key of the page's strings) each signing refusal shows; others show their text.
_REFUSALS: Final = (
    (SigningPassphraseWrong, "district.passphrase_wrong"),
    (SigningLocked, "district.passphrase_locked"),
    (SigningRefused, "district.no_key"),
    (SigningInProgress, "district.in_progress"),
)


def own_district(principal: Principal) -> str:
    """The district the account answers for (Forbidden for an account of another level)."""
    if principal.unit.level is not Level.DISTRICT:
        raise Forbidden("chỉ tài khoản cấp huyện được ký danh sách / only a district account signs")
    return principal.unit.code


def _by_commune(shown: DistrictPreview) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """(ward, [(site, verified doses, site-signed doses)]) sorted by ward, for the page."""
    wards: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for (ward, site), n in shown.verified_by_place.items():
        wards[ward][site] = (n, shown.site_signed_by_place.get((ward, site), 0))
    return [(w, [(site, v, a) for site, (v, a) in sorted(s.items())])
            for w, s in sorted(wards.items())]  # fmt: skip


def _page(
    request: Request, db: Session, district: str, *, status: int = 200, **extra: object
) -> Response:
    shown = preview(db, district)
    return render(request, "district/approval.html",
                  {"shown": shown, "communes": _by_commune(shown), **extra},
                  status=status)  # fmt: skip


@router.get("/district/approval", response_class=HTMLResponse)
def district_approval(
    request: Request,
    principal: DistrictHealth,
    db: Db,
    signed: Annotated[int | None, Query(ge=1)] = None,
    n: Annotated[int | None, Query(ge=0)] = None,
    waiting: Annotated[int | None, Query(ge=0)] = None,
    job: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """What the district would sign now, and the result of the last signing (while a signing
    runs, its progress, the page refreshing itself until it ends)."""
    own = own_district(principal)
    if job is not None:
        return _job_page(request, db, own, job)
    return _page(request, db, own, signed=signed, signed_n=n, waiting=waiting, error=None,
                 error_key=None)  # fmt: skip


def _job_page(request: Request, db: Session, own: str, job: int) -> Response:
    """A signing started from this page: running (progress), done (its result) or failed."""
    so_far = stored_so_far(db, job)
    if so_far is not None:
        if district_of_approval(db, job) != own:
            raise Forbidden("chỉ xem được việc ký của huyện mình / only your district's signing")
        return _page(request, db, own, running=job, running_n=so_far, error=None,
                     error_key=None, signed=None, signed_n=None, waiting=None)  # fmt: skip
    (entry,) = auth.latest_entries(db, action_prefixes=(_DONE, _FAILED), limit=1,
                                   about=("district_signing", str(job))) or (None,)  # fmt: skip
    if entry is None or entry.detail.get("district") != own:
        raise NotFound("không có việc ký này của huyện / no such signing of your district")
    if entry.action == _FAILED:
        return _page(request, db, own, status=200, error=None, error_key="district.failed",
                     signed=None, signed_n=None, waiting=None)  # fmt: skip
    d = entry.detail
    done = d.get("approval_id")
    query = f"signed={done}&n={d['entries']}" if done else "n=0"
    return RedirectResponse(f"/district/approval?{query}&waiting={d['waiting_for_site']}",
                            status_code=303)  # fmt: skip


_DONE: Final = "certificates.district_approve"
_FAILED: Final = "certificates.district_approve_failed"


def _finish(
    engine: Engine,
    signer: Signer,
    job: int,
    principal: Principal,
    anchors: tuple[Any, ...],
    clock: Clock,
) -> None:
    """Fill and sign the pending list outside the request; the result (or failure) is audited
    against the job, which is how the page learns it."""
    own = principal.unit.code
    try:
        result = continue_district_approval(engine, signer, job, anchors=anchors)
    except Exception as exc:
        log.exception("district signing #%d failed", job)
        with transaction(engine) as s:
            auth.append(s, actor=principal, action=_FAILED, object_type="district_signing",
                        object_id=str(job), detail={"district": own,
                                                    "error": type(exc).__name__},
                        at=clock.now())  # fmt: skip
        return
    with transaction(engine) as s:
        auth.append(s, actor=principal, action=_DONE, object_type="district_signing",
                    object_id=str(job),
                    detail={"district": own, "approval_id": result.approval_id,
                            "entries": result.entry_count, "waiting_for_site": result.waiting,
                            "site_approval_invalid": result.site_invalid},
                    at=clock.now())  # fmt: skip


@router.post("/district/approval/sign")
def district_sign(
    request: Request,
    principal: DistrictHealth,
    db: Db,
    keys: Annotated[KeyStore, Depends(key_store)],
    now: Annotated[dt.datetime, Depends(clock)],
    district: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    passphrase: Annotated[str, Form(max_length=256)] = "",
    *,
    tasks: BackgroundTasks,
) -> Response:
    """Sign the district's list as it stands, with the account's own signing passphrase (never
    echoed back; wrong ones counted per account and locked like a site approver's)."""
    own = own_district(principal)
    if district.strip() and district.strip() != own:
        auth.append(db, actor=principal, action="certificates.district_approve_refused",
                    object_type="district", object_id=district.strip()[:8],
                    detail={"reason": "out_of_scope", "own": own}, at=now)  # fmt: skip
        return _page(request, db, own, status=403, error=None, error_key="district.not_yours",
                     signed=None, signed_n=None, waiting=None)  # fmt: skip
    error_key: str | None = None
    try:
        if not passphrase:
            error_key = "district.passphrase_missing"
            raise ApprovalError("the signing passphrase is missing")
        credential = SigningCredential(principal.username, passphrase)
        c = container(request)
        try:
            signer = unlock_district_key(db, keys, own, credential, now=now,
                                         secret=secret_of(c.settings))  # fmt: skip
        except (SigningRefused, SigningLocked) as exc:
            auth.append(db, actor=principal, action="certificates.district_approve_refused",
                        object_type="district", object_id=own, detail={"reason": exc.code},
                        at=now)  # fmt: skip
            raise
        job = start_district_approval(db, signer, district_code=own,
                                      approver=principal.username, now=now,
                                      note=note.strip() or None)  # fmt: skip
    except (ApprovalError, KeyManagementError, SigningInProgress) as exc:
        for kind, key in _REFUSALS:
            if isinstance(exc, kind):
                error_key = key
                break
        response = _page(request, db, own, status=exc.http_status, error=str(exc),
                         error_key=error_key, signed=None, signed_n=None, waiting=None)  # fmt: skip
        if isinstance(exc, SigningLocked):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    # The list is filled and signed after the answer, a chunk of residents per transaction: a
    # district of 500,000 people takes minutes, longer than a browser or a proxy waits.
    tasks.add_task(_finish, c.engine, signer, job, principal, tuple(c.trust_anchors), c.clock)
    return RedirectResponse(f"/district/approval?job={job}", status_code=303)

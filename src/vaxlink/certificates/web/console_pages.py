"""The national issuer's console (CERTIFICATE_ISSUE): keys and their plan, what waits for a site's
signature, issue runs with progress, revocation with a reason, and the certificate actions of the
audit chain. Thin over `vaxlink.certificates.console`; every action is the signed-in issuer's own
and is audited as such (the role needs a second factor: auth's policy)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import require
from vaxlink.auth.service import Permission, Principal
from vaxlink.certificates import console
from vaxlink.certificates.errors import CertificateError
from vaxlink.certificates.models import CertificateKind
from vaxlink.compose import Container
from vaxlink.web import i18n
from vaxlink.web.deps import container, session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """Doses the sites signed since the last issue run (up to the home page's cap)."""
    return min(console.signed_since_last_run(db), WAITING_CAP)


NAV: Final = (
    NavItem("/issuer", "issuer.nav", Permission.CERTIFICATE_ISSUE, order=40, waiting=_waiting),
)

router = APIRouter(tags=["issuer"], include_in_schema=False)
Issuer = Annotated[Principal, Depends(require(Permission.CERTIFICATE_ISSUE))]
Db = Annotated[Session, Depends(session, scope="function")]
Box = Annotated[Container, Depends(container)]


def _runs(request: Request) -> console.IssueRuns:
    """The issue runs of this app (one registry per app)."""
    state = request.app.state
    runs: console.IssueRuns | None = getattr(state, "issue_runs", None)
    if runs is None:
        runs = state.issue_runs = console.IssueRuns()
    return runs


def _page(
    request: Request, db: Session, c: Container, *, error: str | None = None,
    revoked: str | None = None, reissued: str | None = None, status: int = 200,
    typed: dict[str, object] | None = None,
) -> Response:  # fmt: skip
    now = c.clock.now()
    runs = _runs(request)
    try:
        kinds = console.signable(c.issuer(by="console", now=now))
    except CertificateError as exc:  # no DSC yet: the page says so, with what to do
        kinds, error = (), error or i18n.error_text(i18n.language(request), exc)
    return render(request, "issuer/console.html", {
        "view": console.overview(db, c.key_store, now,
                                 cap_per_day=c.settings.issuance_cap_per_day,
                                 require_district=c.settings.require_district_approval),
        "kinds": kinds, "runs": runs.latest(), "running": runs.running(), "error": error,
        "revoked": revoked, "reissued": reissued, "now": now, "typed": typed or {},
    }, status=status)  # fmt: skip


@router.get("/issuer", response_class=HTMLResponse)
def issuer_console(request: Request, principal: Issuer, db: Db, c: Box) -> Response:
    """The console's page."""
    query = request.query_params
    return _page(request, db, c, revoked=query.get("revoked"), reissued=query.get("reissued"))


@router.post("/issuer/issue")
def issuer_issue(
    request: Request,
    principal: Issuer,
    db: Db,
    c: Box,
    kind: Annotated[list[CertificateKind] | None, Form()] = None,
) -> Response:
    """Start an issue run of the chosen kinds as the signed-in issuer."""
    try:
        issuer = c.issuer(by=principal.username)
        run = _runs(request).start(
            c.engine,
            principal,
            issuer,
            list(kind or []),
            cap_per_day=c.settings.issuance_cap_per_day,
        )
    except CertificateError as exc:
        return _page(request, db, c, error=i18n.error_text(i18n.language(request), exc), status=422)
    return RedirectResponse(f"/issuer/runs/{run.id}", status_code=303)


@router.get("/issuer/runs/{run_id}", response_class=HTMLResponse)
def issuer_run(request: Request, principal: Issuer, run_id: int) -> Response:
    """One issue run: progress while it runs (the page refreshes itself), results when done."""
    run = _runs(request).get(run_id)
    if run is None:
        return render(request, "issuer/run.html", {"run": None}, status=404)
    return render(request, "issuer/run.html", {"run": run})


@router.post("/issuer/revoke")
def issuer_revoke(
    request: Request,
    principal: Issuer,
    db: Db,
    c: Box,
    uvci: Annotated[str, Form(max_length=80)],
    reason: Annotated[str, Form(max_length=500)] = "",
    reissue: Annotated[bool, Form()] = False,
) -> Response:
    """Revoke one certificate with a reason (it goes on the published revocation list) and,
    when asked, issue its person a new one in its place."""
    now = c.clock.now()
    try:
        with db.begin_nested():  # nothing of a refused revocation or re-issue stays
            if reissue:
                old, new = console.reissue_as(db, principal, c.issuer(by=principal.username, now=now),
                                              uvci, reason=reason, now=now,
                                              cap_per_day=c.settings.issuance_cap_per_day)  # fmt: skip
                target = f"/issuer?revoked={old.id}&reissued={new.id}"
            else:
                old = console.revoke_as(db, principal, uvci, reason=reason, now=now)
                target = f"/issuer?revoked={old.id}"
    except CertificateError as exc:
        typed = {"uvci": uvci, "reason": reason, "reissue": reissue}  # stays in the form (#17)
        return _page(request, db, c, error=i18n.error_text(i18n.language(request), exc),
                     status=422, typed=typed)  # fmt: skip
    return RedirectResponse(target, status_code=303)

"""Recovery entry (RECOVERY_ENTER): a commune health station enters a resident's recovery from
COVID-19, the source of recovery certificates, which the national issuer's runs then sign. Scoped
to residents of the station's own unit; every entry audited as the station's account."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import require
from vaxlink.auth.service import OutOfScope, Permission, Principal
from vaxlink.certificates.errors import RecoveryInvalid
from vaxlink.certificates.issuance.recovery import enter_recovery, recent_entries
from vaxlink.web import i18n
from vaxlink.web.deps import now, session
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

NAV: Final = (NavItem("/recovery", "recovery.nav", Permission.RECOVERY_ENTER, order=45),)

router = APIRouter(tags=["recovery"], include_in_schema=False)
Station = Annotated[Principal, Depends(require(Permission.RECOVERY_ENTER))]
Db = Annotated[Session, Depends(session, scope="function")]


def _page(
    request: Request, db: Session, principal: Principal, *, error: str | None = None,
    form: dict[str, str] | None = None, done: int | None = None, status: int = 200,
) -> Response:  # fmt: skip
    return render(request, "recovery/enter.html", {
        "rows": recent_entries(db, principal), "error": error, "form": form or {}, "done": done,
    }, status=status)  # fmt: skip


@router.get("/recovery", response_class=HTMLResponse)
def recovery_form(request: Request, principal: Station, db: Db) -> Response:
    """The entry form and the station's latest entries."""
    raw = request.query_params.get("done", "")
    return _page(request, db, principal, done=int(raw) if raw.isdigit() else None)


@router.post("/recovery")
def recovery_enter(
    request: Request,
    principal: Station,
    db: Db,
    at: Annotated[dt.datetime, Depends(now)],
    id_number: Annotated[str, Form(max_length=40)],
    first_positive: Annotated[str, Form(max_length=10)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Enter one recovery; a refusal keeps what was typed and says what to fix."""
    form = {"id_number": id_number, "first_positive": first_positive, "note": note}
    try:
        day = dt.date.fromisoformat(first_positive)
    except ValueError:
        return _page(request, db, principal, form=form, status=422,
                     error="first_positive")  # fmt: skip
    try:
        with db.begin_nested():
            entry = enter_recovery(db, principal, id_number=id_number, first_positive=day,
                                   now=at, note=note)  # fmt: skip
    except (RecoveryInvalid, OutOfScope) as exc:
        status = 403 if isinstance(exc, OutOfScope) else 422
        return _page(
            request,
            db,
            principal,
            form=form,
            error=i18n.error_text(i18n.language(request), exc),
            status=status,
        )
    return RedirectResponse(f"/recovery?done={entry.id}", status_code=303)

"""Citizen portal pages (`/c/...`) and the station's ticket pages (`/staff/tickets...`).

Thin: each route reads the form, calls the services and renders. Citizen pages use their own
short-lived session cookie (never a staff session); the lookup always answers with the same
redirect and the same page, matched or not. SMS go out after the response, from the outbox.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vaxlink.auth import service as auth
from vaxlink.certificates.service import (
    CertificateKind,
    active_of,
    certificate_pdf,
    current_certificate,
    display_fields,
    smart_health_card_file,
)
from vaxlink.errors import InvalidInput, VaxlinkError
from vaxlink.feedback import certpage, otp, service, staff_pages
from vaxlink.feedback.errors import CertificateBeingUpdated, CitizenSessionMissing
from vaxlink.feedback.qrcache import qr_data_uri, qr_svg_cached
from vaxlink.feedback.recovery_view import recovery_context
from vaxlink.feedback.tickets import TicketKind
from vaxlink.feedback.webutil import (
    CHALLENGE_COOKIE,
    CITIZEN_COOKIE,
    DB,
    after_commit,
    client_address,
    in_background,
    minutes_until,
    send_all,
    set_cookie,
    settings_of,
    sms_port,
    view_writer,
)
from vaxlink.records.service import person_ref
from vaxlink.web import deps, i18n
from vaxlink.web.render import render

router = APIRouter(tags=["citizen portal"], include_in_schema=False)


# ---- citizen: lookup and code ------------------------------------------------------------------


def _message(request: Request, exc: VaxlinkError) -> str:
    """The error in the page's language when it has a translation, else its own words."""
    return i18n.error_text(i18n.language(request), exc)


@router.get("/c")
def lookup_form(request: Request) -> Response:
    """The lookup form."""
    return render(request, "feedback/lookup.html", {"error": None})


#: The lookup form's fields and their longest accepted values.
_LOOKUP_FIELDS: Final = (("id_number", 64), ("full_name", 200), ("date_of_birth", 32))


@router.post("/c/lookup")
async def lookup(request: Request) -> Response:
    """Same answer for every well-formed lookup: a redirect to the code page.

    The portal's busiest write, kept lean: `async`, with all its work (the store's and the
    commit) in one hop to a worker thread, where a sync endpoint with the `DB` dependency took
    two (the endpoint's, then the commit's); and its three fields read from the form here, not
    by FastAPI's per-field validation (together about a fifth of the lookup's CPU). A field
    longer than its cap reads as empty, so the form comes back with that field's error."""
    form = await request.form(max_files=0, max_fields=len(_LOOKUP_FIELDS) + 4)
    values = []
    for name, cap in _LOOKUP_FIELDS:
        value = form.get(name)
        values.append(value if isinstance(value, str) and len(value) <= cap else "")
    return await run_in_threadpool(_lookup, request, *values)


def _lookup(request: Request, id_number: str, full_name: str, date_of_birth: str) -> Response:
    try:
        form = service.parse_lookup(id_number, full_name, date_of_birth)
    except InvalidInput as exc:
        typed = {"id_number": id_number, "full_name": full_name, "date_of_birth": date_of_birth}
        return render(request, "feedback/lookup.html", {"error": _message(request, exc),
                      "typed": typed}, status=422)  # fmt: skip
    settings = settings_of(request)
    engine = request.app.state.engine
    if engine.dialect.name == "postgresql":  # two statements in autocommit, no unit of work
        outcome = service.start_lookup_autocommit(engine, form, client=client_address(request),
                                                  now=deps.now(request), settings=settings)  # fmt: skip
    else:
        with deps.unit_of_work(request) as db:  # committed when the block ends, before the answer
            outcome = service.start_lookup(db, form, client=client_address(request),
                                           now=deps.now(request), settings=settings)  # fmt: skip
    if outcome.handle is None:
        return render(request, "feedback/locked.html",
                      {"minutes": minutes_until(outcome.locked_until, deps.now(request))}, status=429)  # fmt: skip
    response = RedirectResponse("/c/code", status_code=303)
    set_cookie(response, request, CHALLENGE_COOKIE, outcome.handle, settings.otp_ttl_seconds)
    if outcome.sms is not None:  # after the commit (the block above), off this thread
        in_background(send_all, sms_port(request), [outcome.sms])
    return response


@router.get("/c/code")
def code_form(request: Request) -> Response:
    """Where the citizen types the code."""
    return render(request, "feedback/code.html", {"error": None})


def _draw_qr_ahead(engine: Any, citizen_id: str | None, data_dir: Any) -> None:
    """Draw the person's certificate QR once they have logged in, before they ask for it."""
    from vaxlink.db import transaction

    if citizen_id is None:
        return
    with transaction(engine) as s:
        certificate = active_of(s, CertificateKind.VACCINATION, [citizen_id]).get(citizen_id)
        hc1 = certificate.hc1 if certificate is not None else None
    if hc1:
        qr_svg_cached(hc1, data_dir)


@router.post("/c/code")
def code_submit(
    request: Request,
    db: DB,
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A right code opens a citizen session; wrong ones count towards the lockout."""
    settings = settings_of(request)
    outcome = service.finish_lookup(db, request.cookies.get(CHALLENGE_COOKIE), code,
                                    client=client_address(request), now=deps.now(request), settings=settings)  # fmt: skip
    if outcome.locked_until is not None:
        return render(request, "feedback/locked.html",
                      {"minutes": minutes_until(outcome.locked_until, deps.now(request))}, status=429)  # fmt: skip
    if outcome.token is None:
        t = i18n.translator(i18n.language(request))
        error = (t("feedback.code_wrong", left=outcome.attempts_left) if outcome.attempts_left
                 else t("feedback.code_dead"))  # fmt: skip
        return render(request, "feedback/code.html",
                      {"error": error, "dead": not outcome.attempts_left}, status=400)  # fmt: skip
    after_commit(db, _draw_qr_ahead, request.app.state.engine, outcome.citizen_id,
                 settings.data_dir)  # fmt: skip
    response = RedirectResponse("/c/me", status_code=303)
    set_cookie(response, request, CITIZEN_COOKIE, outcome.token,
                settings.citizen_session_minutes * 60)  # fmt: skip
    set_cookie(response, request, CHALLENGE_COOKIE, "", 0)
    return response


def citizen_id(request: Request, db: DB) -> str:
    """The citizen of the session cookie; otherwise a redirect to the lookup form."""
    try:
        return otp.session_citizen(db, request.cookies.get(CITIZEN_COOKIE), now=deps.now(request))
    except CitizenSessionMissing as exc:
        raise HTTPException(status_code=303, headers={"Location": "/c"}) from exc


CitizenId = Annotated[str, Depends(citizen_id)]


def _certificate_context(
    request: Request, certificate: Any, state: service.CertificateState | None = None
) -> dict[str, Any]:
    """The certificate card: its QR only while it attests what the records say; while it is
    being updated, which dose waits for which site's signature instead (never a record list
    beside a QR that disagrees with it)."""
    pending = state.pending if state is not None else ()
    if certificate is None or (state is not None and state.updating):
        return {"certificate": None, "updating": certificate is not None, "pending": pending,
                "ready": state.ready if state is not None else False}  # fmt: skip
    return {
        "certificate": certificate,
        "qr": qr_data_uri(certificate.hc1, settings_of(request).data_dir),
        "fields": display_fields(certificate.payload),
        "updating": False,
        "pending": pending,
        "ready": False,
    }


def _state(request: Request, db: Session, cid: str, tickets: list[Any] | None = None
           ) -> service.CertificateState:  # fmt: skip
    return service.certificate_state(db, cid, tickets=tickets,
                                     anchors=deps.container(request).trust_anchors)  # fmt: skip


@router.get("/c/me")
def my_record(request: Request, db: DB, cid: CitizenId) -> Response:
    """The citizen's doses, their status, the certificate and their reports."""
    view = service.citizen_view(db, cid, what="record", now=deps.now(request))
    state = _state(request, db, cid, view.tickets)
    reported = request.query_params.get("reported", "")
    return render(request, "feedback/me.html", {
        "view": view, "reported": reported if reported.isdigit() else None,
        "now": deps.now(request), **_certificate_context(request, view.certificate, state),
        **recovery_context(request, db, cid),
    })  # fmt: skip


def _certificate_page(request: Request, token: str | None) -> tuple[str, bytes]:
    """The citizen of the session and their certificate page (in a worker thread: one query on
    an autocommit connection, and rendering on the first view of a certificate). While a report
    of the person waits for a new certificate, the page is built from the records each time."""
    from vaxlink.db import transaction

    engine = request.app.state.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        cid, card = service.session_certificate_row(conn, token, now=deps.now(request))
    if card is not None and card.awaiting:
        with transaction(engine) as s:
            context = _certificate_context(request, card, _state(request, s, cid))
            return cid, bytes(render(request, "feedback/certificate.html", context).body)
    lang = i18n.language(request)
    key = (lang, card.uvci, card.hc1) if card is not None else (lang, None, None)

    def build() -> bytes:
        page = render(request, "feedback/certificate.html", _certificate_context(request, card))
        return bytes(page.body)

    return cid, certpage.cached_page(key, build)


@router.get("/c/certificate")
async def my_certificate(request: Request) -> Response:
    """Just the certificate with its QR (the hot path): one query in a worker thread, the page
    from the per-certificate cache, and the view's audit entry committed before the answer."""
    try:
        cid, page = await run_in_threadpool(
            _certificate_page, request, request.cookies.get(CITIZEN_COOKIE)
        )
    except CitizenSessionMissing:
        return RedirectResponse("/c", status_code=303)
    await view_writer(request).arecord(
        action=service.VIEW_CERTIFICATE, citizen_id=cid, detail={"by": "citizen"}
    )
    return HTMLResponse(page)


@router.get("/c/certificate.pdf")
def my_certificate_pdf(request: Request, db: DB, cid: CitizenId) -> Response:
    """The bilingual PDF of the citizen's certificate (refused while it is being updated)."""
    certificate = current_certificate(db, cid)
    if _state(request, db, cid).updating:
        raise CertificateBeingUpdated(
            "your certificate is being updated after a correction; download it once the new "
            "one is issued", key="feedback.being_updated")  # fmt: skip
    auth.append(db, actor=None, action="feedback.citizen.download_pdf", object_type="citizen",
                 object_id=person_ref(db, cid), detail={"by": "citizen"},
                 at=deps.now(request))  # fmt: skip
    headers = {"Content-Disposition": 'attachment; filename="chung-nhan-tiem-chung.pdf"'}
    return Response(certificate_pdf(certificate), media_type="application/pdf",
                    headers=headers)  # fmt: skip


@router.get("/c/certificate.smart-health-card")
def my_smart_health_card(request: Request, db: DB, cid: CitizenId) -> Response:
    """The citizen's vaccination as a SMART Health Card file, for a health wallet app (signed
    now by the issuer's key; refused while the certificate is being updated)."""
    certificate = current_certificate(db, cid)
    if _state(request, db, cid).updating:
        raise CertificateBeingUpdated(
            "your certificate is being updated after a correction; download it once the new "
            "one is issued", key="feedback.being_updated")  # fmt: skip
    at = deps.now(request)
    container = deps.container(request)
    issuer_url = container.settings.shc_issuer_url or str(request.base_url).rstrip("/")
    body = smart_health_card_file(db, certificate, container.dsc_signer(now=at),
                                  issuer_url=issuer_url)  # fmt: skip
    auth.append(db, actor=None, action="feedback.citizen.download_shc", object_type="citizen",
                 object_id=person_ref(db, cid), detail={"by": "citizen"}, at=at)  # fmt: skip
    headers = {"Content-Disposition": 'attachment; filename="tiem-chung.smart-health-card"',
               "Cache-Control": "no-store"}  # fmt: skip
    return Response(body, media_type="application/smart-health-card", headers=headers)


@router.get("/c/recovery-certificate.pdf")
def my_recovery_pdf(request: Request, db: DB, cid: CitizenId) -> Response:
    """The bilingual PDF of the citizen's recovery certificate (404 without an active one)."""
    certificate = current_certificate(db, cid, CertificateKind.RECOVERY)
    auth.append(db, actor=None, action="feedback.citizen.download_pdf", object_type="citizen",
                 object_id=person_ref(db, cid), detail={"by": "citizen", "kind": "r"},
                 at=deps.now(request))  # fmt: skip
    headers = {"Content-Disposition": 'attachment; filename="chung-nhan-khoi-benh.pdf"'}
    return Response(certificate_pdf(certificate), media_type="application/pdf",
                    headers=headers)  # fmt: skip


@router.post("/c/logout")
def citizen_logout(request: Request, db: DB) -> Response:
    """End the citizen session."""
    otp.end_session(db, request.cookies.get(CITIZEN_COOKIE), now=deps.now(request))
    response = RedirectResponse("/c", status_code=303)
    set_cookie(response, request, CITIZEN_COOKIE, "", 0)
    return response


# ---- citizen: reports ----------------------------------------------------------------------------


def _report_context(request: Request, db: Session, cid: str, error: str | None) -> dict[str, Any]:
    view = service.citizen_view(db, cid, what="report_form", now=deps.now(request))
    return {"view": view, "stations": service.stations_for(db, view), "kinds": list(TicketKind),
            "error": error}  # fmt: skip


@router.get("/c/report")
def report_form(request: Request, db: DB, cid: CitizenId) -> Response:
    """The report form: kind, dose, station, description, attachments."""
    return render(request, "feedback/report.html", _report_context(request, db, cid, None))


@router.post("/c/report")
def report_submit(
    request: Request, db: DB, cid: CitizenId,
    kind: Annotated[str, Form(max_length=32)] = "",
    station: Annotated[str, Form(max_length=80)] = "",
    dose_id: Annotated[str, Form(max_length=20)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    attachments: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:  # fmt: skip
    """File a report with its attachments (each checked before anything is saved)."""
    settings = settings_of(request)
    size = service.upload_limit(settings)
    blobs = [f.file.read(size) for f in (attachments or []) if f.filename]
    form = service.ReportForm(kind, station, dose_id, description)
    outbox = service.Outbox()
    try:
        ticket = service.file_report(db, cid, form, blobs, settings=settings, now=deps.now(request),
                                     outbox=outbox)  # fmt: skip
    except InvalidInput as exc:
        context = _report_context(request, db, cid, _message(request, exc))
        context["typed"] = {
            "kind": kind,
            "station": station,
            "dose_id": dose_id,
            "description": description,
        }  # what was typed stays (#17)
        status = 413 if getattr(exc, "key", None) == "feedback.err.size" else 422
        return render(request, "feedback/report.html", context, status=status)
    after_commit(db, send_all, sms_port(request), outbox.notices)
    return RedirectResponse(f"/c/me?reported={ticket.id}#reports", status_code=303)


router.include_router(staff_pages.router)

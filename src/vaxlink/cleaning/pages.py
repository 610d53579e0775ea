"""The worklist pages (`/worklist...`): list, detail with decisions and corrections, conflicts,
Excel download and upload. Thin: read the form, call the services, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import require, require_any
from vaxlink.auth.service import ON_BEHALF_OF, Permission, Principal
from vaxlink.cleaning import excel, police_lists, service
from vaxlink.cleaning.corrections import UNDOABLE, editable_fields, may_decide
from vaxlink.cleaning.detail import COMPARED, dose_detail
from vaxlink.cleaning.errors import EditConflict, NeedsSecondStep
from vaxlink.cleaning.fields import IDENTITY_FIELDS, VACCINATION_FIELDS
from vaxlink.cleaning.worklist import (
    FILTERS,
    SORTS,
    STATES,
    WorklistQuery,
    query_from,
    view_worklist,
)
from vaxlink.errors import VaxlinkError
from vaxlink.linkage.service import LinkModel
from vaxlink.records.service import DoseCategory, vaccines
from vaxlink.registry.service import RegistryPort
from vaxlink.web import deps, i18n
from vaxlink.web.deps import link_model, registry_port, session
from vaxlink.web.nav import WAITING_CAP, NavItem
from vaxlink.web.render import render


def _waiting(db: Session, principal: Principal, now: dt.datetime) -> int:
    """Doses in the account's worklist (review, unmatched, invalid), counted up to the cap."""
    return service.worklist_waiting(db, principal, cap=WAITING_CAP)


def _to_type(db: Session, principal: Principal, now: dt.datetime) -> int:
    """For the committee: police-verified fixes not yet typed (up to the cap)."""
    return police_lists.waiting_to_type(db, principal, cap=WAITING_CAP)


NAV: Final = (
    NavItem("/worklist", "worklist.nav", Permission.WORKLIST_VIEW, order=20, waiting=_waiting),
    NavItem("/worklist/police-lists", "plist.nav", Permission.IDENTITY_TYPE_VERIFIED, order=21,
            waiting=_to_type),
    NavItem("/backfill", "backfill.nav", Permission.DOSE_BACKFILL, order=22),
)

router = APIRouter(tags=["worklist"], include_in_schema=False)

DB = Annotated[Session, Depends(session, scope="function")]
Viewer = Annotated[Principal, Depends(require(Permission.WORKLIST_VIEW))]
Police = Annotated[Principal, Depends(require(Permission.IDENTITY_CORRECT))]
Corrector = Annotated[
    Principal, Depends(require_any(Permission.IDENTITY_CORRECT, Permission.VACCINATION_CORRECT))
]
Vaccination = Annotated[Principal, Depends(require(Permission.VACCINATION_CORRECT))]
Backfiller = Annotated[Principal, Depends(require(Permission.DOSE_BACKFILL))]
Registry = Annotated[RegistryPort, Depends(registry_port)]
Model = Annotated[LinkModel, Depends(link_model)]
CATEGORIES: Final = tuple(c.value for c in DoseCategory)
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query(request: Request) -> tuple[WorklistQuery, dict[str, str]]:
    shown = {k: request.query_params.get(k, "") for k in FILTERS}
    return query_from(shown, request.query_params.get("after")), shown


@router.get("/worklist")
def worklist_page(request: Request, principal: Viewer, db: DB) -> Response:
    """The unit's worklist; with htmx and a cursor, only the next rows."""
    q, shown = _query(request)
    page = view_worklist(db, principal, q, now=deps.now(request))
    ctx = {
        "page": page, "shown": shown, "sorts": SORTS, "states": STATES,
        "next_url": f"/worklist?{urlencode({**shown, 'after': page.next_cursor})}"
        if page.next_cursor else None,
        "export_url": f"/worklist/export.xlsx?{urlencode(shown)}",
        "police_export": principal.can(Permission.IDENTITY_CORRECT),
    }  # fmt: skip
    if request.headers.get("HX-Request") and q.after:
        return render(request, "cleaning/_rows.html", ctx)
    return render(request, "cleaning/list.html", ctx)


def _detail_context(
    db: Session, principal: Principal, dose_id: int, registry: RegistryPort, now: dt.datetime
) -> dict[str, Any]:
    detail = dose_detail(db, principal, dose_id, registry, now=now)
    can_decide = may_decide(principal)
    last = detail.history[0] if detail.history else None
    editable = editable_fields(principal)
    verified_lists: list[int] = []
    if principal.can(Permission.IDENTITY_TYPE_VERIFIED):
        # the committee types identity fixes of doses on a police list marked verified
        verified_lists = police_lists.verified_lists_of(db, principal, dose_id)
        if verified_lists:
            editable = [*editable, *IDENTITY_FIELDS]
    return {
        "d": detail, "compared": COMPARED, "editable": editable,
        "verified_lists": verified_lists,
        "can_decide": can_decide,
        "on_behalf_of": ON_BEHALF_OF.get(principal.role),
        "reasons": service.CANNOT_VERIFY_REASONS,
        # what a decision here would also decide, shown before it is made
        "propagates": service.would_propagate(db, principal, detail.dose) if can_decide else [],
        "can_undo": can_decide and last is not None and last["kind"] in UNDOABLE,
    }  # fmt: skip


@router.get("/worklist/doses/{dose_id}")
def dose_page(
    request: Request, dose_id: int, principal: Viewer, db: DB, registry: Registry
) -> Response:
    """One dose: comparison with each candidate, explanation, raw record, history, forms."""
    ctx = _detail_context(db, principal, dose_id, registry, deps.now(request))
    ctx["saved"] = request.query_params.get("saved") == "1"
    if request.query_params.get("undone") == "1":
        ctx["undone"] = {k: int(request.query_params.get(k, "0") or 0)
                         if request.query_params.get(k, "0").isdigit() else 0
                         for k in ("reverted", "kept")}  # fmt: skip
    return render(request, "cleaning/detail.html", ctx)


def _conflict(
    request: Request,
    db: Session,
    principal: Principal,
    dose_id: int,
    exc: EditConflict,
    expected: int,
    yours: dict[str, Any],
) -> Response:
    dose = service.load_dose(db, principal, dose_id, now=deps.now(request))
    changes = exc.changes or service.changes_since(db, dose_id, expected)
    ctx = {"dose": dose, "mine": expected, "now": dose.version, "changes": changes, "yours": yours}
    return render(request, "cleaning/conflict.html", ctx, status=409)


def _failed(
    request: Request,
    db: Session,
    principal: Principal,
    dose_id: int,
    registry: RegistryPort,
    error: VaxlinkError,
    *,
    failed: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    """The dose page again with the error, the form that failed (`failed`: a decision's name or
    "correction") open and holding what was typed."""
    ctx = _detail_context(db, principal, dose_id, registry, deps.now(request))
    ctx["error"] = i18n.error_text(i18n.language(request), error)
    ctx["failed"], ctx["typed"] = failed, typed or {}
    return render(request, "cleaning/detail.html", ctx, status=error.http_status)


@router.post("/worklist/doses/{dose_id}/decision")
def decide_page(
    request: Request,
    dose_id: int,
    principal: Police,
    db: DB,
    registry: Registry,
    model: Model,
    version: Annotated[int, Form()],
    decision: Annotated[str, Form()],
    citizen_id: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    acknowledged: Annotated[str, Form()] = "",
) -> Response:
    """A police decision: confirm a candidate, enter the right identity, or cannot verify. A
    weak or contradicting candidate comes back with what disagrees, for a second, explicit
    confirmation (`acknowledged`)."""
    identity = {"id_number": id_number, "full_name": full_name, "date_of_birth": date_of_birth,
                "sex": sex}  # fmt: skip
    try:
        with db.begin_nested():
            service.decide(db, principal, dose_id, expected_version=version, decision=decision,
                           citizen_id=citizen_id or None, identity=identity,
                           cannot_verify_reason=reason or None, reason=note or None,
                           registry=registry, model=model, clock=deps.clock(request),
                           acknowledged=acknowledged == "1")  # fmt: skip
    except NeedsSecondStep as exc:
        ctx = _detail_context(db, principal, dose_id, registry, deps.now(request))
        ctx["second_step"] = {"citizen_id": citizen_id, "note": note,
                              "disagreements": exc.disagreements}  # fmt: skip
        return render(request, "cleaning/detail.html", ctx, status=409)
    except EditConflict as exc:
        yours = {"decision": decision, "citizen_id": citizen_id or id_number}
        return _conflict(request, db, principal, dose_id, exc, version, yours)
    except VaxlinkError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        typed = {**identity, "reason": reason, "note": note}
        return _failed(request, db, principal, dose_id, registry, exc, failed=decision,
                       typed=typed)  # fmt: skip
    return RedirectResponse(f"/worklist/doses/{dose_id}?saved=1", status_code=303)


@router.post("/worklist/doses/{dose_id}/undo")
def undo_page(
    request: Request,
    dose_id: int,
    principal: Police,
    db: DB,
    registry: Registry,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Undo the police decision that is the dose's last change, and what it propagated."""
    try:
        with db.begin_nested():
            _dose, reverted, kept = service.undo_decision(
                db, principal, dose_id, expected_version=version, reason=reason,
                clock=deps.clock(request),
            )  # fmt: skip
    except EditConflict as exc:
        return _conflict(request, db, principal, dose_id, exc, version, {"decision": "undo"})
    except VaxlinkError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        return _failed(request, db, principal, dose_id, registry, exc)
    query = urlencode({"undone": 1, "reverted": len(reverted), "kept": len(kept)})
    return RedirectResponse(f"/worklist/doses/{dose_id}?{query}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (read on the event loop; the route itself is sync)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _upload(file: Annotated[UploadFile, File()]) -> bytes:
    """The uploaded file's bytes, one more than the limit at most."""
    return await file.read(excel.MAX_FILE + 1)


@router.post("/worklist/doses/{dose_id}/correction")
def correct_page(
    request: Request,
    dose_id: int,
    principal: Corrector,
    db: DB,
    registry: Registry,
    model: Model,
    form: Annotated[dict[str, str], Depends(_form)],
) -> Response:
    """A correction of some fields (those the role may change), from the version in the form."""
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        version = -1
    changes: dict[str, object] = {f: str(form[f]) for f in (*VACCINATION_FIELDS, *IDENTITY_FIELDS)
               if f in form and str(form[f]).strip() != str(form.get(f"was_{f}", "")).strip()}  # fmt: skip
    reason = str(form.get("reason", ""))
    listed = str(form.get("verification_list", "")).strip()
    return _save_correction(
        request, db, principal, dose_id, registry, model, version, changes, reason,
        int(listed) if listed.isdigit() else None,
    )  # fmt: skip


def _save_correction(
    request: Request,
    db: Session,
    principal: Principal,
    dose_id: int,
    registry: RegistryPort,
    model: LinkModel,
    version: int,
    changes: dict[str, object],
    reason: str,
    verification_list: int | None = None,
) -> Response:
    try:
        with db.begin_nested():
            service.correct_dose(db, principal, dose_id, expected_version=version, changes=changes,
                                 reason=reason, registry=registry, model=model,
                                 clock=deps.clock(request),
                                 verification_list=verification_list)  # fmt: skip
    except EditConflict as exc:
        return _conflict(request, db, principal, dose_id, exc, version, changes)
    except VaxlinkError as exc:
        if exc.http_status in (401, 404) or exc.code == "out_of_scope":
            raise
        typed = {**{f: str(v) for f, v in changes.items()}, "reason": reason}
        return _failed(request, db, principal, dose_id, registry, exc, failed="correction",
                       typed=typed)  # fmt: skip
    return RedirectResponse(f"/worklist/doses/{dose_id}?saved=1", status_code=303)


@router.get("/worklist/export.xlsx")
def export_page(request: Request, principal: Viewer, db: DB, registry: Registry) -> Response:
    """The unit's worklist (current filters) as an Excel file for offline work."""
    q, _shown = _query(request)
    data = excel.export_worklist(db, principal, registry, q, now=deps.now(request))
    name = f"worklist-{principal.unit.code}-{deps.clock(request).today():%Y%m%d}.xlsx"
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})  # fmt: skip


def _import_context() -> dict[str, str]:
    """The name of the workbook's decision column, as the file (always Vietnamese) has it."""
    return {"decision_column": dict(excel.DECISION_COLUMNS)["decision"]}


@router.get("/worklist/import")
def import_form(request: Request, principal: Police) -> Response:
    """The upload form."""
    return render(request, "cleaning/import.html", {"result": None, **_import_context()})


@router.post("/worklist/import")
def import_page(
    request: Request,
    principal: Police,
    db: DB,
    registry: Registry,
    model: Model,
    data: Annotated[bytes, Depends(_upload)],
) -> Response:
    """Apply a filled-in worklist file; the report lists the outcome of every row."""
    try:
        result = excel.import_worklist(
            db, principal, data, registry, model, clock=deps.clock(request)
        )
    except VaxlinkError as exc:
        if exc.http_status in (401, 403):
            raise
        error = i18n.error_text(i18n.language(request), exc)
        context = {"result": None, "error": error, **_import_context()}
        return render(request, "cleaning/import.html", context, status=exc.http_status)
    return render(request, "cleaning/import.html", {"result": result, **_import_context()})


# --- police verification lists (the committee types their identity fixes) -----------------


@router.get("/worklist/police-lists")
def police_lists_page(request: Request, principal: Viewer, db: DB) -> Response:
    """The unit's police verification lists: made by the police's Excel export, marked verified
    by the police once signed; the committee opens a verified one to type its fixes."""
    rows = police_lists.lists(db, principal)
    return render(request, "cleaning/police_lists.html",
                  {"lists": rows, "police": principal.can(Permission.IDENTITY_CORRECT)})  # fmt: skip


@router.get("/worklist/police-lists/{list_id}")
def police_list_page(request: Request, list_id: int, principal: Viewer, db: DB) -> Response:
    """One list: its doses, each opened (for the committee) with the list named."""
    plist = police_lists.get_list(db, principal, list_id, now=deps.now(request))
    doses = police_lists.list_doses(db, principal, list_id, now=deps.now(request))
    return render(request, "cleaning/police_list.html", {
        "plist": plist, "doses": doses, "police": principal.can(Permission.IDENTITY_CORRECT),
        "saved": request.query_params.get("saved") == "1",
    })  # fmt: skip


@router.post("/worklist/police-lists/{list_id}/verified")
def police_list_verified(
    request: Request,
    list_id: int,
    principal: Police,
    db: DB,
    paper_ref: Annotated[str, Form()] = "",
) -> Response:
    """The police mark their list verified (signed on paper): the committee may type its fixes."""
    try:
        with db.begin_nested():
            police_lists.mark_verified(db, principal, list_id, paper_ref=paper_ref,
                                       now=deps.now(request))  # fmt: skip
    except VaxlinkError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        plist = police_lists.get_list(db, principal, list_id, now=deps.now(request))
        doses = police_lists.list_doses(db, principal, list_id, now=deps.now(request))
        return render(request, "cleaning/police_list.html",
                      {"plist": plist, "doses": doses, "police": True, "error": i18n.error_text(i18n.language(request), exc)},
                      status=exc.http_status)  # fmt: skip
    return RedirectResponse(f"/worklist/police-lists/{list_id}?saved=1", status_code=303)


# --- the station's vaccination-fact sheet -------------------------------------------------


@router.get("/worklist/vaccination.xlsx")
def vaccination_export(request: Request, principal: Vaccination, db: DB) -> Response:
    """The station's doses needing vaccination-fact fixes as an Excel file."""
    data = service.export_vaccination(db, principal, now=deps.now(request))
    name = f"vaccination-{principal.unit.code}-{deps.clock(request).today():%Y%m%d}.xlsx"
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})  # fmt: skip


@router.get("/worklist/vaccination-import")
def vaccination_import_form(request: Request, principal: Vaccination) -> Response:
    """The upload form of the vaccination sheet."""
    return render(request, "cleaning/vaccination_import.html", {"result": None})


@router.post("/worklist/vaccination-import")
def vaccination_import(
    request: Request,
    principal: Vaccination,
    db: DB,
    registry: Registry,
    model: Model,
    data: Annotated[bytes, Depends(_upload)],
) -> Response:
    """Apply a filled-in vaccination sheet; the report lists every row's outcome."""
    try:
        result = service.import_vaccination(db, principal, data, registry, model,
                                            clock=deps.clock(request))  # fmt: skip
    except VaxlinkError as exc:
        if exc.http_status in (401, 403):
            raise
        return render(request, "cleaning/vaccination_import.html",
                      {"result": None, "error": i18n.error_text(i18n.language(request), exc)}, status=exc.http_status)  # fmt: skip
    return render(request, "cleaning/vaccination_import.html", {"result": result})


# --- missed doses, collected and entered by the commune committee ---------------------------


@router.get("/backfill")
def backfill_form(request: Request, principal: Backfiller) -> Response:
    """The form for a dose given but never entered."""
    return render(request, "cleaning/backfill.html", _backfill_ctx({}))


def _backfill_ctx(form: dict[str, str], **more: Any) -> dict[str, Any]:
    return {"form": form, "evidence": [e.value for e in service.Evidence],
            "vaccines": sorted(vaccines.catalogue()), "categories": CATEGORIES, **more}  # fmt: skip


@router.post("/backfill")
def backfill_save(
    request: Request,
    principal: Backfiller,
    db: DB,
    form: Annotated[dict[str, str], Depends(_form)],
) -> Response:
    """Enter a missed dose with its evidence; it waits for linkage and the police (pending)."""
    f = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        day = dt.date.fromisoformat(f.get("date", ""))
        sequence = int(f.get("sequence", "") or 0)
    except ValueError:
        return render(request, "cleaning/backfill.html",
                      _backfill_ctx(f, problems=[("backfill.err.date", {})]), status=422)  # fmt: skip
    try:
        with db.begin_nested():
            dose = service.backfill_dose(
                db, principal,
                person=service.Person(f.get("full_name", ""), f.get("date_of_birth", ""),
                                      f.get("sex", ""), f.get("id_number", "")),
                dose=service.DoseInput(f.get("vaccine", ""), f.get("lot", ""),
                                       f.get("category", ""), sequence, day),
                site=f.get("site", ""),
                source=service.Source(f.get("evidence", ""), f.get("reference", ""),
                                      f.get("collected_by", "")),
                now=deps.now(request),
            )  # fmt: skip
    except VaxlinkError as exc:
        if exc.http_status in (401, 403):
            raise
        # each problem in the reader's language; another error as the app tells its code
        problems = getattr(exc, "problems", None)
        error = None if problems else i18n.error_text(i18n.language(request), exc)
        return render(request, "cleaning/backfill.html",
                      _backfill_ctx(f, error=error, problems=problems), status=exc.http_status)  # fmt: skip
    return render(request, "cleaning/backfill.html",
                  _backfill_ctx({}, saved=dose.record_id))  # fmt: skip

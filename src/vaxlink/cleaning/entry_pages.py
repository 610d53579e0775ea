"""Dose-entry pages (DOSE_ENTER): identity first, then the dose; phone-first, works without JS.

Identities travel only in POST bodies, never in URLs, so no ID number reaches an access log. The
approval pages (APPROVE) are mounted by the certificates router (`vaxlink.certificates.web`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.auth.deps import require
from vaxlink.auth.service import Permission, Principal
from vaxlink.certificates.service import UPLOAD_LIMIT
from vaxlink.cleaning import entry
from vaxlink.cleaning.entry import DoseInput, TypedIdentity, UnregisteredReason
from vaxlink.cleaning.entry_errors import (
    EntryError,
    EntryNotAllowed,
    LookupThrottled,
    NotInRegistry,
    NoVaccinationSite,
    WarningsNotAcknowledged,
)
from vaxlink.cleaning.identify import IdentityCheck, IdentitySource, LookupQuota
from vaxlink.records.service import DoseCategory, vaccines
from vaxlink.registry.service import RegistryPort, RegistryUnavailable
from vaxlink.settings import Settings
from vaxlink.web import deps, i18n
from vaxlink.web.deps import registry_port, session, settings
from vaxlink.web.nav import NavItem
from vaxlink.web.render import render

NAV: Final = (NavItem("/entry", "entry.nav", Permission.DOSE_ENTER, order=30),)

router = APIRouter(tags=["dose entry"], include_in_schema=False)

Enterer = Annotated[Principal, Depends(require(Permission.DOSE_ENTER))]
Db = Annotated[Session, Depends(session, scope="function")]
Registry = Annotated[RegistryPort, Depends(registry_port)]
Now = Annotated[dt.datetime, Depends(deps.now)]
Config = Annotated[Settings, Depends(settings)]
CATEGORIES: Final = tuple(c.value for c in DoseCategory)
REASONS: Final = tuple(r.value for r in UnregisteredReason)


def _vaccine_choices() -> list[tuple[str, str]]:
    """(value, label) for the vaccine list: the product key, labelled as Vietnamese sites say it."""
    out = []
    for key, v in sorted(vaccines.catalogue().items(), key=lambda kv: kv[1].display):
        spelling = vaccines.site_spellings(key)[0]
        label = v.display if spelling == key else f"{spelling} ({v.display})"
        out.append((key, label))
    return out


def _base(principal: Principal, **more: Any) -> dict[str, Any]:
    return {
        "site": principal.facility_code,
        "vaccine_choices": _vaccine_choices(),
        "categories": CATEGORIES,
        "reasons": REASONS,
        **more,
    }


def _no_site(request: Request, principal: Principal, *, status: int = 409) -> Response | None:
    """The page explaining that the account has no vaccination site, or None when it has one."""
    try:
        entry.facility_of(principal)
    except NoVaccinationSite as exc:
        return render(
            request, "entry/start.html",
            _base(principal, error=i18n.error_text(i18n.language(request), exc), no_site=True),
            status=status,
        )  # fmt: skip
    return None


@router.get("/entry", response_class=HTMLResponse)
def entry_start(request: Request, principal: Enterer, db: Db) -> Response:
    """The identity step: scan, photo or typed ID (`db`: the page names its site)."""
    refusal = _no_site(request, principal, status=200)
    if refusal is not None:
        return refusal
    return render(request, "entry/start.html", _base(principal))


def _dose_defaults(check: IdentityCheck, now: dt.datetime) -> dict[str, Any]:
    return {
        "vaccine": check.history[-1].vaccine_key if check.history else "",
        "lot": "",
        "category": check.suggested_category,
        "sequence": check.suggested_sequence,
        "date": now.date().isoformat(),
    }


@router.post("/entry/identify", response_class=HTMLResponse)
async def entry_identify(
    request: Request,
    principal: Enterer,
    db: Db,
    registry: Registry,
    now: Now,
    config: Config,
    id_number: Annotated[str, Form()] = "",
    chip_qr: Annotated[str, Form()] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Look the person up in the registry; show who they are, their doses and the dose form."""
    if (refusal := _no_site(request, principal)) is not None:
        return refusal
    typed, scanned = id_number.strip(), chip_qr.strip()
    if "|" in typed and not scanned:
        # a keyboard-wedge scanner typed the card's QR text into the ID field: it is a scan
        typed, scanned, id_number = "", typed, ""
    image = await photo.read(UPLOAD_LIMIT + 1) if photo is not None and photo.filename else b""
    if len(image) > UPLOAD_LIMIT:
        return _start_error(request, principal, "the photo is larger than 8 MB; take it again")
    try:
        check = entry.start_entry(
            db, principal, registry, id_number=typed or None,
            chip_qr_text=scanned or None, image=image or None, today=now.date(),
            quota=LookupQuota.from_settings(config), now=now,
        )  # fmt: skip
    except LookupThrottled as exc:
        return _throttled(request, principal, exc)
    except EntryError as exc:
        return _start_error(
            request, principal, i18n.error_text(i18n.language(request), exc), id_number=id_number
        )
    except RegistryUnavailable:
        return _start_error(request, principal, "registry_down", id_number=id_number)
    return _person_page(request, principal, check, _dose_defaults(check, now))


def _throttled(request: Request, principal: Principal, exc: LookupThrottled) -> Response:
    """429 with Retry-After; returned, not raised, so the request's count is committed."""
    response = render(
        request,
        "entry/start.html",
        _base(principal, error=i18n.error_text(i18n.language(request), exc)),
        status=429,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _start_error(
    request: Request, principal: Principal, message: str, *, id_number: str = ""
) -> Response:
    return render(
        request, "entry/start.html", _base(principal, error=message, id_number=id_number),
        status=422,
    )  # fmt: skip


def _person_page(
    request: Request,
    principal: Principal,
    check: IdentityCheck,
    form: dict[str, Any],
    *,
    warnings: tuple[Any, ...] = (),
    error: str | None = None,
    status: int = 200,
) -> Response:
    template = "entry/person.html" if check.found else "entry/not_found.html"
    return render(
        request, template,
        _base(principal, check=check, form=form, warnings=warnings, error=error),
        status=status,
    )  # fmt: skip


def _dose_input(
    vaccine: str, lot: str, category: str, sequence: str, date: str
) -> tuple[DoseInput | None, str | None]:
    try:
        day = dt.date.fromisoformat(date.strip())
    except ValueError:
        return None, "the vaccination date must be a date (dd/mm/yyyy)"
    seq = int(sequence) if sequence.strip().isdigit() else 0
    return DoseInput(vaccine=vaccine, lot=lot, category=category, sequence=seq, date=day), None


@router.post("/entry/dose", response_class=HTMLResponse)
def entry_dose(
    request: Request,
    principal: Enterer,
    db: Db,
    registry: Registry,
    now: Now,
    config: Config,
    citizen_id: Annotated[str, Form()],
    source: Annotated[str, Form()] = IdentitySource.TYPED.value,
    vaccine: Annotated[str, Form()] = "",
    lot: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    sequence: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    ack: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Record the dose for a registry citizen; re-show the form with warnings to acknowledge."""
    if (refusal := _no_site(request, principal)) is not None:
        return refusal
    form = {"vaccine": vaccine, "lot": lot, "category": category, "sequence": sequence,
            "date": date}  # fmt: skip
    try:
        how = IdentitySource(source)
    except ValueError:
        how = IdentitySource.TYPED
    dose, problem = _dose_input(vaccine, lot, category, sequence, date)
    try:
        if dose is None:
            raise EntryError(problem or "check the dose")
        result = entry.record_dose(
            db, principal, registry, citizen_id=citizen_id, dose=dose, source=how,
            acknowledge_warnings=set(ack or ()), now=now,
        )  # fmt: skip
    except (EntryError, WarningsNotAcknowledged) as exc:
        try:
            check = entry.start_entry(db, principal, registry, id_number=citizen_id,
                                      today=now.date(), quota=LookupQuota.from_settings(config),
                                      now=now)  # fmt: skip
        except LookupThrottled as throttled:
            return _throttled(request, principal, throttled)
        except (EntryError, RegistryUnavailable):
            return _start_error(request, principal, i18n.error_text(i18n.language(request), exc))
        check = dataclasses.replace(check, source=how)
        if isinstance(exc, WarningsNotAcknowledged):
            return _person_page(request, principal, check, form, warnings=exc.warnings,
                                status=409)  # fmt: skip
        return _person_page(
            request,
            principal,
            check,
            form,
            error=i18n.error_text(i18n.language(request), exc),
            status=422,
        )
    except (NotInRegistry, RegistryUnavailable) as exc:
        return _start_error(request, principal, i18n.error_text(i18n.language(request), exc))
    return RedirectResponse(f"/entry/done/{result.dose.id}", status_code=303)


@router.post("/entry/unregistered", response_class=HTMLResponse)
def entry_unregistered(
    request: Request,
    principal: Enterer,
    db: Db,
    now: Now,
    full_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    vaccine: Annotated[str, Form()] = "",
    lot: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = DoseCategory.PRIMARY.value,
    sequence: Annotated[str, Form()] = "1",
    date: Annotated[str, Form()] = "",
    ack: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Record a dose for a person the registry did not confirm, with the reason."""
    if (refusal := _no_site(request, principal)) is not None:
        return refusal
    form = {"vaccine": vaccine, "lot": lot, "category": category, "sequence": sequence,
            "date": date, "full_name": full_name, "date_of_birth": date_of_birth, "sex": sex,
            "reason": reason, "note": note}  # fmt: skip
    check = IdentityCheck(id_number.strip(), IdentitySource.UNREGISTERED, None, "")
    dose, problem = _dose_input(vaccine, lot, category, sequence, date)
    try:
        if dose is None:
            raise EntryError(problem or "check the dose")
        try:
            why = UnregisteredReason(reason)
        except ValueError:
            raise EntryError("choose why the person is recorded without the registry") from None
        result = entry.record_unregistered_dose(
            db, principal,
            identity=TypedIdentity(full_name, date_of_birth, sex, id_number, why, note),
            dose=dose, acknowledge_warnings=set(ack or ()), now=now,
        )  # fmt: skip
    except WarningsNotAcknowledged as exc:
        return _person_page(request, principal, check, form, warnings=exc.warnings, status=409)
    except EntryError as exc:
        return _person_page(
            request,
            principal,
            check,
            form,
            error=i18n.error_text(i18n.language(request), exc),
            status=422,
        )
    return RedirectResponse(f"/entry/done/{result.dose.id}", status_code=303)


@router.get("/entry/done/{dose_id}", response_class=HTMLResponse)
def entry_done(request: Request, principal: Enterer, db: Db, dose_id: int) -> Response:
    """The recorded dose (only the site that recorded it may open it here)."""
    if (refusal := _no_site(request, principal)) is not None:
        return refusal
    record = entry.recorded_dose(db, principal, dose_id, now=deps.now(request))
    vaccine = vaccines.catalogue().get(record.vaccine_key)
    return render(
        request, "entry/done.html",
        _base(principal, record=record, vaccine=vaccine.display if vaccine else record.vaccine_key),
    )  # fmt: skip


__all__ = ["EntryNotAllowed", "router"]

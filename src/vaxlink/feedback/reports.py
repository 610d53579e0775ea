"""A citizen's report and the rules that decide it: how many files and how large, when the
station must answer, which station may take it, and whether a dose is the citizen's own.

Pages read the form and the uploaded bytes and call `file_report`; the station's side asks
`ensure_own_dose` before it corrects a dose named by a report (an authorisation rule: a report
may only ever change its own person's record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from vaxlink.errors import InvalidInput
from vaxlink.feedback import tickets
from vaxlink.feedback.attachments import MAX_FILES, check, store_attachment
from vaxlink.feedback.citizen import CitizenView, Station, citizen_doses, citizen_view, stations_for
from vaxlink.feedback.errors import LookupInvalid
from vaxlink.feedback.models import Ticket
from vaxlink.feedback.tickets import Outbox, TicketKind
from vaxlink.settings import Settings


@dataclass(frozen=True, slots=True)
class ReportForm:
    """What the citizen sent, as typed (checked by `file_report`)."""

    kind: str = ""
    station: str = ""
    dose_id: str = ""
    description: str = ""


def upload_limit(settings: Settings) -> int:
    """How many bytes of one upload to read: one more than allowed, so an oversize file shows."""
    return settings.attachment_max_bytes + 1


def check_attachments(blobs: list[bytes], *, settings: Settings) -> None:
    """At most MAX_FILES files, each a JPEG, PNG or PDF within the size limit (else InvalidInput,
    `feedback.err.size` when one is too large)."""
    if len(blobs) > MAX_FILES:
        raise LookupInvalid(f"attach at most {MAX_FILES} files", key="feedback.err.files")
    for blob in blobs:
        check(blob, max_bytes=settings.attachment_max_bytes)


def due_at(now: datetime, settings: Settings) -> datetime:
    """When the station must have answered a report filed at `now`."""
    return now + timedelta(days=settings.ticket_due_days)


def own_dose(view: CitizenView, raw: str) -> int | None:
    """The dose the citizen chose, when it is one of their own; anything else names no dose."""
    if not raw.isdigit():
        return None
    wanted = int(raw)
    return wanted if wanted in {d.id for d in view.doses} else None


def ensure_own_dose(session: Session, citizen_id: str, dose_id: int | None) -> None:
    """Refuse (InvalidInput) a dose that is not the person's own; None names no dose."""
    if dose_id is not None and dose_id not in {d.id for d in citizen_doses(session, citizen_id)}:
        raise InvalidInput("the dose does not belong to this person")


def _station(stations: list[Station], key: str) -> Station:
    for station in stations:
        if station.key == key:
            return station
    raise LookupInvalid(
        "choose the health station that should handle the report", key="feedback.err.station"
    )


def file_report(
    session: Session,
    citizen_id: str,
    form: ReportForm,
    blobs: list[bytes],
    *,
    settings: Settings,
    now: datetime,
    outbox: Outbox,
) -> Ticket:
    """File a report with its attachments (each checked before anything is saved); the view of
    the record it needs is audited. Raises InvalidInput saying what to fix."""
    view = citizen_view(session, citizen_id, what="report_submit", now=now)
    stations = stations_for(session, view)
    check_attachments(blobs, settings=settings)
    try:
        kind = TicketKind(form.kind)
    except ValueError as exc:
        raise LookupInvalid("choose what is wrong", key="feedback.err.kind") from exc
    station = _station(stations, form.station)
    ticket = tickets.open_ticket(
        session, citizen_id=citizen_id, kind=kind, description=form.description,
        province_code=station.province_code, district_code=station.district_code,
        ward_code=station.ward_code, facility_code=station.facility_code,
        dose_id=own_dose(view, form.dose_id), now=now, due_in=due_at(now, settings) - now,
        phone=view.phone, outbox=outbox,
    )  # fmt: skip
    for blob in blobs:
        store_attachment(session, ticket.id, blob, data_dir=settings.data_dir,
                         max_bytes=settings.attachment_max_bytes, now=now)  # fmt: skip
    return ticket

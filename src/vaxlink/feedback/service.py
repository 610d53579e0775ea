"""feedback's front door: the citizen portal's operations and the station's tickets.

Other domains (and the flows in `vaxlink.flows`) import feedback only from here:
- lookups: `parse_lookup`, `start_lookup`, `finish_lookup` (rate-limited, never telling whether
  anybody matched), one-time codes and citizen sessions;
- the citizen's record: `citizen_view`, `citizen_doses`, `session_certificate_row`, `phone_of`,
  `certificate_state` (whether the certificate may be shown as current, and what it waits for);
- reports: `file_report` (attachments, deadline, station, the citizen's own dose),
  `ensure_own_dose`, `open_ticket`, `get_ticket`, `move`, `escalate_overdue`,
  `awaiting_certificate` (reports whose fix waits for a site's signature);
- figures for the dashboard: `ticket_figures`, `open_statuses`.
"""

from __future__ import annotations

from vaxlink.feedback.citizen import (
    VIEW_CERTIFICATE,
    CertificateCard,
    CertificateState,
    CitizenView,
    DoseView,
    Station,
    certificate_state,
    citizen_doses,
    citizen_view,
    mask_id,
    phone_of,
    session_certificate_row,
    stations_for,
)
from vaxlink.feedback.errors import (
    AttachmentRefused,
    CitizenSessionMissing,
    FeedbackError,
    LookupInvalid,
    TicketInvalid,
    TicketNotFound,
    TicketTransitionInvalid,
)
from vaxlink.feedback.figures import WardFigures, open_statuses, ticket_figures
from vaxlink.feedback.lookup import (
    CodeOutcome,
    LookupForm,
    LookupOutcome,
    code_sms,
    finish_lookup,
    parse_lookup,
    start_lookup,
    start_lookup_autocommit,
)
from vaxlink.feedback.models import Ticket, TicketEvent
from vaxlink.feedback.reports import (
    ReportForm,
    check_attachments,
    due_at,
    ensure_own_dose,
    file_report,
    own_dose,
    upload_limit,
)
from vaxlink.feedback.sms import SmsPort
from vaxlink.feedback.tickets import (
    OPEN,
    TRANSITIONS,
    Notice,
    Outbox,
    RejectReason,
    TicketKind,
    TicketStatus,
    awaiting_certificate,
    escalate_overdue,
    get_ticket,
    move,
    open_ticket,
)

__all__ = [
    "OPEN",
    "TRANSITIONS",
    "VIEW_CERTIFICATE",
    "AttachmentRefused",
    "CertificateCard",
    "CertificateState",
    "CitizenSessionMissing",
    "CitizenView",
    "CodeOutcome",
    "DoseView",
    "FeedbackError",
    "LookupForm",
    "LookupInvalid",
    "LookupOutcome",
    "Notice",
    "Outbox",
    "RejectReason",
    "ReportForm",
    "SmsPort",
    "Station",
    "Ticket",
    "TicketEvent",
    "TicketInvalid",
    "TicketKind",
    "TicketNotFound",
    "TicketStatus",
    "TicketTransitionInvalid",
    "WardFigures",
    "awaiting_certificate",
    "certificate_state",
    "check_attachments",
    "citizen_doses",
    "citizen_view",
    "code_sms",
    "due_at",
    "ensure_own_dose",
    "escalate_overdue",
    "file_report",
    "finish_lookup",
    "get_ticket",
    "mask_id",
    "move",
    "open_statuses",
    "open_ticket",
    "own_dose",
    "parse_lookup",
    "phone_of",
    "session_certificate_row",
    "start_lookup",
    "start_lookup_autocommit",
    "stations_for",
    "ticket_figures",
    "upload_limit",
]

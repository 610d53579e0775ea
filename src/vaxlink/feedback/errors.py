"""Errors of the citizen portal, each with a message the citizen or the station can act on."""

from __future__ import annotations

from vaxlink.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    VaxlinkError,
)


class FeedbackError(VaxlinkError):
    """Root of the citizen portal's errors; `key` names the message's translation for pages."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class CodeRejected(FeedbackError):
    """The one-time code is wrong, expired, used or out of attempts (never says which)."""

    http_status = 400
    code = "code_rejected"


class CitizenSessionMissing(FeedbackError, Unauthenticated):
    """No valid citizen session: the citizen must look up their record again."""

    code = "citizen_session_missing"


class TicketNotFound(FeedbackError, NotFound):
    """No such report in the caller's reach."""


class TicketElsewhere(FeedbackError, Forbidden):
    """The report is in another queue (personal data: the commune police; doses: the station)."""


class TicketTransitionInvalid(FeedbackError, Conflict):
    """The report cannot move to the asked status from where it is."""


class TicketInvalid(FeedbackError, InvalidInput):
    """A report or a step of its life cycle that cannot be used as given."""


class LookupInvalid(FeedbackError, InvalidInput):
    """A lookup or report form filled in a way that cannot be used (says nothing of any person)."""


class AttachmentRefused(FeedbackError, InvalidInput):
    """A file that is too large or not a JPEG, PNG or PDF."""


class SmsFailed(FeedbackError):
    """The SMS gateway did not accept a message."""

    http_status = 502
    code = "sms_failed"


class CertificateBeingUpdated(FeedbackError, Conflict):
    """The person's certificate disagrees with their corrected records: it is not handed out
    until the new one is issued."""

    code = "certificate_being_updated"

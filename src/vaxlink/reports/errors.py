"""Errors of the reports domain, each with a message the person asking can act on."""

from __future__ import annotations

from vaxlink.errors import InvalidInput, NotFound, VaxlinkError


class ReportError(VaxlinkError):
    """Something went wrong making or sending a report."""


class ReportRenderError(ReportError):
    """The PDF or XLSX could not be produced."""


class UnknownUnit(InvalidInput):
    """The unit asked for is not a valid unit reference."""


class ReportNotFound(NotFound):
    """No such report."""


class MailError(ReportError):
    """The SMTP server refused or could not be reached."""

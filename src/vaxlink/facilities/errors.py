"""Errors of the facilities domain, each with a message an operator can act on."""

from __future__ import annotations

from vaxlink.errors import InvalidInput, NotFound


class FacilityError(InvalidInput):
    """A facility (or a list of them) that cannot be used as given."""

    code = "facility_invalid"


class FacilityNotFound(NotFound):
    """No vaccination site has this code."""

    code = "facility_not_found"

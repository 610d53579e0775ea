"""Errors of dose entry at the vaccination point, each with a message the operator can act on."""

from __future__ import annotations

from collections.abc import Sequence

from vaxlink.cleaning.schedule import ScheduleWarning
from vaxlink.errors import Conflict, Forbidden, InvalidInput, NotInRegistry, TooManyRequests

__all__ = [
    "DoseAlreadyOnRecord",
    "EntryError",
    "EntryNotAllowed",
    "LookupThrottled",
    "NoVaccinationSite",
    "NotInRegistry",
    "WarningsNotAcknowledged",
]


class EntryError(InvalidInput):
    """Input to dose entry that cannot be used as given."""

    code = "entry_invalid"


class DoseAlreadyOnRecord(EntryError):
    """A backfilled dose that is already on record (the same person, the same day)."""

    code = "dose_already_on_record"


class BackfillInvalid(EntryError):
    """A missed-dose form with problems; `problems` holds each one's message key and values
    (pages say them in the reader's language; `str()` says them all, Vietnamese first)."""

    def __init__(self, message: str, problems: list[tuple[str, dict[str, object]]]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class EntryNotAllowed(Forbidden):
    """The account may not enter doses, or not for this vaccination site."""

    code = "entry_not_allowed"


class NoVaccinationSite(Conflict):
    """The account is not attached to a vaccination site, so it has nowhere to record doses."""

    code = "no_vaccination_site"


class WarningsNotAcknowledged(Conflict):
    """Schedule warnings the operator has not explicitly acknowledged; nothing was recorded."""

    code = "schedule_warnings"

    def __init__(self, warnings: Sequence[ScheduleWarning]) -> None:
        codes = ", ".join(w.code.value for w in warnings)
        super().__init__(f"confirm the schedule warnings before recording the dose: {codes}")
        self.warnings = tuple(warnings)


class LookupThrottled(TooManyRequests):
    """The account has made more identity look-ups than its quota allows in this hour."""

    code = "lookup_throttled"

    def __init__(self, retry_after: int, *, outside: bool) -> None:
        minutes = max(1, -(-retry_after // 60))
        what = "of people living outside your unit " if outside else ""
        super().__init__(
            f"this account has made too many identity look-ups {what}in the last hour; try again "
            f"in {minutes} minute(s), or ask the district health centre if this is a campaign day "
            "(VAXLINK_ENTRY_LOOKUPS_PER_HOUR)"
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}

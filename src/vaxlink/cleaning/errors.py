"""Errors of the cleaning workflow, each with a message a station worker or officer can act on."""

from __future__ import annotations

from typing import Any

from vaxlink.errors import Conflict, Forbidden, InvalidInput, NotFound, NotInRegistry, VaxlinkError

__all__ = [
    "CannotUndo",
    "CleaningError",
    "DoseNotFound",
    "EditConflict",
    "InvalidCorrection",
    "NeedsSecondStep",
    "NotInRegistry",
    "NotPermitted",
]


class CleaningError(VaxlinkError):
    """Base of the cleaning domain's errors."""


class DoseNotFound(NotFound, CleaningError):
    """No dose record with that id."""


class InvalidCorrection(InvalidInput, CleaningError):
    """A corrected value or a decision that cannot be used as given."""


class NotPermitted(Forbidden, CleaningError):
    """The role may not change this field: health verifies vaccination, police verify identity."""

    #: Its message to people (`vaxlink.web.i18n.error_text`).
    key = "error.not_permitted"


class EditConflict(Conflict, CleaningError):
    """Someone else saved the dose after the form was opened: nothing was overwritten.

    `changes` lists the other person's saved versions (who, when, which fields, old and new)
    so the page can show them; `current_version` is the version to edit from now on.
    """

    code = "edit_conflict"

    def __init__(
        self, message: str, *, current_version: int, changes: list[dict[str, Any]]
    ) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.changes = changes


class NeedsSecondStep(Conflict, CleaningError):
    """The chosen candidate is weak or contradicts the record: the decision needs an explicit
    second step that has seen what disagrees (`disagreements`: field, record, registry)."""

    code = "needs_second_step"

    def __init__(self, message: str, *, disagreements: list[tuple[str, str, str]]) -> None:
        super().__init__(message)
        self.disagreements = disagreements


class CannotUndo(Conflict, CleaningError):
    """The decision cannot be undone as it stands (changed since, or no decision to undo)."""

    code = "cannot_undo"
